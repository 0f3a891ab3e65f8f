/**
 * `npm run compose` as a user runs it on a fresh clone: the shipped model, the real CLI process, and
 * the files it writes read back.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { readMidi, writeMidi } from '../../src/music/midi-io.js';
import { countNoteEvents, emptySequence } from '../../src/music/note-sequence.js';
import { runCli } from '../support/run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-compose-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run compose', () => {
  it('GIVEN --length 100 --json WHEN run with the shipped model THEN 100 notes-or-chords with varied rhythm, a playable mp3 and a png', async () => {
    const out = join(dir, 'ok');
    const { code, stdout, stderr } = await runCli('compose', ['--length', '100', '--json', '--out', out, '--random-seed', '11']);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { midiPath: string; mp3Path: string; pngPath: string; generatedEvents: number; modelName: string };
    expect(summary.generatedEvents).toBe(100);
    expect(summary.modelName).toBe('motif-default');
    const midi = readMidi(new Uint8Array(await readFile(summary.midiPath)));
    expect(countNoteEvents(midi)).toBe(100);
    const durations = new Set(midi.notes.map((n) => n.endStep - n.startStep));
    const onsets = [...new Set(midi.notes.map((n) => n.startStep))].sort((a, b) => a - b);
    const interOnsets = new Set(onsets.slice(1).map((s, i) => s - onsets[i]!));
    expect(durations.size).toBeGreaterThanOrEqual(3);
    expect(interOnsets.size).toBeGreaterThanOrEqual(3);
    const audio = await decodeAudio(summary.mp3Path);
    expect(audio.durationSeconds).toBeGreaterThan(5);
    expect((await readFile(summary.pngPath)).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect((await readdir(out)).length).toBe(3);
  }, 120_000);

  it('GIVEN an unknown model or a seed without notes WHEN run THEN exit 1 with a plain message and nothing written', async () => {
    const out = join(dir, 'bad');
    const empty = join(dir, 'empty.mid');
    await writeFile(empty, writeMidi(emptySequence()));
    // Pitches 5–8 lie below the piano range the shipped model's vocabulary spells.
    const subsonic = join(dir, 'subsonic.mid');
    const low = emptySequence();
    low.notes = [5, 6, 7, 8].map((pitch, i) => ({ pitch, velocity: 80, startStep: i * 4, endStep: i * 4 + 4, program: 0, isDrum: false, track: 0 }));
    low.totalSteps = 16;
    await writeFile(subsonic, writeMidi(low));
    const cases: [string[], RegExp][] = [
      [['--model', join(dir, 'no-such-model')], /No model was found/],
      [['--seed', empty], /no pitched notes/],
      [['--seed', subsonic], /4 of the seed’s notes lie outside the pitches the model knows/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli('compose', [...args, '--out', out]);
      expect(code, args.join(' ')).toBe(1);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/at .*\.ts:\d+/);
    }
    // Not even an empty folder: the run created it, and took it back when it failed.
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
