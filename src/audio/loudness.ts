/**
 * Loudness for rendered PCM, in one pass: a gain chosen from the notes before any audio exists,
 * then a look-ahead peak limiter ({@link PeakLimiter}) so nothing can clip.
 *
 * Stock spessasynth output peaks around 0.1 (−20 dBFS), which sounds far too quiet next to other
 * audio in Discord. Measuring the peak first would need the whole piece synthesized before the
 * first sample is encoded (a second pass); the notes predict it well enough instead
 * ({@link estimateRawPeak}), and the limiter catches what the prediction misses. One gain for
 * the whole piece keeps its dynamics; the limiter only touches the rare peaks above the ceiling.
 * The 1 dB headroom absorbs the slight overshoot of MP3/Opus decoders.
 */
import type { NoteSequence } from '../music/note-sequence.js';


export const DEFAULT_TARGET_PEAK_DBFS = -1;
/** Never amplify more than this (+40 dB): quieter than −60 dBFS peak is treated as silence. */
export const DEFAULT_MAX_GAIN = 100;
/** Peaks below this (−80 dBFS) are silence: left as they are rather than blown up into noise. */
export const SILENCE_PEAK = 1e-4;
/** Hard ceiling applied after the gain, in case a second render pass differs from the measured one. */
export const SAFETY_CEILING = 0.99;

export interface LevelStats {
  /** Largest |sample| over both channels. */
  peak: number;
  /** Sum of squares over both channels (for RMS). */
  sumSquares: number;
  /** Samples counted (frames × channels). */
  sampleCount: number;
}

export function emptyLevelStats(): LevelStats {
  return { peak: 0, sumSquares: 0, sampleCount: 0 };
}

/** Adds one channel's samples to `stats` (mutates and returns it). */
export function accumulateLevels(stats: LevelStats, samples: Float32Array): LevelStats {
  let peak = stats.peak;
  let sumSquares = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const a = s < 0 ? -s : s;
    if (a > peak) peak = a;
    sumSquares += s * s;
  }
  stats.peak = peak;
  stats.sumSquares += sumSquares;
  stats.sampleCount += samples.length;
  return stats;
}

export function rmsOf(stats: LevelStats): number {
  return stats.sampleCount === 0 ? 0 : Math.sqrt(stats.sumSquares / stats.sampleCount);
}

export function dbfsToLinear(dbfs: number): number {
  return 10 ** (dbfs / 20);
}

/**
 * The single gain for a piece: brings the peak to `targetPeakDbfs` (≤ 0), capped at `maxGain`;
 * 1 for silence (peak < {@link SILENCE_PEAK}).
 */
export function normalizationGain(
  peak: number,
  opts: { targetPeakDbfs?: number; maxGain?: number } = {},
): number {
  if (!(peak >= SILENCE_PEAK)) return 1;
  const target = dbfsToLinear(Math.min(0, opts.targetPeakDbfs ?? DEFAULT_TARGET_PEAK_DBFS));
  return Math.min(opts.maxGain ?? DEFAULT_MAX_GAIN, target / peak);
}

/**
 * Interleaves a stereo chunk into `out` (length ≥ 2 × frames) applying `gain`, hard-limited to
 * ±{@link SAFETY_CEILING}. Returns the interleaved view.
 */
export function interleaveWithGain(left: Float32Array, right: Float32Array, gain: number, out: Float32Array): Float32Array {
  const frames = left.length;
  const c = SAFETY_CEILING;
  for (let i = 0; i < frames; i++) {
    let l = left[i]! * gain;
    let r = right[i]! * gain;
    if (l > c) l = c;
    else if (l < -c) l = -c;
    if (r > c) r = c;
    else if (r < -c) r = -c;
    out[2 * i] = l;
    out[2 * i + 1] = r;
  }
  return out.subarray(0, 2 * frames);
}

