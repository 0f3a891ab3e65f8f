import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultFfmpegPath } from '../../src/audio/ffmpeg.js';
import { composePiece } from '../../src/jobs/compose.js';
import { readMidi } from '../../src/music/midi-io.js';
import { countNoteEvents } from '../../src/music/note-sequence.js';
import { tinyTune, trainTinyModel } from '../support/tiny-model.js';

const run = promisify(execFile);
let modelDir: string;

async function mp3Seconds(path: string): Promise<number> {
  // ffmpeg prints the decoded duration on stderr; decoding the whole file proves it is valid audio.
  const { stderr } = await run(defaultFfmpegPath(), ['-hide_banner', '-i', path, '-f', 'null', '-'], { maxBuffer: 1 << 24 });
  const times = [...stderr.matchAll(/time=(\d+):(\d+):(\d+\.\d+)/g)];
  const last = times[times.length - 1]!;
  return Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]);
}

describe('composePiece (sample → MIDI → mp3 + png)', () => {
  beforeAll(async () => {
    modelDir = await trainTinyModel();
  });

  it('GIVEN length 100 THEN a MIDI with exactly 100 notes-or-chords, an mp3 as long as the music, and a piano-roll PNG', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'motif-compose-'));
    const result = await composePiece({ length: 100, modelDir, outDir, randomSeed: 4, baseName: 'piece' });
    const midi = readMidi(new Uint8Array(await readFile(result.midiPath)));
    expect(countNoteEvents(midi)).toBe(100);
    expect(result.generatedEvents).toBe(100);
    const seconds = await mp3Seconds(result.mp3Path);
    expect(seconds).toBeGreaterThan(result.durationSeconds);
    expect(seconds).toBeLessThan(result.durationSeconds + 4);
    const png = await readFile(result.pngPath);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect((await readdir(outDir)).sort()).toEqual(['piece.mid', 'piece.mp3', 'piece.png']);
  });

  it('GIVEN a compose WHEN it runs THEN the MIDI and piano roll are reported (and exist) before any audio, and the audio comes last', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'motif-compose-first-'));
    const seen: Array<{ stage: string; files: string[]; first: boolean }> = [];
    const result = await composePiece(
      { length: 40, modelDir, outDir, randomSeed: 5, baseName: 'p', maxAudioBytes: 10 * 1024 * 1024 },
      { reportProgress: (p) => seen.push({ stage: p.stage, files: existsSync(outDir) ? readdirSync(outDir).filter((f) => !f.startsWith('.')).sort() : [], first: p.firstFiles !== undefined }) },
    );
    const first = seen.filter((s) => s.first);
    expect(first).toHaveLength(1);
    expect(first[0]!.files).toEqual(['p.mid', 'p.png']);
    expect(result.timingsMs.firstFiles).toBeLessThan(result.timingsMs.total);
    expect(result.audio).toMatchObject({ format: 'mp3', bitrateKbps: 192 });
    expect((await readdir(outDir)).sort()).toEqual(['p.mid', 'p.mp3', 'p.png']);
  });

  it('GIVEN an attachment limit too small for any audio THEN MIDI and piano roll are still written and audioSkipped says why', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'motif-compose-small-'));
    const result = await composePiece({ length: 40, modelDir, outDir, randomSeed: 5, baseName: 'p', maxAudioBytes: 20_000 });
    expect(result.mp3Path).toBe('');
    expect(result.audio).toBeUndefined();
    expect(result.audioSkipped).toMatch(/^No audio: at .* it would not fit this server's 20 KB upload limit/);
    expect((await readdir(outDir)).sort()).toEqual(['p.mid', 'p.png']);
  });

  it('GIVEN a seed THEN the written MIDI holds the seed and the continuation', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'motif-compose-'));
    const seed = tinyTune(2);
    const result = await composePiece({ length: 20, modelDir, outDir, randomSeed: 1, seed, baseName: 'continued', withOpus: true });
    const midi = readMidi(new Uint8Array(await readFile(result.midiPath)));
    expect(countNoteEvents(midi)).toBe(countNoteEvents(seed) + 20);
    expect(result.opusPath && existsSync(result.opusPath)).toBeTruthy();
  });

  it.each([
    [{ length: 0 }, 'length'],
    [{ length: 2001 }, 'length'],
    [{ length: 10, temperature: 0 }, 'temperature'],
    [{ length: 10, qpm: 1000 }, 'tempo'],
  ])('GIVEN %o THEN OPTION_OUT_OF_RANGE naming %s, and nothing is written', async (options, name) => {
    const outDir = await mkdtemp(join(tmpdir(), 'motif-compose-'));
    await expect(composePiece({ ...options, modelDir, outDir })).rejects.toMatchObject({
      code: 'OPTION_OUT_OF_RANGE',
      userMessage: expect.stringContaining(name),
    });
    expect(await readdir(outDir)).toEqual([]);
  });

  it('GIVEN an unknown model folder THEN MODEL_NOT_FOUND and nothing is written', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'motif-compose-'));
    await expect(composePiece({ length: 5, modelDir: join(outDir, 'missing'), outDir })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(await readdir(outDir)).toEqual([]);
  });
});
