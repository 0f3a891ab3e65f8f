/**
 * Keys and scales: the Krumhansl–Schmuckler key finder (duration-weighted pitch-class profile
 * correlated with the Krumhansl–Kessler probe-tone profiles) and pitch-class sets for the sampler's
 * key constraint and the scale-consistency feature.
 */
import { MotifError } from '../../errors.js';
import type { NoteSequence } from '../note-sequence.js';

export type Mode = 'major' | 'minor';

export interface Key {
  /** Tonic spelled as usually written for the mode, e.g. "Eb" (major) or "C#" (minor). */
  tonic: string;
  /** Tonic pitch class 0–11 (C = 0). */
  tonicPitchClass: number;
  mode: Mode;
  /** "Eb major", "C# minor". */
  name: string;
}

/** Krumhansl & Kessler (1982) probe-tone ratings, tonic first. */
const MAJOR_PROFILE = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR_PROFILE = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

const MAJOR_TONIC_NAMES = ['C', 'Db', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
const MINOR_TONIC_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'G#', 'A', 'Bb', 'B'];

export const MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11] as const;
export const NATURAL_MINOR_SCALE = [0, 2, 3, 5, 7, 8, 10] as const;
export const HARMONIC_MINOR_SCALE = [0, 2, 3, 5, 7, 8, 11] as const;

export function makeKey(tonicPitchClass: number, mode: Mode): Key {
  const pc = ((tonicPitchClass % 12) + 12) % 12;
  const tonic = (mode === 'major' ? MAJOR_TONIC_NAMES : MINOR_TONIC_NAMES)[pc]!;
  return { tonic, tonicPitchClass: pc, mode, name: `${tonic} ${mode}` };
}

/** Duration-weighted pitch-class histogram (not normalised), drums excluded. */
export function pitchClassDurations(seq: NoteSequence): number[] {
  const weights = new Array<number>(12).fill(0);
  for (const n of seq.notes) {
    if (n.isDrum) continue;
    weights[n.pitch % 12]! += n.endStep - n.startStep;
  }
  return weights;
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i]! - ma) * (b[i]! - mb);
    da += (a[i]! - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

/**
 * Krumhansl–Schmuckler: the key whose rotated profile correlates best with the piece's
 * duration-weighted pitch-class histogram. A piece without notes is reported as C major.
 */
export function guessKey(seq: NoteSequence): Key & { correlation: number } {
  const histogram = pitchClassDurations(seq);
  let best = { ...makeKey(0, 'major'), correlation: -Infinity };
  for (const mode of ['major', 'minor'] as const) {
    const profile = mode === 'major' ? MAJOR_PROFILE : MINOR_PROFILE;
    for (let tonic = 0; tonic < 12; tonic++) {
      const rotated = Array.from({ length: 12 }, (_, pc) => profile[(pc - tonic + 12) % 12]!);
      const r = pearson(histogram, rotated);
      if (r > best.correlation) best = { ...makeKey(tonic, mode), correlation: r };
    }
  }
  if (best.correlation === -Infinity || Number.isNaN(best.correlation)) best.correlation = 0;
  return best;
}

const LETTER_PC: Record<string, number> = { c: 0, d: 2, e: 4, f: 5, g: 7, a: 9, b: 11 };

/**
 * Parses a key name as a user types it: "A minor", "Am", "a", "F# major", "Bb", "E-flat minor",
 * "c#m", "Eb maj". Without a mode it is major (lowercase single letters like "a" also mean major).
 * @throws MotifError OPTION_OUT_OF_RANGE with a readable message when it is not a key.
 */
export function parseKey(text: string): Key {
  const normalised = text.trim().toLowerCase().replace(/♯/g, '#').replace(/♭/g, 'b').replace(/\s+/g, ' ');
  const match = /^([a-g])\s*(#|b|-|sharp|flat|-sharp|-flat| sharp| flat)?\s*(major|minor|maj|min|m)?$/.exec(normalised);
  if (!match) {
    throw new MotifError('OPTION_OUT_OF_RANGE', `\`${text.slice(0, 40)}\` is not a key. Try something like "C major", "A minor" or "F#m".`);
  }
  const accidental = (match[2] ?? '').trim().replace(/^-/, '');
  const alter = accidental === '#' || accidental === 'sharp' ? 1 : accidental === 'b' || accidental === 'flat' || accidental === '-' ? -1 : 0;
  const modeText = match[3] ?? '';
  const mode: Mode = modeText === 'minor' || modeText === 'min' || modeText === 'm' ? 'minor' : 'major';
  return makeKey(LETTER_PC[match[1]!]! + alter, mode);
}

/**
 * Pitch classes of a key, ascending from C.
 * - 'constraint' (default): what the sampler may play — major scale; for minor the natural minor
 *   plus the raised seventh (leading tone), since minor-key music uses both.
 * - 'natural' | 'harmonic': the plain seven-note scale.
 */
export function scalePitchClasses(key: Key | string, variant: 'constraint' | 'natural' | 'harmonic' = 'constraint'): number[] {
  const k = typeof key === 'string' ? parseKey(key) : key;
  let degrees: readonly number[];
  if (k.mode === 'major') degrees = MAJOR_SCALE;
  else if (variant === 'natural') degrees = NATURAL_MINOR_SCALE;
  else if (variant === 'harmonic') degrees = HARMONIC_MINOR_SCALE;
  else degrees = [...NATURAL_MINOR_SCALE, 11];
  return [...new Set(degrees.map((d) => (d + k.tonicPitchClass) % 12))].sort((a, b) => a - b);
}

/**
 * The 24 reference scales of the scale-consistency feature: 12 major and 12 harmonic minor (the
 * natural minor scales would repeat the major ones as sets).
 */
export function referenceScales(): { key: Key; pitchClasses: Set<number> }[] {
  const out: { key: Key; pitchClasses: Set<number> }[] = [];
  for (const mode of ['major', 'minor'] as const) {
    for (let tonic = 0; tonic < 12; tonic++) {
      const key = makeKey(tonic, mode);
      out.push({ key, pitchClasses: new Set(scalePitchClasses(key, 'harmonic')) });
    }
  }
  return out;
}
