import { describe, expect, it } from 'vitest';
import { scoreNoteOnsets } from '../../src/audio/note-metrics.js';

describe('scoreNoteOnsets', () => {
  it('GIVEN onsets within 50 ms, a wrong pitch and an extra note WHEN scored THEN precision, recall and F1 follow mir_eval', () => {
    const reference = [
      { pitchMidi: 60, startSeconds: 0 },
      { pitchMidi: 62, startSeconds: 0.5 },
      { pitchMidi: 64, startSeconds: 1 },
    ];
    const estimate = [
      { pitchMidi: 60, startSeconds: 0.05 },
      { pitchMidi: 63, startSeconds: 0.5 },
      { pitchMidi: 64, startSeconds: 0.96 },
      { pitchMidi: 64, startSeconds: 1.02 },
    ];
    const score = scoreNoteOnsets(reference, estimate);
    expect(score.matched).toBe(2);
    expect(score.precision).toBeCloseTo(0.5);
    expect(score.recall).toBeCloseTo(2 / 3);
    expect(score.f1).toBeCloseTo(4 / 7);
  });

  it('GIVEN a greedy choice that would block a match WHEN scored THEN the maximum matching is found', () => {
    const reference = [{ pitchMidi: 60, startSeconds: 0 }, { pitchMidi: 60, startSeconds: 0.08 }];
    const estimate = [{ pitchMidi: 60, startSeconds: 0.04 }, { pitchMidi: 60, startSeconds: -0.01 }];
    expect(scoreNoteOnsets(reference, estimate).matched).toBe(2);
  });

  it('GIVEN empty lists WHEN scored THEN both empty is perfect and one empty is zero', () => {
    expect(scoreNoteOnsets([], []).f1).toBe(1);
    expect(scoreNoteOnsets([{ pitchMidi: 60, startSeconds: 0 }], []).f1).toBe(0);
  });
});
