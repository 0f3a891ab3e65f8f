/**
 * Per-piece musical statistics, after Yang & Lerch (2020), "On the evaluation of generative models
 * in music" (pitch count, pitch-class histogram, pitch range, average interval, note-length and
 * inter-onset histograms), plus Mogren's scale consistency, polyphony and the empty-beat rate, and a
 * few counts the degenerate-output guard needs. Drums are ignored throughout.
 */
import type { Note, NoteSequence } from '../note-sequence.js';
import { referenceScales } from './key.js';
import { computeStructure } from './structure.js';

export interface PieceFeatures {
  noteCount: number;
  /** Notes-or-chords (distinct onsets). */
  eventCount: number;
  /** Highest minus lowest MIDI pitch, semitones (0 for ≤ 1 pitch). */
  pitchRange: number;
  /** Distinct MIDI pitches used (Yang & Lerch's "total used pitch"). */
  pitchCount: number;
  /** Note counts per pitch class C..B, summing to 1 (all 0 for an empty piece). */
  pitchClassHistogram: number[];
  /** Shannon entropy of the pitch-class histogram, bits (0–log2 12 ≈ 3.585). */
  pitchClassEntropy: number;
  /** Best fraction of notes inside one of 24 major/harmonic-minor scales, 0–1. */
  scaleConsistency: number;
  /** Mean number of notes sounding at each onset (sustained notes included), ≥ 1 for non-empty pieces. */
  polyphony: number;
  /** Fraction of beats (quarter notes, up to the last note's end) in which nothing sounds, 0–1. */
  emptyBeatRate: number;
  /** Note lengths in Yang & Lerch's 12 classes (NOTE_LENGTH_CLASSES), summing to 1. */
  noteLengthHistogram: number[];
  /** Inter-onset intervals (between consecutive distinct onsets) in the same 12 classes. */
  ioiHistogram: number[];
  /** Mean inter-onset interval, quarter notes. */
  averageIoiQuarters: number;
  /** Mean absolute interval between the top notes of consecutive onsets, semitones. */
  averageInterval: number;
  /** Distinct pitches (same as pitchCount; named for the degenerate-output guard). */
  distinctPitches: number;
  /** Distinct note lengths, in steps. */
  distinctDurations: number;
  /** Distinct inter-onset intervals, in steps. */
  distinctIois: number;
  /** Fraction of bars repeating an earlier bar up to transposition, 0–1 (see structure.ts). */
  barRepetition: number;
  /** Fraction of 4-bar windows in the piece's key, 0–1. */
  keyStability: number;
  /** 1 when the last onset's lowest note is the tonic, else 0. */
  endsOnTonic: number;
}

/**
 * Yang & Lerch's note-length classes in quarter notes: whole, half, quarter, 8th, 16th, dotted
 * half, dotted quarter, dotted 8th, dotted 16th, half triplet, quarter triplet, 8th triplet.
 */
export const NOTE_LENGTH_CLASSES = [4, 2, 1, 0.5, 0.25, 3, 1.5, 0.75, 0.375, 4 / 3, 2 / 3, 1 / 3] as const;

/** Scalar features (one number per piece). */
export const SCALAR_FEATURES = [
  'pitchRange',
  'pitchCount',
  'pitchClassEntropy',
  'scaleConsistency',
  'polyphony',
  'emptyBeatRate',
  'averageIoiQuarters',
  'averageInterval',
  'barRepetition',
  'keyStability',
  'endsOnTonic',
] as const;
/** Histogram features (compared with Euclidean distance, as Yang & Lerch do). */
export const HISTOGRAM_FEATURES = ['pitchClassHistogram', 'noteLengthHistogram', 'ioiHistogram'] as const;
export type FeatureName = (typeof SCALAR_FEATURES)[number] | (typeof HISTOGRAM_FEATURES)[number];
export const ALL_FEATURES: readonly FeatureName[] = [...SCALAR_FEATURES, ...HISTOGRAM_FEATURES];

/** A feature as a vector (scalars become length 1). */
export function featureVector(features: PieceFeatures, name: FeatureName): number[] {
  const value = features[name];
  return Array.isArray(value) ? value : [value];
}

function lengthClass(quarters: number): number {
  let best = 0;
  for (let i = 1; i < NOTE_LENGTH_CLASSES.length; i++) {
    if (Math.abs(NOTE_LENGTH_CLASSES[i]! - quarters) < Math.abs(NOTE_LENGTH_CLASSES[best]! - quarters)) best = i;
  }
  return best;
}

