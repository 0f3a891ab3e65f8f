/**
 * Loudness normalisation for rendered PCM: measure, choose one gain, apply it.
 *
 * Stock spessasynth output peaks around 0.1 (−20 dBFS), which sounds far too quiet next to other
 * audio in Discord. We apply one gain for the whole piece (no compression, so dynamics survive)
 * that brings the sample peak to `targetPeakDbfs`; MP3/Opus decoders can overshoot the PCM
 * peak slightly, which the 1 dB headroom absorbs.
 */

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
