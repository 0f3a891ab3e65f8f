/**
 * Named seeds per guild. Each seed is its own record (`guildId:name`); a per-guild index record
 * lists the names. The record is written before the index and removed after it, and `get` only
 * answers for indexed names, so a crash in between never shows a half-stored seed.
 */
import type Keyv from 'keyv';
import { MotifError } from '../errors.js';
import type { NoteSequence } from '../music/note-sequence.js';
import { assertGuildId } from './guild-paths.js';
import { KeyLock } from './key-lock.js';
import { seedSchema, seedSummarySchema } from './schemas.js';
import type { RecordReader } from './validated-read.js';

export interface SeedSummary {
  name: string;
  noteCount: number;
  createdBy: string;
  /** ISO-8601. */
  createdAt: string;
  /** Where it came from, e.g. an attachment file name or "result abc123". */
  source: string;
}

export interface Seed extends SeedSummary {
  sequence: NoteSequence;
}

export const MAX_SEEDS_PER_GUILD = 100;
const NAME = /^[a-z0-9][a-z0-9 _-]{0,31}$/;

/**
 * Seed names are case-insensitive, 1–32 characters of letters, digits, space, `-`, `_`.
 * @throws MotifError OPTION_OUT_OF_RANGE otherwise.
 */
export function normalizeSeedName(name: string): string {
  const normalized = name.trim().toLowerCase().replace(/\s+/g, ' ');
  if (!NAME.test(normalized)) {
    throw new MotifError(
      'OPTION_OUT_OF_RANGE',
      'A seed name has 1–32 letters, digits, spaces, `-` or `_`, and starts with a letter or digit.',
    );
  }
  return normalized;
}

export class SeedRepo {
  private readonly lock = new KeyLock();

  constructor(
    private readonly keyv: Keyv,
    private readonly reader: RecordReader,
  ) {}

  async list(guildId: string): Promise<SeedSummary[]> {
    assertGuildId(guildId);
    return this.reader.readList(indexKey(guildId), seedSummarySchema);
  }

  /** @returns undefined when the guild has no seed of that name. */
  async get(guildId: string, name: string): Promise<Seed | undefined> {
    const key = normalizeSeedName(name);
    const indexed = (await this.list(guildId)).some((s) => s.name === key);
    if (!indexed) return undefined;
    return this.reader.read(seedKey(guildId, key), seedSchema);
  }

  /**
   * @throws MotifError ALREADY_EXISTS when the name is taken (unless `replace`),
   *   OPTION_OUT_OF_RANGE for a bad name or when the guild already has MAX_SEEDS_PER_GUILD seeds,
   *   MIDI_EMPTY for a sequence without notes.
   */
  async save(guildId: string, seed: Omit<Seed, 'noteCount'>, opts: { replace?: boolean } = {}): Promise<SeedSummary> {
    const name = normalizeSeedName(seed.name);
    if (seed.sequence.notes.length === 0) throw new MotifError('MIDI_EMPTY', 'That seed has no notes.');
    return this.lock.run(guildId, async () => {
      const index = await this.list(guildId);
      const existing = index.findIndex((s) => s.name === name);
      if (existing >= 0 && !opts.replace) {
        throw new MotifError('ALREADY_EXISTS', `A seed called \`${name}\` already exists. Delete it first or pick another name.`);
      }
      if (existing < 0 && index.length >= MAX_SEEDS_PER_GUILD) {
        throw new MotifError('OPTION_OUT_OF_RANGE', `This server already has ${MAX_SEEDS_PER_GUILD} seeds; delete one first.`);
      }
      const summary: SeedSummary = {
        name,
        noteCount: seed.sequence.notes.length,
        createdBy: seed.createdBy,
        createdAt: seed.createdAt,
        source: seed.source,
      };
      await this.keyv.set(seedKey(guildId, name), { ...summary, sequence: seed.sequence } satisfies Seed);
      const nextIndex = index.filter((s) => s.name !== name).concat(summary).sort((a, b) => a.name.localeCompare(b.name));
      await this.keyv.set(indexKey(guildId), nextIndex);
      return summary;
    });
  }

  /** @returns false when there was no such seed. */
  async delete(guildId: string, name: string): Promise<boolean> {
    const key = normalizeSeedName(name);
    return this.lock.run(guildId, async () => {
      const index = await this.list(guildId);
      if (!index.some((s) => s.name === key)) return false;
      await this.keyv.set(indexKey(guildId), index.filter((s) => s.name !== key));
      await this.keyv.delete(seedKey(guildId, key));
      return true;
    });
  }
}

const indexKey = (guildId: string): string => `${guildId}:index`;
const seedKey = (guildId: string, name: string): string => `${guildId}:seed:${name}`;
