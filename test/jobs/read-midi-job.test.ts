import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReadMidiJobResult, readMidiJob } from '../../src/jobs/read-midi-job.js';
import { smf, scaleTrack } from '../music/midi-craft.js';

const dir = mkdtempSync(join(tmpdir(), 'motif-read-midi-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ctx = { signal: new AbortController().signal, reportProgress: () => undefined, log: () => undefined };

describe('the read-midi job (uploaded MIDI is read in a worker)', () => {
  it('GIVEN an uploaded MIDI file WHEN read THEN the summary and, when asked, the sequence come back and pass the re-entry schema', async () => {
    const path = join(dir, 'scale.mid');
    writeFileSync(path, smf([scaleTrack([60, 62, 64, 65])]));
    const summary = parseReadMidiJobResult(await readMidiJob({ path, maxBytes: 1_000_000, withSequence: false }, ctx));
    expect(summary).toEqual({ noteCount: 4, totalSteps: 16 });
    const full = parseReadMidiJobResult(await readMidiJob({ path, maxBytes: 1_000_000, withSequence: true }, ctx));
    expect(full.sequence?.notes.map((n) => n.pitch)).toEqual([60, 62, 64, 65]);
  });

  it('GIVEN the hostile RMID, an empty MIDI or a file over the limit WHEN read THEN the MotifError says why', async () => {
    const hostile = join(dir, 'hostile.mid');
    writeFileSync(hostile, Buffer.from([...Buffer.from('RIFF'), 12, 0, 0, 0, ...Buffer.from('RMIDJUNK'), 0xf8, 0xff, 0xff, 0xff]));
    await expect(readMidiJob({ path: hostile, maxBytes: 1_000_000, withSequence: true }, ctx)).rejects.toMatchObject({ code: 'MIDI_INVALID' });
    const empty = join(dir, 'empty.mid');
    writeFileSync(empty, smf([[0, 0xff, 0x2f, 0]]));
    await expect(readMidiJob({ path: empty, maxBytes: 1_000_000, withSequence: true }, ctx)).rejects.toMatchObject({ code: 'MIDI_EMPTY' });
    await expect(readMidiJob({ path: hostile, maxBytes: 10, withSequence: true }, ctx)).rejects.toMatchObject({ code: 'MIDI_TOO_LARGE' });
  });

  it('GIVEN a malformed answer from a worker WHEN it re-enters the main thread THEN it is rejected', () => {
    expect(() => parseReadMidiJobResult({ noteCount: 0, totalSteps: 1 })).toThrow(/malformed/);
    expect(() => parseReadMidiJobResult({ noteCount: 1, totalSteps: 4, sequence: { notes: [{ pitch: 300 }] } })).toThrow(/malformed/);
  });
});
