/** Whole-sequence transformations used by training (augmentation) and generation (stitching). */
import type { NoteSequence } from './note-sequence.js';

/**
 * Transposes pitched notes by `semitones`; drums keep their pitch (it names an instrument). Notes
 * pushed outside 0–127 are dropped rather than folded, which would change the music.
 */
export function transpose(seq: NoteSequence, semitones: number): NoteSequence {
  if (semitones === 0) return seq;
  const notes = seq.notes
    .map((n) => (n.isDrum ? n : { ...n, pitch: n.pitch + semitones }))
    .filter((n) => n.pitch >= 0 && n.pitch <= 127);
  return { ...seq, notes };
}

/** Moves every note (and the tempo/meter maps) later by `steps` (≥ 0). */
export function shiftSteps(seq: NoteSequence, steps: number): NoteSequence {
  if (steps === 0) return seq;
  return {
    ...seq,
    notes: seq.notes.map((n) => ({ ...n, startStep: n.startStep + steps, endStep: n.endStep + steps })),
    totalSteps: seq.totalSteps + steps,
  };
}
