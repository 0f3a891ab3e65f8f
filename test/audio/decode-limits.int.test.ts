/**
 * The ffmpeg that decodes user uploads runs with limits: size before it starts, duration while it
 * runs, wall-clock time, and only the audio formats we accept. Tested with crafted files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';

/** A 16-bit mono PCM WAV whose header claims `declaredBytes` of data, followed by `seconds` of a quiet tone. */
function craftedWav(opts: { sampleRateHz: number; seconds: number; declaredBytes: number }): Buffer {
  const frames = Math.round(opts.sampleRateHz * opts.seconds);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(Math.min(0xffffffff, opts.declaredBytes + 36), 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(opts.sampleRateHz, 24);
  header.writeUInt32LE(opts.sampleRateHz * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(Math.min(0xffffffff, opts.declaredBytes), 40);
  const data = Buffer.alloc(frames * 2);
  for (let i = 0; i < frames; i++) data.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / opts.sampleRateHz)), i * 2);
  return Buffer.concat([header, data]);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-decode-limits-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decodeAudio limits on untrusted uploads', () => {
  it('GIVEN a WAV whose header declares 37 hours but holds 2 s WHEN decoded THEN 2 s of audio, the header is not believed', async () => {
    const path = join(dir, 'claims-hours.wav');
    await writeFile(path, craftedWav({ sampleRateHz: 16_000, seconds: 2, declaredBytes: 0xfffffff0 }));
    const audio = await decodeAudio(path);
    expect(audio.durationSeconds).toBeGreaterThan(1.9);
    expect(audio.durationSeconds).toBeLessThan(2.1);
  });

  it('GIVEN a WAV that really lasts 40 s (header saying hours) and a 10 s limit WHEN decoded THEN AUDIO_TOO_LONG, cut off while decoding', async () => {
    const path = join(dir, 'long.wav');
    await writeFile(path, craftedWav({ sampleRateHz: 8_000, seconds: 40, declaredBytes: 0xfffffff0 }));
    await expect(decodeAudio(path, { maxDurationSeconds: 10 })).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG', userMessage: 'That audio is too long (limit 10 seconds).' });
  });

  it('GIVEN a file over the size limit WHEN decoded THEN AUDIO_TOO_LARGE before ffmpeg starts (even with a bogus ffmpeg path)', async () => {
    const path = join(dir, 'big.wav');
    await writeFile(path, craftedWav({ sampleRateHz: 8_000, seconds: 10, declaredBytes: 160_000 }));
    await expect(decodeAudio(path, { maxBytes: 100_000, ffmpegPath: join(dir, 'no-ffmpeg') })).rejects.toMatchObject({ code: 'AUDIO_TOO_LARGE' });
  });

  it('GIVEN a decode time limit too short for any file WHEN decoded THEN AUDIO_DECODE_TIMEOUT and ffmpeg is stopped', async () => {
    const path = join(dir, 'timeout.wav');
    await writeFile(path, craftedWav({ sampleRateHz: 48_000, seconds: 60, declaredBytes: 0xfffffff0 }));
    await expect(decodeAudio(path, { maxDecodeMs: 1 })).rejects.toMatchObject({ code: 'AUDIO_DECODE_TIMEOUT' });
  });

  it('GIVEN a concat playlist that points at another local file WHEN decoded THEN AUDIO_INVALID: only audio containers are read', async () => {
    const target = join(dir, 'secret.wav');
    await writeFile(target, craftedWav({ sampleRateHz: 8_000, seconds: 1, declaredBytes: 16_000 }));
    const playlist = join(dir, 'playlist.wav');
    await writeFile(playlist, `ffconcat version 1.0\nfile '${target}'\n`);
    await expect(decodeAudio(playlist)).rejects.toMatchObject({ code: 'AUDIO_INVALID' });
    const hls = join(dir, 'list.mp3');
    await writeFile(hls, `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://${target}\n#EXT-X-ENDLIST\n`);
    await expect(decodeAudio(hls)).rejects.toMatchObject({ code: 'AUDIO_INVALID' });
  });
});
