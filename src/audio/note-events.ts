/**
 * Basic Pitch activations → note events → NoteSequence.
 *
 * Follows basic-pitch's `output_to_notes_polyphonic` (Python; the TS port is `outputToNotesPoly`)
 * on flat Float32Arrays, with three deliberate differences:
 * - the "melodia trick" visits cells in one sorted pass instead of a full-matrix argmax per note
 *   (the TS port is quadratic and takes minutes on long audio); the result is the same because
 *   remaining energy only ever drops to zero;
 * - peaks use scipy's `argrelmax` semantics (a first or last frame is never a peak), as in Python;
 * - notes come back sorted by time (the TS port returns them in reverse order).
 * Pitch bends are not produced.
 */
import { MotifError } from '../errors.js';
import { DEFAULT_QPM, DEFAULT_STEPS_PER_QUARTER, emptySequence, normalizeSequence, type Note, type NoteSequence } from '../music/note-sequence.js';

/** Model activations, row-major `nFrames × nPitches` (88 piano keys from MIDI 21). */
export interface Activations {
  nFrames: number;
  frames: Float32Array;
  onsets: Float32Array;
}

export interface NoteEvent {
  /** MIDI pitch 21–108. */
  pitchMidi: number;
  startSeconds: number;
  endSeconds: number;
  /** Mean frame activation over the note, 0–1. */
  amplitude: number;
}

export interface NoteEventOptions {
  /** Minimum onset activation to start a note, 0–1 (default 0.5). */
  onsetThreshold?: number;
  /** Minimum frame activation to keep a note sounding, 0–1 (default 0.3). */
  frameThreshold?: number;
  /** Notes must last more than this many frames (default 11 ≈ 128 ms, Basic Pitch's CLI default). */
  minNoteFrames?: number;
  /** Frames a note may dip below `frameThreshold` before it ends (default 11). */
  energyToleranceFrames?: number;
  /** Add onsets where frame activations jump (default true). */
  inferOnsets?: boolean;
  /** Also pick up notes without an onset from leftover frame energy (default true). */
  melodiaTrick?: boolean;
  /** Output frame rate (default 22050 / 256 ≈ 86.13 frames per second). */
  framesPerSecond?: number;
}

const N_PITCHES = 88;
const LOWEST_MIDI = 21;
const DEFAULT_FPS = 22_050 / 256;

/** Decodes activations to note events, sorted by (start, pitch). Does not modify its input. */
export function activationsToNoteEvents(act: Activations, opts: NoteEventOptions = {}): NoteEvent[] {
  const onsetThresh = opts.onsetThreshold ?? 0.5;
  const frameThresh = opts.frameThreshold ?? 0.3;
  const minLen = opts.minNoteFrames ?? 11;
  const tolerance = opts.energyToleranceFrames ?? 11;
  const fps = opts.framesPerSecond ?? DEFAULT_FPS;
  const { nFrames, frames } = act;
  if (frames.length !== nFrames * N_PITCHES || act.onsets.length !== nFrames * N_PITCHES) {
    throw new Error(`activation size mismatch: ${frames.length} values for ${nFrames} frames`);
  }
  const onsets = opts.inferOnsets === false ? act.onsets : inferOnsets(act.onsets, frames, nFrames);
  const remaining = Float32Array.from(frames);
  const raw: Array<{ startFrame: number; endFrame: number; pitchIndex: number }> = [];

  // Onset peaks, latest first (as Basic Pitch does, so a later note cannot be swallowed by an earlier one).
  for (let i = nFrames - 2; i >= 1; i--) {
    for (let p = N_PITCHES - 1; p >= 0; p--) {
      const v = onsets[i * N_PITCHES + p] as number;
      if (v < onsetThresh) continue;
      if (!(v > (onsets[(i - 1) * N_PITCHES + p] as number) && v > (onsets[(i + 1) * N_PITCHES + p] as number))) continue;
      let f = i + 1;
      let below = 0;
      while (f < nFrames - 1 && below < tolerance) {
        below = (remaining[f * N_PITCHES + p] as number) < frameThresh ? below + 1 : 0;
        f++;
      }
      f -= below;
      if (f - i <= minLen) continue;
      clearBand(remaining, i, f, p);
      raw.push({ startFrame: i, endFrame: f, pitchIndex: p });
    }
  }

  if (opts.melodiaTrick !== false) {
    // Descending by energy, ties by flat index (numpy's argmax picks the first).
    const candidates: number[] = [];
    for (let idx = 0; idx < remaining.length; idx++) if ((remaining[idx] as number) > frameThresh) candidates.push(idx);
    candidates.sort((a, b) => (remaining[b] as number) - (remaining[a] as number) || a - b);
    for (const idx of candidates) {
      if ((remaining[idx] as number) <= frameThresh) continue; // zeroed by an earlier note
      const mid = Math.floor(idx / N_PITCHES);
      const p = idx % N_PITCHES;
      remaining[idx] = 0;
      let f = mid + 1;
      let below = 0;
      while (f < nFrames - 1 && below < tolerance) {
        below = (remaining[f * N_PITCHES + p] as number) < frameThresh ? below + 1 : 0;
        clearBand(remaining, f, f + 1, p);
        f++;
      }
      const end = f - 1 - below;
      f = mid - 1;
      below = 0;
      while (f > 0 && below < tolerance) {
        below = (remaining[f * N_PITCHES + p] as number) < frameThresh ? below + 1 : 0;
        clearBand(remaining, f, f + 1, p);
        f--;
      }
      const start = f + 1 + below;
      if (end - start <= minLen) continue;
      raw.push({ startFrame: start, endFrame: end, pitchIndex: p });
    }
  }

  return raw
    .map(({ startFrame, endFrame, pitchIndex }) => ({
      pitchMidi: pitchIndex + LOWEST_MIDI,
      startSeconds: startFrame / fps,
      endSeconds: endFrame / fps,
      amplitude: meanActivation(frames, startFrame, endFrame, pitchIndex),
    }))
    .sort((a, b) => a.startSeconds - b.startSeconds || a.pitchMidi - b.pitchMidi);
}

