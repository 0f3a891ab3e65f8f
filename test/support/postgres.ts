/**
 * Tests that need the PostgreSQL at 127.0.0.1:5432 (database `test`, user `postgres`, trust auth).
 * When it is not reachable they are skipped and ONE line per test file says so, unless CI=true: CI
 * must never silently skip, so there they run and fail. Modelled on redis.ts's withRedis.
 *
 * PostgreSQL is shared with other people's work on this machine: each test run uses a schema of its
 * own (`uniqueSchema`) and drops only that schema (`dropSchema`).
 */
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import pg from 'pg';

export const POSTGRES_URL = 'postgresql://postgres@127.0.0.1:5432/test';
export const POSTGRES_START_COMMAND = 'pg_ctlcluster 15 main start (or: service postgresql start)';

/** True when PostgreSQL answers `SELECT 1` at POSTGRES_URL (or `url`) within a couple of seconds. */
export async function postgresReachable(url = POSTGRES_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The one line a suite prints when it skips for want of PostgreSQL. */
export function postgresSkipLine(suite: string): string {
  return `SKIPPED: ${suite} needs PostgreSQL at 127.0.0.1:5432, database test, user postgres (start it with: ${POSTGRES_START_COMMAND})`;
}

/**
 * `describe` for a suite that needs PostgreSQL. Call with top-level await in the test file.
 * @example const describePostgres = await withPostgres('PostgreSQL blob store');
 */
export async function withPostgres(suite: string, opts: { url?: string; ci?: boolean } = {}): Promise<ReturnType<typeof describe.runIf>> {
  const up = await postgresReachable(opts.url);
  const inCi = opts.ci ?? process.env.CI === 'true';
  if (!up && !inCi) {
    // process.stderr directly: one line, not vitest's multi-line console capture block.
    process.stderr.write(`${postgresSkipLine(suite)}\n`);
  }
  return describe.runIf(up || inCi);
}

/** A schema name no one else uses: `motif_test_<what>_<random>` (lower case, as PostgreSQL folds). */
export function uniqueSchema(what: string): string {
  return `motif_test_${what.toLowerCase().replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
}

/** Drops a schema this test created, with everything in it. Refuses any other name. */
export async function dropSchema(schema: string, url = POSTGRES_URL): Promise<void> {
  if (!/^motif_test_[a-z0-9_]+$/.test(schema)) throw new Error(`refusing to drop ${schema}: not a test schema`);
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