/**
 * Raw synth peak per unit of "loudest moment" (see {@link estimateRawPeak}): the median of
 * peak ÷ loudness over 21 pieces measured with the bundled FluidR3Mono font and light reverb
 * (14 Mutopia piano pieces, dense fortissimo clusters, a pianissimo single line, strings, organ,
 * bass). Individual pieces fell within 0.65–1.3× of it: the limiter handles the high side, and the
 * low side leaves a piece at most ~3 dB under the target.
 */
export const RAW_PEAK_PER_LOUDNESS = 0.16;

/**
 * Predicts the raw synth peak from the notes alone, before any audio exists: the loudest onset's
 * √(Σ a²) over the notes sounding then, with a = (velocity/127)² (the SoundFont velocity curve,
 * −40·log10(127/v) dB). Notes add incoherently, hence the root of the sum of squares.
 * O(n log n); 0 for a piece without notes.
 */
export function estimateRawPeak(seq: Pick<NoteSequence, 'notes'>): number {
  const events: Array<{ step: number; delta: number }> = [];
  for (const note of seq.notes) {
    const a = (Math.min(127, Math.max(0, note.velocity)) / 127) ** 2;
    if (a === 0 || note.endStep <= note.startStep) continue;
    events.push({ step: note.startStep, delta: a * a }, { step: note.endStep, delta: -a * a });
  }
  // Ends before starts at the same step: a repeated note does not count twice.
  events.sort((x, y) => x.step - y.step || x.delta - y.delta);
  let sum = 0;
  let loudest = 0;
  for (let i = 0; i < events.length; i++) {
    sum += events[i]!.delta;
    const last = i + 1 === events.length || events[i + 1]!.step !== events[i]!.step;
    if (last && sum > loudest) loudest = sum;
  }
  return RAW_PEAK_PER_LOUDNESS * Math.sqrt(Math.max(0, loudest));
}

/** The one gain for a piece, chosen from its notes ({@link estimateRawPeak} → {@link normalizationGain}). */
export function gainFromNotes(seq: Pick<NoteSequence, 'notes'>, opts: { targetPeakDbfs?: number; maxGain?: number } = {}): number {
  return normalizationGain(estimateRawPeak(seq), opts);
}

export interface PeakLimiterOptions {
  sampleRateHz: number;
  /** Output never exceeds ±this, dBFS ≤ 0 (default −1). */
  ceilingDbfs?: number;
  /** How far ahead the limiter looks, ms (default 5): the delay it adds and its attack time. */
  lookaheadMs?: number;
  /** Time for the gain to recover ~63% of the way back to unity after a peak, ms (default 150). */
  releaseMs?: number;
}

/**
 * A stereo-linked look-ahead peak limiter that works chunk by chunk, so audio can be encoded while
 * it is synthesized. Per frame: the gain each sample needs (≤ 1) → the minimum over the next L
 * frames (look-ahead) → a smooth release → a moving average over L frames. Every frame of that
 * average window is at most the gain a peak needs, so the peak is always brought under the
 * ceiling, and the gain slides down over L frames instead of jumping (no clicks).
 * Output lags input by L − 1 frames; {@link PeakLimiter.finish} returns the rest.
 */
export class PeakLimiter {
  private readonly ceiling: number;
  private readonly lookahead: number;
  private readonly releaseCoef: number;
  private readonly mask: number;
  private readonly inL: Float32Array;
  private readonly inR: Float32Array;
  private readonly need: Float32Array;
  private readonly smooth: Float32Array;
  private readonly deque: Int32Array;
  private dequeHead = 0;
  private dequeTail = 0;
  private written = 0;
  private emitted = 0;
  private released = 1;
  private boxSum: number;
  /** Lowest gain applied so far (1 = the limiter never acted). */
  minGain = 1;

