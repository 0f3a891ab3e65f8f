import { describe, expect, it } from 'vitest';
import {
  SAFETY_CEILING,
  accumulateLevels,
  dbfsToLinear,
  emptyLevelStats,
  interleaveWithGain,
  normalizationGain,
  rmsOf,
} from '../../src/audio/loudness.js';

describe('loudness normalisation', () => {
  it('GIVEN a stock-level peak of 0.1 WHEN the gain is chosen THEN the peak lands at −1 dBFS', () => {
    const gain = normalizationGain(0.1);
    expect(0.1 * gain).toBeCloseTo(dbfsToLinear(-1), 6);
    expect(normalizationGain(0.5, { targetPeakDbfs: -3 }) * 0.5).toBeCloseTo(dbfsToLinear(-3), 6);
  });

  it('GIVEN silence or near-silence WHEN the gain is chosen THEN it is not blown up into noise', () => {
    expect(normalizationGain(0)).toBe(1);
    expect(normalizationGain(5e-5)).toBe(1);
    expect(normalizationGain(Number.NaN)).toBe(1);
    expect(normalizationGain(0.001)).toBe(100); // capped at +40 dB
  });

  it('GIVEN a positive target WHEN the gain is chosen THEN it is clamped to 0 dBFS', () => {
    expect(normalizationGain(0.5, { targetPeakDbfs: 6 }) * 0.5).toBeCloseTo(1, 6);
  });

  it('GIVEN two channels WHEN measured THEN peak and RMS cover both', () => {
    const stats = emptyLevelStats();
    accumulateLevels(stats, Float32Array.from([0.1, -0.3]));
    accumulateLevels(stats, Float32Array.from([0.2, 0.0]));
    expect(stats.peak).toBeCloseTo(0.3, 6);
    expect(rmsOf(stats)).toBeCloseTo(Math.sqrt((0.01 + 0.09 + 0.04) / 4), 6);
  });

  it('GIVEN samples that would exceed the ceiling WHEN interleaved with gain THEN they are limited and channels alternate', () => {
    const out = interleaveWithGain(Float32Array.from([0.5, -0.1]), Float32Array.from([-0.9, 0.2]), 2, new Float32Array(4));
    expect(Array.from(out)).toEqual([SAFETY_CEILING, -SAFETY_CEILING, -0.2, 0.4].map((v) => Math.fround(v)));
  });
});
