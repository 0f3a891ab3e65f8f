/**
 * Recent composed results per guild, for the result buttons (Regenerate, Continue, Play, Save as
 * seed) and /play. Each result is its own record; a per-guild index keeps the newest
 * MAX_RESULTS_PER_GUILD ids. Evicted results are returned so the caller can delete their files.
 */
import type Keyv from 'keyv';
import type { NoteSequence } from '../music/note-sequence.js';
import { assertGuildId } from './guild-paths.js';
import { KeyLock } from './key-lock.js';
import { idListSchema, resultRecordSchema } from './schemas.js';
import type { RecordReader } from './validated-read.js';

/** The options a result was made with (enough to regenerate it). */
export interface ResultOptions {
  length: number;
  temperature?: number;
  program?: number;
  qpm?: number;
  seedName?: string;
  /** Steps at the start of `sequence` that came from the seed (for Regenerate with the same seed). */
  seedSteps?: number;
  /** The result this one continued, if any. */
  continuedFrom?: string;
  /** The style it was composed in (absent for a guild's own model): Regenerate and Continue keep it. */
  style?: string;
}

export interface ResultRecord {
  id: string;
  guildId: string;
  channelId: string;
  userId: string;
  /** ISO-8601. */
  createdAt: string;
  options: ResultOptions;
  /** Folder holding the files below. */
  dir: string;
  midiPath: string;
  mp3Path: string;
  pngPath: string;
  opusPath?: string;
  durationSeconds: number;
  qpm: number;
  program: number;
  keyGuess: string;
  modelName: string;
  randomSeed: number;
  /** The whole piece (seed + generated), for Continue and Save as seed. */
  sequence: NoteSequence;
}

export const MAX_RESULTS_PER_GUILD = 25;

export class ResultRepo {
  private readonly lock = new KeyLock();

  constructor(
    private readonly keyv: Keyv,
    private readonly reader: RecordReader,
    private readonly maxPerGuild = MAX_RESULTS_PER_GUILD,
  ) {}

  /** Ids newest first. */
  async recentIds(guildId: string): Promise<string[]> {
    assertGuildId(guildId);
    return (await this.reader.read(indexKey(guildId), idListSchema)) ?? [];
  }

  /** Newest first, at most `limit`. */
  async recent(guildId: string, limit = this.maxPerGuild): Promise<ResultRecord[]> {
    const ids = (await this.recentIds(guildId)).slice(0, limit);
    const records = await Promise.all(ids.map((id) => this.readRecord(guildId, id)));
    return records.filter((r): r is ResultRecord => r !== undefined);
  }

  async get(guildId: string, id: string): Promise<ResultRecord | undefined> {
    assertGuildId(guildId);
    if (!(await this.recentIds(guildId)).includes(id)) return undefined;
    return this.readRecord(guildId, id);
  }

  /** A stored result, only if it really belongs to `guildId` (the key says so; the record must agree). */
  private async readRecord(guildId: string, id: string): Promise<ResultRecord | undefined> {
    const record = await this.reader.read(resultKey(guildId, id), resultRecordSchema);
    return record && record.guildId === guildId && record.id === id ? record : undefined;
  }

  /**
   * Stores `record` as the newest result; returns the records pushed out of the window. With
   * `evict: false` the window may hold one more for now (a result whose post may still fail must
   * not cost an older one); `trim` pushes the extra ones out later.
   */
  async add(record: ResultRecord, opts: { evict?: boolean } = {}): Promise<ResultRecord[]> {
    const { guildId } = record;
    return this.lock.run(guildId, async () => {
      await this.keyv.set(resultKey(guildId, record.id), record);
      const ids = [record.id, ...(await this.recentIds(guildId)).filter((id) => id !== record.id)];
      if (opts.evict === false) {
        await this.keyv.set(indexKey(guildId), ids);
        return [];
      }
      return this.keepNewest(guildId, ids);
    });
  }

  /** Pushes results beyond the window out; returns them (their files are the caller's to delete). */
  async trim(guildId: string): Promise<ResultRecord[]> {
    assertGuildId(guildId);
    return this.lock.run(guildId, async () => this.keepNewest(guildId, await this.recentIds(guildId)));
  }

  private async keepNewest(guildId: string, ids: readonly string[]): Promise<ResultRecord[]> {
    await this.keyv.set(indexKey(guildId), ids.slice(0, this.maxPerGuild));
    const evicted: ResultRecord[] = [];
    for (const id of ids.slice(this.maxPerGuild)) {
      const old = await this.readRecord(guildId, id);
      if (old) evicted.push(old);
      await this.keyv.delete(resultKey(guildId, id));
    }
    return evicted;
  }

  /** Forgets the given results of a guild (their files are the caller's to delete). */
  async remove(guildId: string, ids: readonly string[]): Promise<void> {
    assertGuildId(guildId);
    if (ids.length === 0) return;
    await this.lock.run(guildId, async () => {
      const gone = new Set(ids);
      await this.keyv.set(indexKey(guildId), (await this.recentIds(guildId)).filter((id) => !gone.has(id)));
      for (const id of ids) await this.keyv.delete(resultKey(guildId, id));
    });
  }
}

const indexKey = (guildId: string): string => `${guildId}:index`;
const resultKey = (guildId: string, id: string): string => `${guildId}:result:${id}`;
