/**
 * Moving MIDI ticks onto Motif's integer step grid, and making a note list playable as MIDI.
 */
import { compareNotes, type Note } from './note-sequence.js';

/**
 * Nearest grid step for a tick position. Ticks (not seconds) are used on purpose: the grid then
 * follows the score's beats, and tempo changes cannot smear it.
 * @param ticks ≥ 0. @param ticksPerQuarter > 0. @param stepsPerQuarter > 0.
 */
export function ticksToStep(ticks: number, ticksPerQuarter: number, stepsPerQuarter: number): number {
  return Math.round((ticks * stepsPerQuarter) / ticksPerQuarter);
}

/** Onset and offset on the grid; a note never shrinks below one step. */
export function quantizeSpan(
  startTick: number,
  endTick: number,
  ticksPerQuarter: number,
  stepsPerQuarter: number,
): { startStep: number; endStep: number } {
  const startStep = ticksToStep(startTick, ticksPerQuarter, stepsPerQuarter);
  const endStep = Math.max(startStep + 1, ticksToStep(endTick, ticksPerQuarter, stepsPerQuarter));
  return { startStep, endStep };
}

/**
 * MIDI cannot hold two sounding notes of one pitch on one channel, so within a track:
 * notes of one pitch that start on the same step become one note (the first note's velocity, the
 * later end); a note still sounding when the next note of its pitch starts ends there.
 * Applied on read and on write, so that readMidi(writeMidi(seq)) gives back exactly seq.
 * @returns a new array sorted by compareNotes, then track; input notes are not mutated.
 */
export function resolveSamePitchOverlaps(notes: readonly Note[]): Note[] {
  const byOnset = [...notes].sort((a, b) => a.track - b.track || a.pitch - b.pitch || a.startStep - b.startStep || b.endStep - a.endStep);
  const kept: Note[] = [];
  let previous: Note | undefined;
  for (const note of byOnset) {
    const sameVoice = previous !== undefined && previous.track === note.track && previous.pitch === note.pitch;
    if (previous && sameVoice && note.startStep === previous.startStep) {
      previous.endStep = Math.max(previous.endStep, note.endStep);
      continue;
    }
    if (previous && sameVoice && note.startStep < previous.endStep) previous.endStep = note.startStep;
    previous = { ...note };
    kept.push(previous);
  }
  return kept.sort((a, b) => compareNotes(a, b) || a.track - b.track);
}
