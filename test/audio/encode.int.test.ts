import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEncoder } from '../../src/audio/encode.js';
import { decodeStereo, peakOf } from './render-helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-encode-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `seconds` of a 440 Hz sine at `amplitude` on the left channel and half of it on the right. */
function sine(seconds: number, amplitude: number, rateHz = 44_100): Float32Array {
  const frames = Math.round(seconds * rateHz);
  const out = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    const s = amplitude * Math.sin((2 * Math.PI * 440 * i) / rateHz);
    out[2 * i] = s;
    out[2 * i + 1] = s / 2;
  }
  return out;
}

/** Dominant frequency by counting upward zero crossings (enough for a pure tone). */
function zeroCrossingHz(samples: Float32Array, rateHz: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings++;
  return crossings / (samples.length / rateHz);
}

describe('startEncoder', () => {
  it('GIVEN 2 s of a 440 Hz tone written in chunks WHEN encoded to mp3 and committed THEN it decodes to the same tone, level and length', async () => {
    const out = join(dir, 'tone.mp3');
    const encoder = startEncoder({ format: 'mp3', outPath: out, inputSampleRateHz: 44_100 });
    const pcm = sine(2, 0.5);
    for (let i = 0; i < pcm.length; i += 8192) await encoder.write(pcm.subarray(i, i + 8192));
    await encoder.finish();
    expect(await readdir(dir)).not.toContain('tone.mp3'); // not visible before commit
    await encoder.commit();
    const audio = await decodeStereo(out);
    expect(Math.abs(audio.durationSeconds - 2)).toBeLessThan(0.1);
    expect(peakOf(audio.left)).toBeGreaterThan(0.45);
    expect(peakOf(audio.left)).toBeLessThan(0.55);
    expect(peakOf(audio.right)).toBeLessThan(0.3);
    expect(Math.abs(zeroCrossingHz(audio.left, audio.sampleRateHz) - 440)).toBeLessThan(5);
  });

  it('GIVEN a 44.1 kHz tone WHEN encoded to Ogg/Opus THEN it is resampled to 48 kHz and keeps its pitch', async () => {
    const out = join(dir, 'tone.ogg');
    const encoder = startEncoder({ format: 'ogg-opus', outPath: out, inputSampleRateHz: 44_100 });
    await encoder.write(sine(1, 0.5));
    await encoder.finish();
    await encoder.commit();
    const audio = await decodeStereo(out);
    expect(audio.streamInfo).toMatch(/opus, 48000 Hz, stereo/);
    expect(Math.abs(audio.durationSeconds - 1)).toBeLessThan(0.1);
    expect(Math.abs(zeroCrossingHz(audio.left.subarray(4800), 48_000) - 440)).toBeLessThan(5);
  });

  it('GIVEN an encoder in the middle of its work WHEN discarded THEN no file, final or temporary, remains', async () => {
    const sub = join(dir, 'discard');
    await (await import('node:fs/promises')).mkdir(sub);
    const encoder = startEncoder({ format: 'mp3', outPath: join(sub, 'gone.mp3'), inputSampleRateHz: 44_100 });
    await encoder.write(sine(0.5, 0.3));
    await encoder.discard();
    await encoder.discard();
    expect(await readdir(sub)).toEqual([]);
  });
});
