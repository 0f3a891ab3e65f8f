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

/**
 * Blob keys of a guild's files: the same layout as guildPaths under DATA_DIR, so the local store
 * finds existing files where they always were.
 */
export const guildKeys = {
  /** `guilds/<g>/corpus/` */
  corpusPrefix(guildId: string): string {
    assertGuildId(guildId);
    return `guilds/${guildId}/corpus/`;
  },
  /** `guilds/<g>/corpus/<id>.mid`: every corpus upload is stored as MIDI (audio is transcribed). */
  corpusFile(guildId: string, id: string): string {
    assertFileId(id);
    return `${guildKeys.corpusPrefix(guildId)}${id}.mid`;
  },
  /** `guilds/<g>/models/`: one sub-prefix per model version. */
  modelsPrefix(guildId: string): string {
    assertGuildId(guildId);
    return `guilds/${guildId}/models/`;
  },
  /** `guilds/<g>/models/<version>/`: written once, never changed in place. */
  modelVersion(guildId: string, version: string): string {
    if (!MODEL_VERSION.test(version)) throw new Error(`Not a model version: ${JSON.stringify(version.slice(0, 80))}`);
    return `${guildKeys.modelsPrefix(guildId)}${version}/`;
  },
  /** `guilds/<g>/results/<id>/`: a result's files (MIDI, audio, piano roll, voice audio), as in its folder under DATA_DIR. */
  resultPrefix(guildId: string, resultId: string): string {
    assertGuildId(guildId);
    assertFileId(resultId);
    return `guilds/${guildId}/results/${resultId}/`;
  },
  /**
   * `guilds/<g>/checkpoints/<version>/` for the model version `guilds/<g>/models/<version>/`: where a
   * training run mirrors its epoch checkpoint while it runs (beside the models, never under a version).
   */
  checkpointOf(modelPrefix: string): string {
    const match = /^guilds\/(\d{1,25})\/models\/([^/]+)\/$/.exec(modelPrefix);
    if (!match || !MODEL_VERSION.test(match[2]!)) throw new Error(`Not a guild model version prefix: ${JSON.stringify(modelPrefix.slice(0, 200))}`);
    return `guilds/${match[1]}/checkpoints/${match[2]}/`;
  },
  /** `guilds/<g>/uploads/`: files on their way to a worker, removed once it has read them. */
  uploadsPrefix(guildId: string): string {
    assertGuildId(guildId);
    return `guilds/${guildId}/uploads/`;
  },
};

const MODEL_VERSION = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** A guild model version prefix (`guilds/<g>/models/<version>/`), the form records hold. */
export function isModelVersionPrefix(value: string): boolean {
  return /^guilds\/\d{1,25}\/models\/[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}\/$/.test(value);
}
