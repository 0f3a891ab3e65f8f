import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMidiFile } from '../../src/music/midi-io.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import { renderWav } from '../support/render-wav.js';
import { runCli } from '../support/run-cli.js';

let dir: string;

/** Four quarter notes of a C-major arpeggio at 120 qpm: 2 s of piano. */
function arpeggio(): NoteSequence {
  const seq = emptySequence({ qpm: 120, stepsPerQuarter: 4 });
  seq.notes = [60, 64, 67, 72].map((pitch, i) => ({ pitch, velocity: 90, startStep: i * 4, endStep: i * 4 + 4, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = 16;
  return seq;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-transcribe-cli-'));
  await writeFile(join(dir, 'arpeggio.wav'), renderWav(arpeggio()));
  await writeFile(join(dir, 'noise.mp3'), Buffer.from('this is text with an mp3 name '.repeat(50)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run transcribe', () => {
  it('GIVEN a piano recording and --json WHEN run THEN it writes <name>.mid holding the notes and the last stdout line describes it', async () => {
    const out = join(dir, 'out');
    const { code, stdout, stderr } = await runCli('transcribe', [join(dir, 'arpeggio.wav'), '--out', out, '--json']);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { midiPath: string; noteCount: number; durationSeconds: number };
    expect(summary.midiPath).toBe(join(out, 'arpeggio.mid'));
    expect(summary.durationSeconds).toBeCloseTo(2.5, 1);
    const midi = await readMidiFile(summary.midiPath);
    expect(midi.notes.length).toBe(summary.noteCount);
    expect(new Set(midi.notes.map((n) => n.pitch))).toEqual(new Set([60, 64, 67, 72]));
  });

  it('GIVEN FFMPEG_PATH, MAX_AUDIO_SECONDS or a file that is not audio WHEN run THEN exit 1 with a plain message and no output', async () => {
    const out = join(dir, 'bad');
    const input = join(dir, 'arpeggio.wav');
    const noFfmpeg = await runCli('transcribe', [input, '--out', out], { FFMPEG_PATH: join(dir, 'no-such-ffmpeg') });
    expect(noFfmpeg.code).toBe(1);
    expect(noFfmpeg.stderr).toMatch(/ffmpeg\) could not be found/);
    const tooLong = await runCli('transcribe', [input, '--out', out], { MAX_AUDIO_SECONDS: '1' });
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/too long \(limit 1 second\)/);
    const notAudio = await runCli('transcribe', [join(dir, 'noise.mp3'), '--out', out]);
    expect(notAudio.code).toBe(1);
    expect(notAudio.stderr).toMatch(/could not decode this file as audio/);
    expect(notAudio.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });
});
