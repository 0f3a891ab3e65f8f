/**
 * Metadata of a guild's community uploads (the files are blobs; see guildKeys.corpusFile). One record per
 * guild holding the whole list, so every change is a single atomic write.
 */
import type Keyv from 'keyv';
import { assertGuildId } from './guild-paths.js';
import { KeyLock } from './key-lock.js';
import { MotifError } from '../errors.js';
import { corpusEntrySchema, type LICENCES } from './schemas.js';
import type { RecordReader } from './validated-read.js';

export interface CorpusEntry {
  /** Short id; the file is the blob `guilds/<g>/corpus/<id>.mid` (guildKeys.corpusFile), so old entries need no key of their own. */
  id: string;
  /** The uploaded file's name as shown to people. */
  name: string;
  kind: 'midi' | 'audio';
  /** Size of the uploaded file in bytes. */
  bytes: number;
  noteCount: number;
  addedBy: string;
  /** ISO-8601. */
  addedAt: string;
  /** The licence the uploader stated (absent on entries from before uploads asked). */
  licence?: (typeof LICENCES)[number];
  /** The uploader confirmed they may share it for training (own work, public domain or free licence). */
  rightsConfirmed?: boolean;
  /** Composer / author and source as the uploader gave them, for credits. */
  attribution?: string;
}

export const MAX_CORPUS_ENTRIES = 500;

export class CorpusRepo {
  private readonly lock = new KeyLock();

  constructor(
    private readonly keyv: Keyv,
    private readonly reader: RecordReader,
  ) {}

  async list(guildId: string): Promise<CorpusEntry[]> {
    assertGuildId(guildId);
    return this.reader.readList(guildId, corpusEntrySchema);
  }

  /** @throws MotifError OPTION_OUT_OF_RANGE when the corpus is full, ALREADY_EXISTS for a duplicate id. */
  async add(guildId: string, entry: CorpusEntry): Promise<void> {
    await this.lock.run(guildId, async () => {
      const entries = await this.list(guildId);
      if (entries.length >= MAX_CORPUS_ENTRIES) {
        throw new MotifError('OPTION_OUT_OF_RANGE', `This server's corpus already has ${MAX_CORPUS_ENTRIES} files; remove some first.`);
      }
      if (entries.some((e) => e.id === entry.id)) throw new MotifError('ALREADY_EXISTS', 'That file is already in the corpus.');
      await this.keyv.set(guildId, [...entries, entry]);
    });
  }

  /** @returns the removed entry, or undefined when the guild has none with that id. */
  async remove(guildId: string, id: string): Promise<CorpusEntry | undefined> {
    return this.lock.run(guildId, async () => {
      const entries = await this.list(guildId);
      const removed = entries.find((e) => e.id === id);
      if (removed) await this.keyv.set(guildId, entries.filter((e) => e.id !== id));
      return removed;
    });
  }
}