  constructor(opts: PeakLimiterOptions) {
    this.ceiling = dbfsToLinear(Math.min(0, opts.ceilingDbfs ?? DEFAULT_TARGET_PEAK_DBFS));
    this.lookahead = Math.max(1, Math.round(((opts.lookaheadMs ?? 5) / 1000) * opts.sampleRateHz));
    this.releaseCoef = Math.exp(-1 / Math.max(1, ((opts.releaseMs ?? 150) / 1000) * opts.sampleRateHz));
    let size = 1;
    while (size < 2 * this.lookahead + 2) size *= 2;
    this.mask = size - 1;
    this.inL = new Float32Array(size);
    this.inR = new Float32Array(size);
    this.need = new Float32Array(size);
    this.smooth = new Float32Array(size).fill(1);
    this.deque = new Int32Array(size);
    this.boxSum = this.lookahead;
  }

  /** Frames of delay the limiter adds. */
  get latencyFrames(): number {
    return this.lookahead - 1;
  }

  /**
   * Takes one chunk (gain applied first), returns the frames that are ready, interleaved L R L R
   * (a view into a new array; fewer frames than given while the look-ahead fills).
   */
  process(left: Float32Array, right: Float32Array, gain: number): Float32Array {
    const out = new Float32Array(left.length * 2);
    const written = this.run(left, right, gain, left.length, out, Number.POSITIVE_INFINITY);
    return out.subarray(0, written);
  }

  /** Flushes the look-ahead: the last frames, interleaved. */
  finish(): Float32Array {
    const pending = this.written - this.emitted;
    const out = new Float32Array(pending * 2);
    // Silence pushes the last real frames out; nothing past the input's end is emitted.
    const written = this.run(undefined, undefined, 0, this.lookahead - 1, out, this.written);
    return out.subarray(0, written);
  }

  /**
   * The per-frame loop, with state in locals (it runs ~90,000 times per second of audio). Only
   * frames that need a gain below 1 enter the min-deque: a window without any has minimum 1.
   * @returns floats written to `out`.
   */
  private run(left: Float32Array | undefined, right: Float32Array | undefined, gain: number, frames: number, out: Float32Array, emitLimit: number): number {
    const { mask, inL, inR, need, smooth, deque, lookahead, releaseCoef, ceiling } = this;
    let { dequeHead, dequeTail, written, emitted, released, boxSum, minGain } = this;
    let o = 0;
    for (let k = 0; k < frames; k++) {
      const l = left ? left[k]! * gain : 0;
      const r = right ? right[k]! * gain : 0;
      const i = written++;
      const slot = i & mask;
      inL[slot] = l;
      inR[slot] = r;
      const al = l < 0 ? -l : l;
      const ar = r < 0 ? -r : r;
      const level = al > ar ? al : ar;
      if (level > ceiling) {
        const v = ceiling / level;
        need[slot] = v;
        // Monotonic deque (increasing need): its head is the smallest need in the window.
        while (dequeTail > dequeHead && need[deque[(dequeTail - 1) & mask]! & mask]! >= v) dequeTail--;
        deque[dequeTail++ & mask] = i;
      }
      const n = i - (lookahead - 1);
      if (n < 0 || n >= emitLimit) continue;
      while (dequeTail > dequeHead && deque[dequeHead & mask]! < n) dequeHead++;
      const windowMin = dequeTail > dequeHead ? need[deque[dequeHead & mask]! & mask]! : 1;
      const recovered = 1 - (1 - released) * releaseCoef;
      released = windowMin < recovered ? windowMin : recovered;
      const nSlot = n & mask;
      // Box average over the last L released gains (the ring holds 1s before the first frame).
      boxSum += released - smooth[(n - lookahead) & mask]!;
      smooth[nSlot] = released;
      let g = boxSum / lookahead;
      if (g > 1) g = 1;
      if (g < minGain) minGain = g;
      let yl = inL[nSlot]! * g;
      let yr = inR[nSlot]! * g;
      // Rounding in the running sum can leave a hair over the ceiling; never let it through.
      if (yl > ceiling) yl = ceiling;
      else if (yl < -ceiling) yl = -ceiling;
      if (yr > ceiling) yr = ceiling;
      else if (yr < -ceiling) yr = -ceiling;
      out[o++] = yl;
      out[o++] = yr;
      emitted++;
    }
    Object.assign(this, { dequeHead, dequeTail, written, emitted, released, boxSum, minGain });
    return o;
  }
}
