/**
 * Form and tonality of a whole piece, the features an LSTM alone tends to miss:
 * - bar repetition: the fraction of bars (after the first non-empty one) that repeat an earlier bar
 *   up to transposition — repeated strains, sequences, refrains;
 * - key stability: the fraction of 4-bar windows whose Krumhansl–Schmuckler key is the piece's key;
 * - ending on the tonic: 1 when the lowest note of the last onset is the piece's tonic, else 0.
 * Bars use the piece's first time signature (4/4 when it has none).
 */
import type { Note, NoteSequence } from '../note-sequence.js';
import { guessKey } from './key.js';

export interface StructureFeatures {
  /** 0–1; 0 for pieces of fewer than two non-empty bars. */
  barRepetition: number;
  /** 0–1; 1 for pieces shorter than two windows, 0 for an empty piece. */
  keyStability: number;
  /** 0 or 1. */
  endsOnTonic: number;
}

/** Bars per key window (a phrase, in most of our corpora). */
export const KEY_WINDOW_BARS = 4;

/** Length of one bar in grid steps. */
export function barLengthSteps(seq: NoteSequence): number {
  const ts = seq.timeSignatures[0] ?? { numerator: 4, denominator: 4 };
  return Math.max(1, Math.round((seq.stepsPerQuarter * 4 * ts.numerator) / ts.denominator));
}

export function computeStructure(seq: NoteSequence): StructureFeatures {
  const notes = seq.notes.filter((n) => !n.isDrum);
  if (notes.length === 0) return { barRepetition: 0, keyStability: 0, endsOnTonic: 0 };
  const barSteps = barLengthSteps(seq);
  const bars = new Map<number, Note[]>();
  for (const n of notes) {
    const bar = Math.floor(n.startStep / barSteps);
    const list = bars.get(bar) ?? [];
    list.push(n);
    bars.set(bar, list);
  }
  const key = guessKey(seq);
  return {
    barRepetition: barRepetition(bars, barSteps),
    keyStability: keyStability(seq, notes, barSteps, key.tonicPitchClass, key.mode),
    endsOnTonic: endsOnTonic(notes, key.tonicPitchClass),
  };
}

/** A bar's content with pitches relative to its lowest pitch: equal signatures = equal up to transposition. */
function barSignature(notes: Note[], barStart: number, barSteps: number): string {
  const lowest = notes.reduce((min, n) => Math.min(min, n.pitch), 127);
  return notes
    .map((n) => `${n.startStep - barStart}:${Math.min(n.endStep, barStart + barSteps) - n.startStep}:${n.pitch - lowest}`)
    .sort()
    .join(',');
}

function barRepetition(bars: Map<number, Note[]>, barSteps: number): number {
  const order = [...bars.keys()].sort((a, b) => a - b);
  if (order.length < 2) return 0;
  const seen = new Set<string>();
  let repeats = 0;
  for (const bar of order) {
    const signature = barSignature(bars.get(bar)!, bar * barSteps, barSteps);
    if (seen.has(signature)) repeats++;
    seen.add(signature);
  }
  return repeats / (order.length - 1);
}

function keyStability(seq: NoteSequence, notes: Note[], barSteps: number, tonic: number, mode: string): number {
  const windowSteps = KEY_WINDOW_BARS * barSteps;
  const lastEnd = notes.reduce((max, n) => Math.max(max, n.endStep), 0);
  const windows = Math.floor(lastEnd / windowSteps);
  if (windows < 2) return 1;
  let same = 0;
  let counted = 0;
  for (let w = 0; w < windows; w++) {
    const from = w * windowSteps;
    const to = from + windowSteps;
    const inWindow = notes
      .filter((n) => n.endStep > from && n.startStep < to)
      .map((n) => ({ ...n, startStep: Math.max(n.startStep, from), endStep: Math.min(n.endStep, to) }));
    if (inWindow.length === 0) continue;
    counted++;
    const key = guessKey({ ...seq, notes: inWindow });
    if (key.tonicPitchClass === tonic && key.mode === mode) same++;
  }
  return counted === 0 ? 1 : same / counted;
}

function endsOnTonic(notes: Note[], tonic: number): number {
  const lastOnset = notes.reduce((max, n) => Math.max(max, n.startStep), 0);
  const lowest = notes.filter((n) => n.startStep === lastOnset).reduce((min, n) => Math.min(min, n.pitch), 127);
  return lowest % 12 === tonic ? 1 : 0;
}
