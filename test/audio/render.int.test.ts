import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { renderPiece } from '../../src/audio/render-piece.js';
import { preloadSoundfonts } from '../../src/audio/soundfonts.js';
import { durationSeconds, emptySequence } from '../../src/music/note-sequence.js';
import { decodeStereo, peakOf, rmsBetween, rmsOf, smallPiece } from './render-helpers.js';

const TAIL_SECONDS = 1.5;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-render-'));
  preloadSoundfonts();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshDir(name: string): Promise<string> {
  const d = join(dir, name);
  await rm(d, { recursive: true, force: true });
  return d;
}

describe('renderPiece', () => {
  it('GIVEN a two-track piece WHEN rendered THEN the mp3 decodes, lasts the piece plus the tail, is audible and does not clip', async () => {
    const seq = smallPiece(2);
    const out = await freshDir('basic');
    const result = await renderPiece(seq, { outDir: out, baseName: 'piece' });

    expect(result.audioPath!).toBe(join(out, 'piece.mp3'));
    expect(result.noteCount).toBe(seq.notes.length);
    const audio = await decodeStereo(result.audioPath!);
    expect(audio.streamInfo).toMatch(/mp3, 32000 Hz, stereo/); // 32 kHz: see MP3_SAMPLE_RATE_HZ
    expect(Math.abs(audio.durationSeconds - (durationSeconds(seq) + TAIL_SECONDS))).toBeLessThanOrEqual(0.3);
    const rms = rmsOf(audio.left, audio.right);
    expect(20 * Math.log10(rms)).toBeGreaterThan(-30); // stock synth output sits near −40 dBFS RMS
    expect(peakOf(audio.left, audio.right)).toBeLessThanOrEqual(0.99);
    expect(peakOf(audio.left, audio.right)).toBeGreaterThan(0.5); // normalised, not left at ~0.1
    // Sound while the piece plays; the tail decays.
    expect(rmsBetween(audio, 0.1, 3.9)).toBeGreaterThan(rmsBetween(audio, 4.9, 5.4) * 4);
    expect((await readdir(out)).sort()).toEqual(['piece.mp3', 'piece.png']);
  });

  it('GIVEN a sequence with no notes WHEN rendered THEN the mp3 is silence of the right length, not amplified noise', async () => {
    const seq = { ...emptySequence(), totalSteps: 16 }; // two seconds of rests at 120 qpm
    const out = await freshDir('silent');
    const result = await renderPiece(seq, { outDir: out, baseName: 'rests' });
    expect(result.gain).toBe(1);
    const audio = await decodeStereo(result.audioPath!);
    expect(Math.abs(audio.durationSeconds - (2 + TAIL_SECONDS))).toBeLessThanOrEqual(0.3);
    expect(peakOf(audio.left, audio.right)).toBeLessThan(1e-3);
  });

  it('GIVEN ogg:true WHEN rendered THEN an Ogg/Opus file at 48 kHz stereo decodes to the same length', async () => {
    const seq = smallPiece(1);
    const out = await freshDir('ogg');
    const result = await renderPiece(seq, { outDir: out, baseName: 'voice', ogg: true, pianoRoll: false });
    expect(result.oggPath).toBe(join(out, 'voice.ogg'));
    const head = await readFile(result.oggPath!);
    expect(head.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(head.includes(Buffer.from('OpusHead'))).toBe(true);
    const audio = await decodeStereo(result.oggPath!);
    expect(audio.streamInfo).toMatch(/opus, 48000 Hz, stereo/);
    expect(Math.abs(audio.durationSeconds - (durationSeconds(seq) + TAIL_SECONDS))).toBeLessThanOrEqual(0.3);
    expect(20 * Math.log10(rmsOf(audio.left, audio.right))).toBeGreaterThan(-30);
    expect(peakOf(audio.left, audio.right)).toBeLessThanOrEqual(0.99);
    expect((await readdir(out)).sort()).toEqual(['voice.mp3', 'voice.ogg']);

    const voiceOnly = await freshDir('ogg-only');
    const only = await renderPiece(seq, { outDir: voiceOnly, baseName: 'voice', audio: false, ogg: true, pianoRoll: false });
    expect(only.audioPath).toBeUndefined();
    expect(await readdir(voiceOnly)).toEqual(['voice.ogg']);
  });

  it('GIVEN the same piece twice WHEN rendered THEN the mp3 files are identical (the gain comes from the notes, not from timing)', async () => {
    const seq = smallPiece(2);
    const out = await freshDir('deterministic');
    const once = await renderPiece(seq, { outDir: out, baseName: 'a', pianoRoll: false });
    const twice = await renderPiece(seq, { outDir: out, baseName: 'b', pianoRoll: false });
    expect(twice.gain).toBe(once.gain);
    expect(Buffer.compare(await readFile(once.audioPath!), await readFile(twice.audioPath!))).toBe(0);
  });

  it('GIVEN a piece longer than the limit WHEN rendered THEN MIDI_LIMIT_EXCEEDED and nothing is written', async () => {
    const seq = smallPiece(8); // 16 s
    const out = await freshDir('too-long');
    await expect(renderPiece(seq, { outDir: out, baseName: 'long', maxDurationSeconds: 10 })).rejects.toMatchObject({
      code: 'MIDI_LIMIT_EXCEEDED',
    });
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('GIVEN an ffmpeg that fails WHEN rendering THEN FFMPEG_FAILED with a user message and the folder stays empty', async () => {
    const fake = join(dir, 'fake-ffmpeg.sh');
    await writeFile(fake, '#!/bin/sh\necho "simulated encoder crash" >&2\nexit 1\n');
    await chmod(fake, 0o755);
    const out = await freshDir('ffmpeg-fails');
    const error = await renderPiece(smallPiece(1), { outDir: out, baseName: 'x', ffmpegPath: fake, ogg: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotifError);
    expect((error as MotifError).code).toBe('FFMPEG_FAILED');
    expect((error as MotifError).userMessage).toMatch(/ffmpeg/);
    expect(await readdir(out)).toEqual([]);

    const missing = await renderPiece(smallPiece(1), { outDir: out, baseName: 'x', ffmpegPath: join(dir, 'no-such-ffmpeg') }).catch((e: unknown) => e);
    expect((missing as MotifError).code).toBe('FFMPEG_FAILED');
    expect(await readdir(out)).toEqual([]);
  });

  it('GIVEN an aborted signal WHEN rendering THEN JOB_CANCELLED and nothing is written', async () => {
    const out = await freshDir('aborted');
    const controller = new AbortController();
    controller.abort();
    await expect(renderPiece(smallPiece(1), { outDir: out, baseName: 'x', signal: controller.signal })).rejects.toMatchObject({
      code: 'JOB_CANCELLED',
    });
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('GIVEN a render under way WHEN the signal aborts during encoding THEN JOB_CANCELLED and no file, final or temporary, remains', async () => {
    const out = await freshDir('aborted-midway');
    const controller = new AbortController();
    const promise = renderPiece(smallPiece(8), {
      outDir: out,
      baseName: 'x',
      ogg: true,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'encoding') controller.abort();
      },
    });
    await expect(promise).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect(await readdir(out)).toEqual([]);
  });

  it('GIVEN a base name with a path in it WHEN rendering THEN OPTION_OUT_OF_RANGE', async () => {
    await expect(renderPiece(smallPiece(1), { outDir: dir, baseName: '../escape' })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
  });
});
