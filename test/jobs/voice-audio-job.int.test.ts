/**
 * The voice-audio job on a worker that shares no disk with the bot: it renders the result's
 * Ogg/Opus into a scratch folder and hands it over through the PostgreSQL blob store; the bot's
 * result folder is never touched by the worker.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { voiceAudioJob } from '../../src/jobs/voice-audio-job.js';
import { jobBlobStore } from '../../src/jobs/job-blobs.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import { POSTGRES_URL, dropSchema, postgresReachable, uniqueSchema, withPostgres } from '../support/postgres.js';

const describePostgres = await withPostgres('voice audio through the blob store (test/jobs/voice-audio-job.int.test.ts)');
const schema = uniqueSchema('voice-audio');
const scratch = mkdtempSync(join(tmpdir(), 'motif-voice-test-'));
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  if (await postgresReachable()) await dropSchema(schema);
});

function scale(): NoteSequence {
  const seq = emptySequence();
  seq.notes = [60, 62, 64, 65, 67].map((pitch, i) => ({ pitch, velocity: 90, startStep: i * 4, endStep: i * 4 + 4, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = 20;
  return seq;
}

describePostgres('voice audio rendered on a worker with its own disk', () => {
  it('GIVEN a result the worker has never seen WHEN its voice audio is rendered THEN the Ogg/Opus goes to the blob store under the result key, and the result names where the bot keeps its copy', async () => {
    const botDir = join(scratch, 'bot', 'guilds', '1', 'results', 'ab12cd34');
    const oggKey = 'guilds/1/results/ab12cd34/motif-ab12cd34-voice.ogg';
    const blobs = { url: POSTGRES_URL, dataDir: join(scratch, 'worker'), schema };
    const audio = await voiceAudioJob(
      { source: { id: 'ab12cd34', dir: botDir, midiPath: join(botDir, 'motif-ab12cd34.mid'), sequence: scale() }, settings: {}, oggKey, blobs },
      { signal: new AbortController().signal, reportProgress: () => undefined, log: () => undefined },
    );
    expect(audio).toEqual({ oggPath: join(botDir, basename(oggKey)), rendered: true });
    // The worker wrote nothing where the bot keeps its files: the bot fetches the copy by key.
    expect(existsSync(botDir)).toBe(false);
    const stored = await (await jobBlobStore(blobs)).get(oggKey);
    expect(stored.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(stored.length).toBeGreaterThan(1000);
  }, 60_000);
});
