/**
 * Training a guild's model on real storage: SQLite records, the local blob store, the real queue
 * running the production train job in a worker thread on a tiny corpus, fine-tuning a tiny model
 * that stands in for the shipped one (or a fixture processor that crashes its worker).
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addCorpusFile } from '../../src/guild/corpus.js';
import { cancelGuildTraining, runGuildTraining, worthSwitchingTo, type TrainBudget } from '../../src/guild/training.js';
import type { TrainProgress } from '../../src/jobs/motif-jobs.js';
import type { NoteSequence } from '../../src/music/note-sequence.js';
import { writeMidi } from '../../src/music/midi-io.js';
import { guildKeys, guildPaths } from '../../src/storage/guild-paths.js';
import { freeBytes } from '../../src/util/disk-full.js';
import { tinyTune, trainTinyModel } from '../support/tiny-model.js';
import { ADMIN, GUILD_A, guildModel, MEMBER, openGuildFixture, withJobs, type GuildFixture, type JobsDeps } from './guild-fixture.js';

const FIXTURES = new URL('../jobs/fixtures/processors.ts', import.meta.url).href;

let tinyModelDir: string;
beforeAll(async () => {
  tinyModelDir = await trainTinyModel();
}, 120_000);
afterAll(() => rmSync(join(tinyModelDir, '..'), { recursive: true, force: true }));

let f: GuildFixture;
let deps: JobsDeps | undefined;
beforeEach(async () => (f = await openGuildFixture()));
afterEach(async () => {
  await deps?.queue.close();
  deps = undefined;
  await f.close();
});

/** The tiny tune played `times` times over: long pieces make an epoch many steps. */
function repeatedTune(transposeSemitones: number, times: number): NoteSequence {
  const tune = tinyTune(transposeSemitones);
  const seq = { ...tune, notes: [] as NoteSequence['notes'], totalSteps: tune.totalSteps * times };
  for (let k = 0; k < times; k++) seq.notes.push(...tune.notes.map((n) => ({ ...n, startStep: n.startStep + k * tune.totalSteps, endStep: n.endStep + k * tune.totalSteps })));
  return seq;
}

/** Adds `pieces` tunes (each played `repeats` times) to the guild's corpus the way /corpus add does. */
async function addCorpus(d: JobsDeps, pieces = 4, repeats = 1): Promise<void> {
  for (let i = 0; i < pieces; i++) {
    const path = join(guildPaths(f.dataDir, GUILD_A).tmpDir, `upload-${i}.mid`);
    const bytes = writeMidi(repeatedTune(i - 2, repeats));
    await addCorpusFile(d, { ...ADMIN, roleIds: [] }, {
      rights: { confirmed: true, licence: 'cc-by', attribution: `Composer ${i}` },
      file: {
        fileName: `tune-${i}.mid`,
        download: async () => {
          mkdirSync(guildPaths(f.dataDir, GUILD_A).tmpDir, { recursive: true });
          await writeFile(path, bytes);
          return { path, kind: 'midi', bytes: bytes.length, discard: async () => rmSync(path, { force: true }) };
        },
      },
    });
  }
}

const modelsDir = (): string => guildPaths(f.dataDir, GUILD_A).modelsDir;
const versionOf = (prefix: string): string => prefix.split('/').at(-2)!;

