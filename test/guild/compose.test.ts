/**
 * Composing for a guild on real storage: SQLite records, the local blob store, and the real queue
 * running the production compose job in a worker thread with the shipped model (length 8 pieces).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  composeLengthFor,
  composePlanSchema,
  discardComposeFiles,
  dropComposeResult,
  fetchResultFiles,
  keepComposeResult,
  seedPart,
  settleComposeResult,
  startGuildCompose,
  type ComposeDeps,
  type ComposeRequest,
} from '../../src/guild/compose.js';
import { MAX_RESULTS_PER_GUILD } from '../../src/storage/result-repo.js';
import { guildKeys } from '../../src/storage/guild-paths.js';
import { GUILD_A, MEMBER, openGuildFixture, resultRecord, scale, withJobs, type GuildFixture } from './guild-fixture.js';

const MODELS_DIR = resolve(import.meta.dirname, '../../models');
const WHO = { userId: MEMBER.userId, channelId: '300000000000000001' };
const REQUEST: ComposeRequest = { length: 8, maxAudioBytes: 10 * 1024 * 1024, withOpus: false, channelId: WHO.channelId };

let f: GuildFixture;
let deps: ComposeDeps & { queue: { close(): Promise<void> } };

/** The job side of the fixture, with the shipped models and compose's limits. */
function composeDeps(opts: { remoteBlobs?: boolean; resultsMaxBytesPerGuild?: number } = {}): typeof deps {
  const jobs = withJobs(f);
  return {
    ...jobs,
    // A BLOB_URL tells the guild layer that workers may not share this disk; this test's store is still the local one.
    jobBlobs: opts.remoteBlobs ? { ...jobs.jobBlobs, url: 'http://127.0.0.1:9/' } : jobs.jobBlobs,
    config: {
      ...f.deps.config,
      ...jobs.config,
      modelsDir: MODELS_DIR,
      maxComposeLength: 2000,
      resultsMaxBytesPerGuild: opts.resultsMaxBytesPerGuild ?? 100 * 1024 * 1024,
    },
  };
}

beforeEach(async () => {
  f = await openGuildFixture();
  deps = composeDeps();
});
afterEach(async () => {
  await deps.queue.close();
  await f.close();
});

