import { describe, expect, it } from 'vitest';
import { computeFeatures } from '../../../src/music/analysis/features.js';
import { emptySequence, type NoteSequence } from '../../../src/music/note-sequence.js';

function seqOf(notes: [pitch: number, startStep: number, endStep: number][]): NoteSequence {
  const seq = emptySequence();
  seq.notes = notes.map(([pitch, startStep, endStep]) => ({ pitch, startStep, endStep, velocity: 80, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = Math.max(0, ...notes.map((n) => n[2]));
  return seq;
}

describe('musical features of one piece', () => {
  // C4 quarter, E4 and G4 eighths, a C major chord (half note), two silent beats, a D4 sixteenth.
  const piece = seqOf([
    [60, 0, 4],
    [64, 4, 6],
    [67, 6, 8],
    [60, 8, 16],
    [64, 8, 16],
    [67, 8, 16],
    [72, 8, 16],
    [62, 24, 25],
  ]);
  const f = computeFeatures(piece);

  it('GIVEN a hand-built piece WHEN measured THEN counts, range and pitch classes are the known values', () => {
    expect(f.noteCount).toBe(8);
    expect(f.eventCount).toBe(5);
    expect(f.pitchRange).toBe(12);
    expect(f.pitchCount).toBe(5);
    expect(f.distinctPitches).toBe(5);
    expect(f.pitchClassHistogram).toEqual([3 / 8, 0, 1 / 8, 0, 2 / 8, 0, 0, 2 / 8, 0, 0, 0, 0]);
    expect(f.pitchClassEntropy).toBeCloseTo(-(3 / 8) * Math.log2(3 / 8) - (1 / 8) * Math.log2(1 / 8) - 2 * 0.25 * Math.log2(0.25), 10);
    expect(f.scaleConsistency).toBe(1);
  });

  it('GIVEN the same piece WHEN measuring time THEN polyphony, empty beats, IOIs and intervals are the known values', () => {
    expect(f.polyphony).toBeCloseTo(8 / 5, 10); // 1, 1, 1, 4, 1 notes sounding at the five onsets
    expect(f.emptyBeatRate).toBeCloseTo(2 / 7, 10); // beats 5 and 6 of 7 are silent
    expect(f.averageIoiQuarters).toBeCloseTo(1.5, 10); // 1, 0.5, 0.5, 4 quarters
    expect(f.averageInterval).toBeCloseTo(5.5, 10); // top line 60 64 67 72 62
    expect(f.noteLengthHistogram.slice(0, 5)).toEqual([0, 4 / 8, 1 / 8, 2 / 8, 1 / 8]);
    expect(f.ioiHistogram.slice(0, 4)).toEqual([1 / 4, 0, 1 / 4, 2 / 4]);
    expect(f.distinctDurations).toBe(4);
    expect(f.distinctIois).toBe(3);
  });

  it('GIVEN a chromatic cluster line WHEN measured THEN scale consistency drops below 1 and entropy is maximal', () => {
    const chromatic = computeFeatures(seqOf(Array.from({ length: 12 }, (_, i): [number, number, number] => [60 + i, i * 2, i * 2 + 2])));
    expect(chromatic.pitchClassEntropy).toBeCloseTo(Math.log2(12), 10);
    expect(chromatic.scaleConsistency).toBeCloseTo(7 / 12, 10);
    expect(chromatic.emptyBeatRate).toBe(0);
  });

  it('GIVEN an empty piece WHEN measured THEN every feature is zero, not NaN', () => {
    const empty = computeFeatures(emptySequence());
    for (const value of Object.values(empty)) {
      for (const x of Array.isArray(value) ? value : [value]) expect(x).toBe(0);
    }
  });
});
