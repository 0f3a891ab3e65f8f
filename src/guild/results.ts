/** Queries on a guild's recent results (the records; their files are the compose flow's). */
import { MotifError } from '../errors.js';
import type { ResultRecord } from '../storage/index.js';
import type { GuildDeps } from './guild-deps.js';

/**
 * One of this guild's recent results (another guild's id is not found, never shown).
 * @throws MotifError NOT_FOUND when it is not among the guild's recent results.
 */
export async function findResult(deps: Pick<GuildDeps, 'storage'>, guildId: string, resultId: string): Promise<ResultRecord> {
  const record = await deps.storage.results.get(guildId, resultId);
  if (!record) throw new MotifError('NOT_FOUND', 'That result has expired (only the most recent results are kept). Compose a new one.');
  return record;
}

/**
 * The result to play: the one named, else the guild's newest.
 * @throws MotifError NOT_FOUND when the guild has none yet, or the named one is gone.
 */
export async function resultToPlay(deps: Pick<GuildDeps, 'storage'>, guildId: string, resultId?: string): Promise<ResultRecord> {
  const id = resultId ?? (await deps.storage.results.recentIds(guildId))[0];
  if (!id) throw new MotifError('NOT_FOUND', 'There is nothing to play yet: compose something with /compose first.');
  const record = await deps.storage.results.get(guildId, id);
  if (!record) throw new MotifError('NOT_FOUND', 'That result has expired or was deleted (only the most recent results are kept). Pick another one.');
  return record;
}

/** The guild's recent results, newest first; only `userId`'s when given. */
export async function recentResults(deps: Pick<GuildDeps, 'storage'>, guildId: string, opts: { userId?: string } = {}): Promise<ResultRecord[]> {
  const recent = await deps.storage.results.recent(guildId);
  return opts.userId === undefined ? recent : recent.filter((r) => r.userId === opts.userId);
}
