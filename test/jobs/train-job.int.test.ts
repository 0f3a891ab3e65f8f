/**
 * The /train job with no disk shared with the bot: the corpus comes from PostgreSQL, the model goes
 * back to it under a new version prefix, and a compose worker fetches and loads that version.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobBlobStore, type JobBlobSettings } from '../../src/jobs/job-blobs.js';
import { ModelCache } from '../../src/jobs/model-cache.js';
import { JobAborted, type AbortCause } from '../../src/jobs/processor.js';
import { trainGuildModel } from '../../src/jobs/train.js';
import type { BlobStore } from '../../src/storage/blobs/blob-store.js';
import { guildKeys } from '../../src/storage/guild-paths.js';
import { dropSchema, POSTGRES_URL, uniqueSchema, withPostgres } from '../support/postgres.js';
import { writeTinyCorpus } from '../support/tiny-model.js';

const describePostgres = await withPostgres('/train job on the PostgreSQL blob store');
const GUILD = '123456789012345678';

describePostgres('/train job on the PostgreSQL blob store', () => {
  const schema = uniqueSchema('train');
  // A data folder that does not exist: had the job touched the bot's disk, it would fail.
  const blobs: JobBlobSettings = { url: POSTGRES_URL, schema, dataDir: '/nonexistent/motif-data' };
  let store: BlobStore;
  let corpusKeys: string[];
  const ctx = { signal: new AbortController().signal, reportProgress: () => undefined, log: () => undefined };

  beforeAll(async () => {
    store = await jobBlobStore(blobs);
    const corpusDir = await writeTinyCorpus(undefined, 6);
    corpusKeys = [];
    for (const [i, name] of readdirSync(corpusDir).entries()) {
      const key = guildKeys.corpusFile(GUILD, `piece${i}`);
      await store.put(key, readFileSync(join(corpusDir, name)));
      corpusKeys.push(key);
    }
    rmSync(corpusDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await store?.close();
    await dropSchema(schema);
  });

  it('GIVEN a corpus in the store WHEN the job trains THEN the whole model is uploaded under the new version, nothing stays on the worker, and a compose worker loads it from the store', async () => {
    const modelPrefix = guildKeys.modelVersion(GUILD, 'v1');
    const scratchBefore = readdirSync(tmpdir()).filter((n) => n.startsWith('motif-train-'));
    const result = await trainGuildModel({ guildId: GUILD, corpusKeys, modelPrefix, blobs, epochs: 1 }, ctx);

    expect(result.modelPrefix).toBe(modelPrefix);
    expect(result.lossCurveKey).toBe(`${modelPrefix}loss-curve.png`);
    const keys = (await store.list(modelPrefix)).map((b) => b.key.slice(modelPrefix.length));
    expect(keys).toEqual(expect.arrayContaining(['spec.json', 'weights.bin', 'weights.json', 'loss-curve.png']));
    expect((await store.get(result.lossCurveKey)).subarray(1, 4).toString()).toBe('PNG');
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('motif-train-'))).toEqual(scratchBefore);

    const cacheDir = mkdtempSync(join(tmpdir(), 'motif-cache-'));
    try {
      const model = await new ModelCache({ maxLoaded: 1, cacheDir }).get(modelPrefix, { id: 'pg', open: async () => store });
      expect(model.spec.name).toBe('guild');
      expect(readdirSync(cacheDir)).toHaveLength(1);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }, 300_000);

  it('GIVEN a corpus key that is gone WHEN the job runs THEN NOT_FOUND, and nothing is left under the new version', async () => {
    const modelPrefix = guildKeys.modelVersion(GUILD, 'v2');
    await expect(
      trainGuildModel({ guildId: GUILD, corpusKeys: [...corpusKeys, guildKeys.corpusFile(GUILD, 'gone')], modelPrefix, blobs, epochs: 1 }, ctx),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.list(modelPrefix)).toEqual([]);
    expect(existsSync('/nonexistent')).toBe(false);
  });

  /** Runs a job that is stopped for `cause` once its first epoch's checkpoint is stored (the second epoch has begun). */
  async function stoppedInEpochTwo(version: string, cause: AbortCause): Promise<{ error: unknown; checkpointKeys: string[] }> {
    const modelPrefix = guildKeys.modelVersion(GUILD, version);
    const controller = new AbortController();
    const stopping = {
      ...ctx,
      signal: controller.signal,
      reportProgress: (p: { epoch: number }) => {
        if (p.epoch >= 2 && !controller.signal.aborted) controller.abort(new JobAborted(cause));
      },
    };
    const error = await trainGuildModel({ guildId: GUILD, corpusKeys, modelPrefix, blobs, epochs: 5 }, stopping).then(
      () => undefined,
      (e: unknown) => e,
    );
    const checkpointKeys = (await store.list(guildKeys.checkpointOf(modelPrefix))).map((b) => b.key);
    expect(await store.list(modelPrefix)).toEqual([]);
    return { error, checkpointKeys };
  }

  it('GIVEN a run its worker hands back WHEN it stops THEN its stored checkpoint stays for the retry', async () => {
    const { error, checkpointKeys } = await stoppedInEpochTwo('v3', 'stop');
    expect(error).toMatchObject({ code: 'JOB_CANCELLED' });
    expect(checkpointKeys.some((k) => k.endsWith('/run.json'))).toBe(true);
    expect(checkpointKeys.length).toBeGreaterThan(1);
    await store.deletePrefix(guildKeys.checkpointOf(guildKeys.modelVersion(GUILD, 'v3')));
  }, 300_000);

  it('GIVEN a run someone cancels WHEN it stops THEN the worker removes its stored checkpoint itself (a save under way outlives the bot\'s removal)', async () => {
    const { error, checkpointKeys } = await stoppedInEpochTwo('v4', 'cancel');
    expect(error).toMatchObject({ code: 'JOB_CANCELLED' });
    expect(checkpointKeys).toEqual([]);
  }, 300_000);
});