/** Zeroes frames [from, to) of pitch p and its two neighbours (they belong to the same note). */
function clearBand(energy: Float32Array, from: number, to: number, p: number): void {
  for (let f = from; f < to; f++) {
    const row = f * N_PITCHES;
    energy[row + p] = 0;
    if (p < N_PITCHES - 1) energy[row + p + 1] = 0;
    if (p > 0) energy[row + p - 1] = 0;
  }
}

function meanActivation(frames: Float32Array, from: number, to: number, p: number): number {
  let sum = 0;
  for (let f = from; f < to; f++) sum += frames[f * N_PITCHES + p] as number;
  return to > from ? sum / (to - from) : 0;
}

/**
 * max(onsets, rescaled positive jumps in frame activation): the smaller of the 1- and 2-frame
 * differences, zero for the first two frames, rescaled to the onsets' maximum.
 */
function inferOnsets(onsets: Float32Array, frames: Float32Array, nFrames: number): Float32Array {
  // One buffer holds the differences first, then the result (these are 60 KB per second of audio).
  const out = new Float32Array(onsets.length);
  let diffMax = 0;
  let onsetMax = 0;
  for (let i = 0; i < onsets.length; i++) onsetMax = Math.max(onsetMax, onsets[i] as number);
  for (let f = 2; f < nFrames; f++) {
    for (let p = 0; p < N_PITCHES; p++) {
      const here = frames[f * N_PITCHES + p] as number;
      const d = Math.min(here - (frames[(f - 1) * N_PITCHES + p] as number), here - (frames[(f - 2) * N_PITCHES + p] as number));
      if (d > 0) {
        out[f * N_PITCHES + p] = d;
        if (d > diffMax) diffMax = d;
      }
    }
  }
  const scale = diffMax > 0 ? onsetMax / diffMax : 0;
  for (let i = 0; i < out.length; i++) out[i] = Math.max(onsets[i] as number, (out[i] as number) * scale);
  return out;
}

export interface ToSequenceOptions {
  /** Tempo used to map seconds to steps (default 120). */
  qpm?: number;
  /** Grid resolution (default 4 = sixteenths). */
  stepsPerQuarter?: number;
  /** General MIDI program of the single track (default 0, piano). */
  program?: number;
}

/**
 * Places note events on a fixed-tempo step grid. Velocity = round(127 × amplitude), at least 1.
 * Same-pitch notes that collide after rounding are trimmed so they never overlap.
 * @throws MotifError OPTION_OUT_OF_RANGE for a non-positive tempo or grid.
 */
export function noteEventsToSequence(events: readonly NoteEvent[], opts: ToSequenceOptions = {}): NoteSequence {
  const qpm = opts.qpm ?? DEFAULT_QPM;
  const stepsPerQuarter = opts.stepsPerQuarter ?? DEFAULT_STEPS_PER_QUARTER;
  const program = opts.program ?? 0;
  if (!(qpm > 0) || !Number.isInteger(stepsPerQuarter) || stepsPerQuarter < 1) {
    throw new MotifError('OPTION_OUT_OF_RANGE', 'Tempo and grid must be positive.');
  }
  const stepsPerSecond = (qpm / 60) * stepsPerQuarter;
  const seq = emptySequence({ qpm, stepsPerQuarter, program });
  seq.tracks = [{ name: 'Transcription', program, isDrum: false }];
  const lastByPitch = new Map<number, Note>();
  const notes: Note[] = [];
  const sorted = [...events].sort((a, b) => a.startSeconds - b.startSeconds || a.pitchMidi - b.pitchMidi);
  for (const e of sorted) {
    const startStep = Math.max(0, Math.round(e.startSeconds * stepsPerSecond));
    const endStep = Math.max(startStep + 1, Math.round(e.endSeconds * stepsPerSecond));
    const velocity = Math.min(127, Math.max(1, Math.round(127 * e.amplitude)));
    const previous = lastByPitch.get(e.pitchMidi);
    if (previous && previous.endStep > startStep) {
      if (previous.startStep === startStep) {
        // Two onsets in one grid cell: keep one note covering both.
        previous.endStep = Math.max(previous.endStep, endStep);
        previous.velocity = Math.max(previous.velocity, velocity);
        continue;
      }
      previous.endStep = startStep;
    }
    const note: Note = { pitch: e.pitchMidi, velocity, startStep, endStep, program, isDrum: false, track: 0 };
    notes.push(note);
    lastByPitch.set(e.pitchMidi, note);
  }
  return normalizeSequence({ ...seq, notes });
}