function normalise(counts: number[]): number[] {
  const total = counts.reduce((s, x) => s + x, 0);
  return total === 0 ? counts.map(() => 0) : counts.map((x) => x / total);
}

function entropyBits(p: readonly number[]): number {
  return Math.max(0, -p.reduce((s, x) => (x > 0 ? s + x * Math.log2(x) : s), 0));
}

const SCALES = referenceScales();

export function computeFeatures(seq: NoteSequence): PieceFeatures {
  const notes: Note[] = seq.notes.filter((n) => !n.isDrum).sort((a, b) => a.startStep - b.startStep || b.pitch - a.pitch);
  const spq = seq.stepsPerQuarter;
  const pitches = notes.map((n) => n.pitch);
  const pitchSet = new Set(pitches);

  const pcCounts = new Array<number>(12).fill(0);
  for (const p of pitches) pcCounts[p % 12]!++;
  const pitchClassHistogram = normalise(pcCounts);

  let scaleConsistency = 0;
  if (notes.length > 0) {
    for (const scale of SCALES) {
      const inScale = pitches.reduce((s, p) => s + (scale.pitchClasses.has(p % 12) ? 1 : 0), 0) / pitches.length;
      scaleConsistency = Math.max(scaleConsistency, inScale);
    }
  }

  // Onsets (top note first thanks to the sort) and inter-onset intervals.
  const onsets: number[] = [];
  const topPitches: number[] = [];
  for (const n of notes) {
    if (onsets[onsets.length - 1] !== n.startStep) {
      onsets.push(n.startStep);
      topPitches.push(n.pitch);
    }
  }
  const iois: number[] = [];
  for (let i = 1; i < onsets.length; i++) iois.push(onsets[i]! - onsets[i - 1]!);
  let intervalSum = 0;
  for (let i = 1; i < topPitches.length; i++) intervalSum += Math.abs(topPitches[i]! - topPitches[i - 1]!);

  // Sounding-note counts per step, for polyphony and empty beats.
  const lastEnd = notes.reduce((m, n) => Math.max(m, n.endStep), 0);
  const delta = new Int32Array(lastEnd + 1);
  for (const n of notes) {
    delta[n.startStep]! += 1;
    delta[n.endStep]! -= 1;
  }
  const sounding = new Int32Array(lastEnd);
  let running = 0;
  for (let s = 0; s < lastEnd; s++) {
    running += delta[s]!;
    sounding[s] = running;
  }
  const polyphony = onsets.length === 0 ? 0 : onsets.reduce((s, t) => s + sounding[t]!, 0) / onsets.length;
  const beats = Math.ceil(lastEnd / spq);
  let emptyBeats = 0;
  for (let b = 0; b < beats; b++) {
    let any = false;
    for (let s = b * spq; s < Math.min(lastEnd, (b + 1) * spq) && !any; s++) any = sounding[s]! > 0;
    if (!any) emptyBeats++;
  }

  const lengthCounts = new Array<number>(12).fill(0);
  for (const n of notes) lengthCounts[lengthClass((n.endStep - n.startStep) / spq)]!++;
  const ioiCounts = new Array<number>(12).fill(0);
  for (const d of iois) ioiCounts[lengthClass(d / spq)]!++;

  return {
    noteCount: notes.length,
    eventCount: onsets.length,
    pitchRange: pitches.length === 0 ? 0 : Math.max(...pitchSet) - Math.min(...pitchSet),
    pitchCount: pitchSet.size,
    pitchClassHistogram,
    pitchClassEntropy: entropyBits(pitchClassHistogram),
    scaleConsistency,
    polyphony,
    emptyBeatRate: beats === 0 ? 0 : emptyBeats / beats,
    noteLengthHistogram: normalise(lengthCounts),
    ioiHistogram: normalise(ioiCounts),
    averageIoiQuarters: iois.length === 0 ? 0 : iois.reduce((s, x) => s + x, 0) / iois.length / spq,
    averageInterval: topPitches.length < 2 ? 0 : intervalSum / (topPitches.length - 1),
    distinctPitches: pitchSet.size,
    distinctDurations: new Set(notes.map((n) => n.endStep - n.startStep)).size,
    distinctIois: new Set(iois).size,
    ...computeStructure(seq),
  };
}
