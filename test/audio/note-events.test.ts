import { describe, expect, it } from 'vitest';
import { activationsToNoteEvents, noteEventsToSequence, type Activations } from '../../src/audio/note-events.js';

const P = 88;
const FPS = 22_050 / 256;

/** Activations with one note per entry: onset peak at `start`, frames on over [start, end). */
function activations(nFrames: number, notes: Array<{ pitch: number; start: number; end: number; level?: number; onset?: boolean }>): Activations {
  const frames = new Float32Array(nFrames * P);
  const onsets = new Float32Array(nFrames * P);
  for (const n of notes) {
    const p = n.pitch - 21;
    for (let f = n.start; f < n.end; f++) frames[f * P + p] = n.level ?? 0.8;
    if (n.onset !== false) onsets[n.start * P + p] = 0.9;
  }
  return { nFrames, frames, onsets };
}

describe('activationsToNoteEvents', () => {
  it('GIVEN two onset-marked notes WHEN decoded THEN they come back in time order with frame-exact seconds', () => {
    const events = activationsToNoteEvents(activations(200, [{ pitch: 72, start: 100, end: 150 }, { pitch: 60, start: 10, end: 60 }]));
    expect(events.map((e) => e.pitchMidi)).toEqual([60, 72]);
    expect(events[0]?.startSeconds).toBeCloseTo(10 / FPS, 6);
    expect(events[0]?.endSeconds).toBeCloseTo(60 / FPS, 6);
    expect(events[1]?.amplitude).toBeCloseTo(0.8, 5);
  });

  it('GIVEN a note shorter than the minimum length WHEN decoded THEN it is dropped', () => {
    expect(activationsToNoteEvents(activations(100, [{ pitch: 60, start: 10, end: 18 }]))).toEqual([]);
  });

  it('GIVEN sustained energy without any onset WHEN decoded with and without the melodia trick THEN only the trick finds it', () => {
    const act = activations(120, [{ pitch: 64, start: 20, end: 80, onset: false, level: 0.6 }]);
    const withTrick = activationsToNoteEvents(act, { inferOnsets: false });
    expect(withTrick.map((e) => e.pitchMidi)).toEqual([64]);
    expect(activationsToNoteEvents(act, { inferOnsets: false, melodiaTrick: false })).toEqual([]);
  });
});

describe('noteEventsToSequence', () => {
  it('GIVEN events in seconds WHEN placed at 120 qpm on sixteenths THEN steps, velocity and program follow', () => {
    const seq = noteEventsToSequence(
      [
        { pitchMidi: 62, startSeconds: 0.51, endSeconds: 0.74, amplitude: 0.5 },
        { pitchMidi: 60, startSeconds: 0, endSeconds: 0.5, amplitude: 1 },
        { pitchMidi: 60, startSeconds: 0.26, endSeconds: 0.6, amplitude: 0.2 },
      ],
      { qpm: 120, stepsPerQuarter: 4 },
    );
    expect(seq.notes.map((n) => [n.pitch, n.startStep, n.endStep, n.velocity])).toEqual([
      [60, 0, 2, 127], // trimmed so the repeated C4 does not overlap it
      [60, 2, 5, 25],
      [62, 4, 6, 64],
    ]);
    expect(seq.notes.every((n) => n.program === 0 && n.track === 0)).toBe(true);
    expect(seq.totalSteps).toBe(6);
  });
});
