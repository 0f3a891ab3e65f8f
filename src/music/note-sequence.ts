/**
 * The one interchange type for music between modules (after magenta-js's NoteSequence).
 *
 * Strict and JSON-safe so it can be stored in Keyv and sent to worker threads as is.
 * Time lives on an integer step grid (`stepsPerQuarter` steps per quarter note); seconds, ticks
 * and 0–1 velocities exist only at the edges (MIDI I/O, the renderer, transcription).
 */
import { assertInRange } from '../errors.js';

export interface Note {
  /** MIDI pitch 0–127. */
  pitch: number;
  /** MIDI velocity 1–127. */
  velocity: number;
  /** Onset, in steps from the start (integer ≥ 0). */
  startStep: number;
  /** Offset, in steps (integer > startStep). */
  endStep: number;
  /** General MIDI program 0–127 (ignored for drums). */
  program: number;
  /** True for notes on MIDI channel 10 (percussion). */
  isDrum: boolean;
  /** Index into `NoteSequence.tracks`. */
  track: number;
}

export interface Track {
  name: string;
  program: number;
  isDrum: boolean;
}

export interface TempoChange {
  /** Step at which this tempo starts. */
  step: number;
  /** Quarter notes per minute, > 0. */
  qpm: number;
}

export interface TimeSignature {
  step: number;
  numerator: number;
  denominator: number;
}

export interface NoteSequence {
  /** Grid resolution: steps per quarter note (4 = sixteenth notes). */
  stepsPerQuarter: number;
  /** Tempo map, sorted by step, first entry at step 0. */
  tempos: TempoChange[];
  /** Time-signature map, sorted by step, first entry at step 0. */
  timeSignatures: TimeSignature[];
  tracks: Track[];
  /** Sorted by (startStep, pitch). */
  notes: Note[];
  /** Length in steps: at least the last note's endStep. */
  totalSteps: number;
}

export const DEFAULT_QPM = 120;
export const DEFAULT_STEPS_PER_QUARTER = 4;

export function emptySequence(opts: { stepsPerQuarter?: number; qpm?: number; program?: number } = {}): NoteSequence {
  return {
    stepsPerQuarter: opts.stepsPerQuarter ?? DEFAULT_STEPS_PER_QUARTER,
    tempos: [{ step: 0, qpm: opts.qpm ?? DEFAULT_QPM }],
    timeSignatures: [{ step: 0, numerator: 4, denominator: 4 }],
    tracks: [{ name: 'Motif', program: opts.program ?? 0, isDrum: false }],
    notes: [],
    totalSteps: 0,
  };
}

export function compareNotes(a: Note, b: Note): number {
  return a.startStep - b.startStep || a.pitch - b.pitch || a.endStep - b.endStep;
}

/** Sorts notes and recomputes totalSteps; returns a new sequence. */
export function normalizeSequence(seq: NoteSequence): NoteSequence {
  const notes = [...seq.notes].sort(compareNotes);
  const lastEnd = notes.reduce((max, n) => Math.max(max, n.endStep), 0);
  return { ...seq, notes, totalSteps: Math.max(seq.totalSteps, lastEnd) };
}

/** Initial tempo (the tempo at step 0). */
export function initialQpm(seq: NoteSequence): number {
  return seq.tempos[0]?.qpm ?? DEFAULT_QPM;
}

/**
 * Converts a step position to seconds through the tempo map.
 * @param step may be fractional; ≥ 0.
 */
export function stepToSeconds(seq: NoteSequence, step: number): number {
  let seconds = 0;
  let cursor = 0;
  let qpm = initialQpm(seq);
  for (const change of seq.tempos) {
    if (change.step >= step) break;
    seconds += ((change.step - cursor) * 60) / (qpm * seq.stepsPerQuarter);
    cursor = change.step;
    qpm = change.qpm;
  }
  return seconds + ((step - cursor) * 60) / (qpm * seq.stepsPerQuarter);
}

/** Inverse of stepToSeconds (fractional result). */
export function secondsToStep(seq: NoteSequence, seconds: number): number {
  let elapsed = 0;
  let cursor = 0;
  let qpm = initialQpm(seq);
  for (const change of seq.tempos) {
    const segment = ((change.step - cursor) * 60) / (qpm * seq.stepsPerQuarter);
    if (elapsed + segment > seconds) break;
    elapsed += segment;
    cursor = change.step;
    qpm = change.qpm;
  }
  return cursor + ((seconds - elapsed) * qpm * seq.stepsPerQuarter) / 60;
}

export function durationSeconds(seq: NoteSequence): number {
  return stepToSeconds(seq, seq.totalSteps);
}

/** Steps per bar of the time signature in force at step 0. */
export function stepsPerBar(seq: NoteSequence): number {
  const ts = seq.timeSignatures[0] ?? { numerator: 4, denominator: 4 };
  return Math.round((seq.stepsPerQuarter * 4 * ts.numerator) / ts.denominator);
}

/**
 * Groups notes by onset: the tutorial's "notes-or-chords" (each onset with one or more notes is one
 * event). `length` everywhere in Motif counts these.
 */
export function countNoteEvents(seq: NoteSequence): number {
  const onsets = new Set<number>();
  for (const n of seq.notes) onsets.add(n.startStep);
  return onsets.size;
}

/**
 * The piece's first `events` notes-or-chords (see countNoteEvents), each note as long as it was;
 * undefined when the piece has no more than that, so it has no opening shorter than itself.
 * @throws MotifError OPTION_OUT_OF_RANGE unless `events` is a whole number ≥ 1.
 */
export function openingNoteEvents(seq: NoteSequence, events: number): NoteSequence | undefined {
  assertInRange('events', events, 1, Number.MAX_SAFE_INTEGER, { integer: true });
  const onsets = [...new Set(seq.notes.map((n) => n.startStep))].sort((a, b) => a - b);
  if (onsets.length <= events) return undefined;
  const lastOnset = onsets[events - 1]!;
  const notes = seq.notes.filter((n) => n.startStep <= lastOnset);
  return { ...seq, notes, totalSteps: notes.reduce((end, n) => Math.max(end, n.endStep), 0) };
}