describe('training a guild model', () => {
  it('GIVEN a corpus WHEN an admin trains twice THEN each run is a new version the guild switches to, crediting its sources, and the version before is kept for rollback', async () => {
    deps = withJobs(f, { defaultModelDir: tinyModelDir });
    await addCorpus(deps);
    const queued: string[] = [];
    const progress: [TrainProgress, TrainBudget][] = [];
    const first = await runGuildTraining(deps, ADMIN, { epochs: 1, from: 'default' }, {
      onQueued: (handle) => void queued.push(handle.id),
      onProgress: (p, budget) => progress.push([p, budget]),
    });

    if (!first.kept) throw new Error('the first run was not kept');
    expect(queued).toHaveLength(1);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]![1].minutes).toBe(60);
    expect(progress[0]![1].leftSeconds).toBeLessThanOrEqual(3600);
    expect(first.model).toMatchObject({ trainedBy: ADMIN.userId, epochs: 1, from: 'default', corpusFiles: 4, lossCurveKey: `${first.model.modelDir}loss-curve.png` });
    expect(first.model.previousModelDir).toBeUndefined();
    expect(first.model.sources?.map((s) => s.attribution).sort()).toEqual(['Composer 0', 'Composer 1', 'Composer 2', 'Composer 3']);
    expect(first.lossCurve.subarray(1, 4).toString()).toBe('PNG');
    expect(await f.deps.storage.models.get(GUILD_A)).toEqual(first.model);
    expect((await f.deps.storage.settings.get(GUILD_A)).model).toBe('guild');
    const keys = (await deps.blobs.list(first.model.modelDir)).map((b) => b.key.slice(first.model.modelDir.length));
    expect(keys).toEqual(expect.arrayContaining(['spec.json', 'weights.bin', 'weights.json', 'loss-curve.png']));

    // A leftover of a run that was given up on: the next run clears it, never a version in use.
    mkdirSync(join(modelsDir(), 'abandoned~work'), { recursive: true });
    const second = await runGuildTraining(deps, ADMIN, { epochs: 1, from: 'default' });
    if (!second.kept) throw new Error('the second run was not kept');
    expect(second.model.modelDir).not.toBe(first.model.modelDir);
    expect(second.model.previousModelDir).toBe(first.model.modelDir);
    expect(readdirSync(modelsDir()).sort()).toEqual([versionOf(first.model.modelDir), versionOf(second.model.modelDir)].sort());
    expect(await deps.queue.list({ guildId: GUILD_A })).toEqual([]);
  }, 240_000);

  it('GIVEN a from-scratch run the time budget stops inside its first pass WHEN it ends THEN nothing is kept and the guild keeps its model', async () => {
    deps = withJobs(f, { defaultModelDir: tinyModelDir, trainMaxMinutes: 0.001 });
    // Long enough that one pass is many steps, so the 60 ms budget ends it inside the first.
    await addCorpus(deps, 8, 40);
    const old = guildModel(guildKeys.modelVersion(GUILD_A, 'old'));
    await f.deps.storage.models.set(GUILD_A, old);
    mkdirSync(join(modelsDir(), 'old'), { recursive: true });

    const outcome = await runGuildTraining(deps, ADMIN, { epochs: 3, from: 'scratch' });
    expect(outcome).toMatchObject({ kept: false, result: { stoppedAtTimeBudget: true, completedEpochs: 0 } });
    expect(await f.deps.storage.models.get(GUILD_A)).toEqual(old);
    expect((await f.deps.storage.settings.get(GUILD_A)).model).toBe('default');
    expect(readdirSync(modelsDir())).toEqual(['old']);
  }, 240_000);

  it('GIVEN a guild with its model WHEN the training worker dies mid-run THEN JOB_FAILED says the server keeps its model, and the half-made version is gone', async () => {
    deps = withJobs(f, { defaultModelDir: tinyModelDir, processors: { train: { kind: 'worker', moduleUrl: FIXTURES, exportName: 'trainThenCrash' } } });
    await addCorpus(deps, 1);
    const old = guildModel(guildKeys.modelVersion(GUILD_A, 'old'));
    await f.deps.storage.models.set(GUILD_A, old);
    mkdirSync(join(modelsDir(), 'old'), { recursive: true });

    const error = await runGuildTraining(deps, ADMIN, { epochs: 5, from: 'default' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'JOB_FAILED', userMessage: expect.stringMatching(/^Sorry, that job failed \(job `[0-9a-z]+`\)\. The bot is still running; try again\. This server keeps composing with its current model\.$/) });
    expect(await f.deps.storage.models.get(GUILD_A)).toEqual(old);
    expect(readdirSync(modelsDir())).toEqual(['old']);
    expect(await deps.queue.list({ guildId: GUILD_A })).toEqual([]);
  }, 60_000);

  it('GIVEN a disk with less room than the shipped model weighs WHEN training THEN refused before the queue, keeping the model', async () => {
    const reference = join(f.dataDir, 'huge-default');
    mkdirSync(reference);
    const free = (await freeBytes(f.dataDir))!;
    // Sparse: it claims more bytes than the disk has free without using them.
    const weights = await open(join(reference, 'weights.bin'), 'w');
    await weights.truncate(free + 1024 ** 3);
    await weights.close();
    deps = withJobs(f, { defaultModelDir: reference });
    await addCorpus(deps, 1);
    const queued: string[] = [];

    await expect(runGuildTraining(deps, ADMIN, { epochs: 1, from: 'default' }, { onQueued: (h) => void queued.push(h.id) })).rejects.toMatchObject({
      code: 'DISK_FULL',
      userMessage: expect.stringMatching(
        /^The server's disk is full: a new model needs about \S+ \S+ and only \S+ \S+ is free, so training did not start\. This server keeps composing with its current model\. Tell the bot's operator, and run \/train again once space is freed\.$/,
      ),
    });
    expect(queued).toEqual([]);
    expect(await deps.queue.list()).toEqual([]);
  });

  it('GIVEN a member, an empty corpus, or a training already queued WHEN training THEN refused before the queue with what to do', async () => {
    deps = withJobs(f, { defaultModelDir: tinyModelDir, processors: { train: { kind: 'worker', moduleUrl: FIXTURES, exportName: 'trainUntilCancelled' } } });
    await expect(runGuildTraining(deps, MEMBER, { epochs: 1, from: 'default' })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      userMessage: 'You need the **Manage Server** permission to train a model.',
    });
    await expect(runGuildTraining(deps, ADMIN, { epochs: 1, from: 'default' })).rejects.toMatchObject({
      code: 'DATA_EMPTY',
      userMessage: 'This server has no corpus yet: add MIDI or audio files with /corpus add first.',
    });
    await addCorpus(deps, 1);
    let queuedId: string | undefined;
    const running = runGuildTraining(deps, ADMIN, { epochs: 1, from: 'default' }, { onQueued: (h) => void (queuedId = h.id) });
    running.catch(() => undefined);
    await expect.poll(() => queuedId).toBeDefined();
    await expect(runGuildTraining(deps, ADMIN, { epochs: 1, from: 'default' })).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      userMessage: 'A training run is already queued on this server. See /queue, or /train cancel.',
    });

    await expect(cancelGuildTraining(deps, MEMBER)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(await cancelGuildTraining(deps, ADMIN)).toBe(queuedId);
    await expect(running).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    // A running job keeps its slot until its worker has stopped.
    await expect.poll(() => deps!.queue.list({ guildId: GUILD_A }), { timeout: 10_000 }).toEqual([]);
    expect(await f.deps.storage.models.get(GUILD_A)).toBeUndefined();
    expect(existsSync(modelsDir()) ? readdirSync(modelsDir()) : []).toEqual([]);
    await expect(cancelGuildTraining(deps, ADMIN)).rejects.toMatchObject({ code: 'NOT_FOUND', userMessage: 'No training is queued or running on this server.' });
  }, 60_000);
});

describe('worthSwitchingTo (what a /train run stopped by TRAIN_MAX_MINUTES leaves the guild with)', () => {
  it('GIVEN a run that finished WHEN judged THEN the guild switches to it, from scratch or not', () => {
    expect(worthSwitchingTo({ stoppedAtTimeBudget: false, completedEpochs: 1 }, { from: 'scratch' })).toBe(true);
    expect(worthSwitchingTo({ stoppedAtTimeBudget: false, completedEpochs: 5 }, { from: 'default' })).toBe(true);
  });

  it('GIVEN a fine-tune of the shipped model cut short in its first epoch WHEN judged THEN it is kept: it started from trained weights', () => {
    expect(worthSwitchingTo({ stoppedAtTimeBudget: true, completedEpochs: 0 }, { from: 'default' })).toBe(true);
  });

  it('GIVEN a from-scratch run cut short WHEN judged THEN it is kept only after one whole pass over the corpus', () => {
    expect(worthSwitchingTo({ stoppedAtTimeBudget: true, completedEpochs: 0 }, { from: 'scratch' })).toBe(false);
    expect(worthSwitchingTo({ stoppedAtTimeBudget: true, completedEpochs: 1 }, { from: 'scratch' })).toBe(true);
  });
});
