import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMidi } from '../../src/music/midi-io.js';
import { runCli } from '../support/run-cli.js';
import { decodeStereo, smallPiece } from './render-helpers.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-render-cli-'));
  await writeFile(join(dir, 'tune.mid'), writeMidi(smallPiece(2)));
  await writeFile(join(dir, 'not-midi.mid'), 'hello, this is text');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run render', () => {
  it('GIVEN a MIDI file and --json WHEN run THEN it writes <name>.mp3 and <name>.png and the last stdout line describes them', async () => {
    const out = join(dir, 'out');
    const { code, stdout } = await runCli('render', [join(dir, 'tune.mid'), '--out', out, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(summary).toMatchObject({ mp3Path: join(out, 'tune.mp3'), pngPath: join(out, 'tune.png'), noteCount: 10, soundfont: 'FluidR3Mono_GM' });
    expect(summary.durationSeconds).toBeCloseTo(4 + 1.5, 2);
    expect(Object.keys(summary.timingsMs as object)).toEqual(expect.arrayContaining(['synthesize', 'encode', 'total']));
    expect((await readdir(out)).sort()).toEqual(['tune.mp3', 'tune.png']);
    expect((await decodeStereo(join(out, 'tune.mp3'))).durationSeconds).toBeCloseTo(5.5, 0);
  });

  it('GIVEN an unknown --soundfont or a file that is not MIDI WHEN run THEN exit 1 with a plain message and no output files', async () => {
    const out = join(dir, 'bad');
    const unknown = await runCli('render', [join(dir, 'tune.mid'), '--out', out, '--soundfont', 'NoSuchFont']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/There is no SoundFont called "NoSuchFont"\. Available: .*FluidR3Mono_GM/);
    const notMidi = await runCli('render', [join(dir, 'not-midi.mid'), '--out', out]);
    expect(notMidi.code).toBe(1);
    expect(notMidi.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });
});
