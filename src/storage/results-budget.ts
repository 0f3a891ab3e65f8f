/**
 * The per-guild disk budget for kept results (RESULTS_MAX_BYTES_PER_GUILD): after a new result,
 * the oldest results go until the guild's result folders fit, and the newest always stays. Sizes
 * are measured on disk, so voice audio rendered later on first play counts too.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultRecord, ResultRepo } from './result-repo.js';

/**
 * Deletes the oldest results of `guildId` (records and folders) until the rest fit `maxBytes`.
 * @returns the results removed, oldest last.
 */
export async function enforceResultsBudget(repo: ResultRepo, guildId: string, maxBytes: number): Promise<ResultRecord[]> {
  const newestFirst = await repo.recent(guildId);
  let total = 0;
  const evicted: ResultRecord[] = [];
  for (const [index, record] of newestFirst.entries()) {
    total += await folderBytes(record.dir);
    if (index > 0 && total > maxBytes) evicted.push(record);
  }
  if (evicted.length === 0) return [];
  await repo.remove(guildId, evicted.map((r) => r.id));
  await Promise.all(evicted.map((r) => rm(r.dir, { recursive: true, force: true })));
  return evicted;
}

/** Bytes of the files directly in `dir` (result folders are flat); 0 when it is gone. */
export async function folderBytes(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const sizes = await Promise.all(names.map((name) => stat(join(dir, name)).then((s) => (s.isFile() ? s.size : 0), () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}
