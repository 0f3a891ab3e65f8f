import { describe, expect, it } from 'vitest';
import { PeakLimiter, RAW_PEAK_PER_LOUDNESS, dbfsToLinear, estimateRawPeak, gainFromNotes } from '../../src/audio/loudness.js';
import type { Note } from '../../src/music/note-sequence.js';

const RATE = 44_100;

/** Runs the limiter over `left`/`right` in chunks of `chunk` frames; returns the interleaved output. */
function runLimiter(left: Float32Array, right: Float32Array, gain: number, chunk: number, opts: { ceilingDbfs?: number } = {}): Float32Array {
  const limiter = new PeakLimiter({ sampleRateHz: RATE, ...opts });
  const parts: Float32Array[] = [];
  for (let i = 0; i < left.length; i += chunk) parts.push(limiter.process(left.subarray(i, i + chunk), right.subarray(i, i + chunk), gain));
  parts.push(limiter.finish());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function sine(frames: number, amplitude: (i: number) => number, hz = 440): Float32Array {
  return Float32Array.from({ length: frames }, (_, i) => amplitude(i) * Math.sin((2 * Math.PI * hz * i) / RATE));
}

const note = (pitch: number, velocity: number, startStep: number, endStep: number): Note => ({ pitch, velocity, startStep, endStep, program: 0, isDrum: false, track: 0 });

describe('PeakLimiter', () => {
  it('GIVEN bursts far over full scale in any chunking WHEN limited THEN no output sample exceeds the ceiling and every frame comes out once', () => {
    const frames = RATE; // 1 s
    // Quiet, then a sudden burst to 8× full scale, then quiet again: the hardest case for look-ahead.
    const left = sine(frames, (i) => (i > 20_000 && i < 20_300 ? 8 : 0.2));
    const right = sine(frames, (i) => (i > 30_000 && i < 30_010 ? -5 : 0.1), 660);
    const ceiling = dbfsToLinear(-1);
    for (const chunk of [1, 127, 4096, frames]) {
      const out = runLimiter(left, right, 1, chunk);
      expect(out.length).toBe(frames * 2);
      let peak = 0;
      for (const s of out) peak = Math.max(peak, Math.abs(s));
      expect(peak).toBeLessThanOrEqual(ceiling + 1e-7);
      expect(peak).toBeGreaterThan(ceiling * 0.95); // limited to the ceiling, not crushed below it
    }
  });

  it('GIVEN audio under the ceiling WHEN limited THEN it passes unchanged, only delayed by the look-ahead', () => {
    const left = sine(10_000, () => 0.5);
    const right = sine(10_000, () => 0.25, 330);
    const limiter = new PeakLimiter({ sampleRateHz: RATE });
    const first = limiter.process(left, right, 1);
    const rest = limiter.finish();
    expect(first.length / 2).toBe(10_000 - limiter.latencyFrames);
    const out = new Float32Array([...first, ...rest]);
    for (let i = 0; i < 10_000; i++) {
      expect(out[2 * i]).toBe(left[i]);
      expect(out[2 * i + 1]).toBe(right[i]);
    }
    expect(limiter.minGain).toBe(1);
  });

  it('GIVEN a gain WHEN limited THEN it is applied before the ceiling', () => {
    const left = sine(4_000, () => 0.1);
    const out = runLimiter(left, left, 4, 512);
    let peak = 0;
    for (const s of out) peak = Math.max(peak, Math.abs(s));
    expect(peak).toBeCloseTo(0.4, 2);
  });

  it('GIVEN a peak WHEN limited THEN the gain slides down before it and recovers after it (no step, no lasting dip)', () => {
    const frames = 40_000;
    const left = new Float32Array(frames).fill(0.5);
    left[10_000] = 2; // one sample 4× louder
    const out = runLimiter(left, left, 1, 1000);
    const gainAt = (i: number): number => out[2 * i]! / left[i]!;
    expect(gainAt(10_000)).toBeLessThanOrEqual(dbfsToLinear(-1) / 2 + 1e-6);
    // The gain changes by small steps while it slides down over the 5 ms look-ahead.
    for (let i = 9_700; i < 10_000; i++) expect(Math.abs(gainAt(i + 1) - gainAt(i))).toBeLessThan(0.01);
    expect(gainAt(9_000)).toBe(1);
    expect(gainAt(frames - 1)).toBeGreaterThan(0.99); // released: 0.68 s is 4.5 release time constants
  });
});

describe('gain from the notes', () => {
  it('GIVEN louder and denser notes WHEN estimated THEN the predicted peak grows with velocity and with notes sounding together', () => {
    const soft = estimateRawPeak({ notes: [note(60, 40, 0, 4)] });
    const loud = estimateRawPeak({ notes: [note(60, 120, 0, 4)] });
    const chord = estimateRawPeak({ notes: [60, 64, 67, 72].map((p) => note(p, 120, 0, 4)) });
    const arpeggio = estimateRawPeak({ notes: [60, 64, 67, 72].map((p, i) => note(p, 120, i * 4, i * 4 + 4)) });
    expect(soft).toBeLessThan(loud);
    expect(chord).toBeCloseTo(2 * loud, 6); // four equal notes add incoherently: √4 = 2
    expect(arpeggio).toBeCloseTo(loud, 6); // back-to-back notes never sound together
    expect(estimateRawPeak({ notes: [note(60, 127, 0, 4)] })).toBeCloseTo(RAW_PEAK_PER_LOUDNESS, 6);
    expect(estimateRawPeak({ notes: [] })).toBe(0);
    expect(gainFromNotes({ notes: [] })).toBe(1);
    expect(gainFromNotes({ notes: [note(60, 120, 0, 4)] })).toBeGreaterThan(gainFromNotes({ notes: [60, 64, 67, 72].map((p) => note(p, 120, 0, 4)) }));
  });
});