describe('starting a compose', () => {
  it('GIVEN guild settings WHEN a member composes THEN the job uses them, and the plan reads back through the stored schema', async () => {
    await deps.storage.settings.update(GUILD_A, { temperature: 0.5, qpm: 90 });
    const { handle, plan } = await startGuildCompose(deps, MEMBER, { ...REQUEST, seedName: 'intro' });

    expect(composePlanSchema.parse(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
    expect(plan.options).toEqual({ length: 8, temperature: 0.5, qpm: 90, seedName: 'intro', seedSteps: undefined, continuedFrom: undefined, style: 'piano' });
    expect(plan.outDir.startsWith(join(f.dataDir, 'guilds', GUILD_A))).toBe(true);
    expect((await deps.queue.list({ guildId: GUILD_A })).map((j) => [j.id, j.label, j.userId])).toEqual([[handle.id, 'compose length 8', MEMBER.userId]]);
    const result = await handle.result;
    expect(result.qpm).toBe(90);
    expect(existsSync(result.midiPath) && result.midiPath.startsWith(plan.outDir)).toBe(true);
  });

  it('GIVEN a seed longer than the limits allow WHEN a member composes THEN it is refused before the queue', async () => {
    const long = scale();
    // One note every 4 steps for 2,500 s at 120 BPM: past the 30-minute limit of a piece.
    long.notes = Array.from({ length: 5000 }, (_, i) => ({ ...long.notes[0]!, startStep: i * 4, endStep: i * 4 + 4 }));
    long.totalSteps = 20_000;
    await expect(startGuildCompose(deps, MEMBER, { ...REQUEST, seed: long })).rejects.toMatchObject({ code: 'MIDI_LIMIT_EXCEEDED' });
    expect(await deps.queue.list({ guildId: GUILD_A })).toEqual([]);
  });

  it('GIVEN an unknown style WHEN a member composes THEN OPTION_OUT_OF_RANGE and nothing is queued', async () => {
    await expect(startGuildCompose(deps, MEMBER, { ...REQUEST, style: 'polka' })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
    expect(await deps.queue.list({ guildId: GUILD_A })).toEqual([]);
  });

  it('GIVEN workers elsewhere (a BLOB_URL) and an uploaded seed WHEN composing starts THEN the seed is stored by key for the worker', async () => {
    await deps.queue.close();
    deps = composeDeps({ remoteBlobs: true });
    const upload = join(f.dataDir, 'upload.mid');
    writeFileSync(upload, Buffer.from('MThd not read here'));
    const { handle, plan } = await startGuildCompose(deps, MEMBER, { ...REQUEST, seedMidiPath: upload });
    await handle.cancel();
    await handle.result.catch(() => undefined);

    const key = `${guildKeys.uploadsPrefix(GUILD_A)}${plan.resultId}-seed.mid`;
    expect((await deps.blobs.get(key)).toString()).toBe('MThd not read here');
    await discardComposeFiles(deps, GUILD_A, plan);
    await expect(deps.blobs.get(key)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('the options a member typed', () => {
  it('GIVEN a guild default length WHEN none is asked THEN it is used, else 100; a length past MAX_COMPOSE_LENGTH or a bad tempo is refused', async () => {
    expect(await composeLengthFor(deps, GUILD_A, {})).toBe(100);
    await deps.storage.settings.update(GUILD_A, { defaultLength: 32 });
    expect(await composeLengthFor(deps, GUILD_A, { temperature: 3 })).toBe(32);
    expect(await composeLengthFor(deps, GUILD_A, { length: 2000 })).toBe(2000);
    await expect(composeLengthFor(deps, GUILD_A, { length: 2001 })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
    await expect(composeLengthFor(deps, GUILD_A, { qpm: 301 })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
    await expect(composeLengthFor(deps, GUILD_A, { temperature: 0.05 })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
  });
});

describe('keeping a result around its post', () => {
  it('GIVEN a full results window WHEN a finished compose is kept THEN it is findable at once and no older result goes until the post succeeded', async () => {
    for (let i = 0; i < MAX_RESULTS_PER_GUILD; i++) await deps.storage.results.add(resultRecord(GUILD_A, `0000000${i.toString(16)}`.slice(-8), MEMBER.userId));
    const { handle, plan } = await startGuildCompose(deps, MEMBER, { ...REQUEST, continuedFrom: 'abcdef01', seed: scale() });
    const result = await handle.result;

    const record = await keepComposeResult(deps, GUILD_A, plan, result, WHO);
    expect(await deps.storage.results.get(GUILD_A, plan.resultId)).toMatchObject({ id: plan.resultId, userId: MEMBER.userId, channelId: WHO.channelId, dir: plan.outDir });
    expect(record.options).toMatchObject({ length: 8, continuedFrom: 'abcdef01', seedSteps: 16, program: result.program });
    expect(await deps.storage.results.get(GUILD_A, '00000000')).toBeDefined();

    await settleComposeResult(deps, GUILD_A, plan);
    expect(await deps.storage.results.get(GUILD_A, '00000000')).toBeUndefined();
    expect(await deps.storage.results.get(GUILD_A, plan.resultId)).toBeDefined();
  });

  it('GIVEN a post that failed WHEN the result is dropped and its files discarded THEN neither record nor files remain, and older results stay', async () => {
    await deps.storage.results.add(resultRecord(GUILD_A, 'aaaaaaaa', MEMBER.userId));
    const { handle, plan } = await startGuildCompose(deps, MEMBER, REQUEST);
    await keepComposeResult(deps, GUILD_A, plan, await handle.result, WHO);

    await dropComposeResult(deps, GUILD_A, plan);
    await discardComposeFiles(deps, GUILD_A, plan);
    expect(await deps.storage.results.get(GUILD_A, plan.resultId)).toBeUndefined();
    expect(existsSync(plan.outDir)).toBe(false);
    expect(await deps.storage.results.get(GUILD_A, 'aaaaaaaa')).toBeDefined();
  });

  it('GIVEN a compose cancelled while it runs WHEN its files are discarded THEN its folder is gone', async () => {
    const { handle, plan } = await startGuildCompose(deps, MEMBER, { ...REQUEST, length: 2000 });
    // Cancelled once the MIDI and piano roll are written, while the long audio renders.
    await new Promise<void>((done) => handle.onProgress((p) => p.firstFiles && done()));
    expect(readdirSync(plan.outDir).length).toBeGreaterThan(0);
    expect(await handle.cancel()).toBe(true);
    await expect(handle.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    await discardComposeFiles(deps, GUILD_A, plan);
    expect(existsSync(plan.outDir)).toBe(false);
  });

  it('GIVEN results over RESULTS_MAX_BYTES_PER_GUILD WHEN a new one settles THEN the oldest go with their folders and the new one stays', async () => {
    await deps.queue.close();
    deps = composeDeps({ resultsMaxBytesPerGuild: 1 });
    const old = resultRecord(GUILD_A, 'bbbbbbbb', MEMBER.userId);
    old.dir = join(f.dataDir, 'old-result');
    mkdirSync(old.dir);
    writeFileSync(join(old.dir, 'piece.mid'), Buffer.alloc(64));
    await deps.storage.results.add(old);
    const { handle, plan } = await startGuildCompose(deps, MEMBER, REQUEST);
    await keepComposeResult(deps, GUILD_A, plan, await handle.result, WHO);

    await settleComposeResult(deps, GUILD_A, plan);
    expect(await deps.storage.results.get(GUILD_A, 'bbbbbbbb')).toBeUndefined();
    expect(existsSync(old.dir)).toBe(false);
    expect(readdirSync(plan.outDir).length).toBeGreaterThan(0);
  });

  it('GIVEN workers elsewhere WHEN a result names files THEN they are fetched from its keys into this bot’s folder', async () => {
    await deps.queue.close();
    deps = composeDeps({ remoteBlobs: true });
    const plan = { resultId: 'cccccccc' };
    await deps.blobs.put(`${guildKeys.resultPrefix(GUILD_A, plan.resultId)}motif-cccccccc.mid`, Buffer.from('midi bytes'));
    const local = join(f.dataDir, 'here', 'motif-cccccccc.mid');

    await fetchResultFiles(deps, GUILD_A, plan, [local, undefined]);
    expect(readdirSync(join(f.dataDir, 'here'))).toEqual(['motif-cccccccc.mid']);
  });
});

describe('the seed part of a result', () => {
  it('GIVEN a result continued from a 16-step seed WHEN Regenerate asks for its seed THEN only the notes starting before step 16 come back', () => {
    const record = resultRecord(GUILD_A, 'dddddddd', MEMBER.userId, scale(60, 8));
    record.options.seedSteps = 16;
    expect(seedPart(record)?.notes.map((n) => n.pitch)).toEqual([60, 61, 62, 63]);
    expect(seedPart(record)?.totalSteps).toBe(16);
    record.options.seedSteps = undefined;
    expect(seedPart(record)).toBeUndefined();
  });
});
