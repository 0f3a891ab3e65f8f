/**
 * Settings for end-to-end tests of the bot and `npm run worker` as separate processes with no shared
 * disk: one BullMQ queue (a Redis key prefix of the test's own), one blob store (a PostgreSQL schema
 * of the test's own), and a data folder per worker that the bot never sees. `cleanup` removes
 * exactly what the test created.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { POSTGRES_URL, dropSchema, postgresReachable, uniqueSchema, withPostgres } from './postgres.js';
import { REDIS_URL, deleteKeys, redisReachable, uniquePrefix, withRedis } from './redis.js';

/** `describe` for a suite that needs both Redis and PostgreSQL (each skipped with its own line outside CI). */
export async function withCluster(suite: string): Promise<ReturnType<typeof describe.runIf>> {
  // Each prints its own SKIPPED line when its service is away (and fails the suite under CI=true).
  await Promise.all([withRedis(suite), withPostgres(suite)]);
  const [redisUp, postgresUp] = await Promise.all([redisReachable(), postgresReachable()]);
  return describe.runIf(process.env.CI === 'true' || (redisUp && postgresUp));
}

export interface ClusterSettings {
  prefix: string;
  schema: string;
  /** The bot's settings: it only enqueues, and its files travel through the blob store. */
  botEnv(redisUrl?: string): Record<string, string>;
  /** A worker's settings, with a data folder of its own (created here, removed by cleanup). */
  workerEnv(redisUrl?: string): Record<string, string>;
  /** Every data folder handed to a worker so far. */
  readonly workerDataDirs: string[];
  cleanup(): Promise<void>;
}

export function clusterSettings(what: string): ClusterSettings {
  const prefix = uniquePrefix(what);
  const schema = uniqueSchema(what);
  const workerDataDirs: string[] = [];
  return {
    prefix,
    schema,
    botEnv: (redisUrl = REDIS_URL) => ({ QUEUE_URL: redisUrl, QUEUE_PREFIX: prefix, WORKER_LANES: 'none', BLOB_URL: POSTGRES_URL, BLOB_SCHEMA: schema }),
    workerEnv: (redisUrl = REDIS_URL) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'motif-worker-'));
      workerDataDirs.push(dataDir);
      return { QUEUE_URL: redisUrl, QUEUE_PREFIX: prefix, DATA_DIR: dataDir };
    },
    workerDataDirs,
    cleanup: async () => {
      for (const dir of workerDataDirs) rmSync(dir, { recursive: true, force: true });
      if (await redisReachable()) await deleteKeys(prefix);
      if (await postgresReachable()) await dropSchema(schema);
    },
  };
}
