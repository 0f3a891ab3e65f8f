/**
 * Where a guild's files live under the data folder. Every path is built from a validated guild id
 * so a crafted id can never escape the guild's folder.
 */
import { join } from 'node:path';
import { MotifError } from '../errors.js';

const SNOWFLAKE = /^\d{1,25}$/;
const FILE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** @throws Error for a guild id that is not a Discord snowflake (a bug, not user input). */
export function assertGuildId(guildId: string): void {
  if (!SNOWFLAKE.test(guildId)) throw new Error(`Not a guild id: ${JSON.stringify(guildId)}`);
}

/** @throws MotifError NOT_FOUND for an id that cannot name a file (e.g. contains "/"). */
export function assertFileId(id: string): void {
  if (!FILE_ID.test(id)) throw new MotifError('NOT_FOUND', `No item with id \`${id.slice(0, 64)}\`.`);
}

export interface GuildPaths {
  root: string;
  /** Community uploads (MIDI; audio is stored transcribed). */
  corpusDir: string;
  /** One folder per composed result. */
  resultsDir: string;
  /** One folder per trained guild model. */
  modelsDir: string;
  /** Scratch space for downloads and half-written outputs (renamed into place when complete). */
  tmpDir: string;
}

export function guildPaths(dataDir: string, guildId: string): GuildPaths {
  assertGuildId(guildId);
  const root = join(dataDir, 'guilds', guildId);
  return {
    root,
    corpusDir: join(root, 'corpus'),
    resultsDir: join(root, 'results'),
    modelsDir: join(root, 'models'),
    tmpDir: join(root, 'tmp'),
  };
}
