/**
 * A guild's named seeds: save one (from a MIDI file, the member's latest result, or a given
 * result), list, delete, load by name, and suggest names.
 */
import { MotifError } from '../errors.js';
import type { NoteSequence } from '../music/note-sequence.js';
import { normalizeSeedName, type SeedSummary } from '../storage/index.js';
import type { GuildActor, GuildDeps } from './guild-deps.js';
import { findResult, recentResults } from './results.js';

/** Where a new seed's notes come from. */
export type SeedSource =
  /** A MIDI file: `read` downloads and parses it (the caller's transport), called only once the name is valid. */
  | { kind: 'file'; fileName: string; read: () => Promise<NoteSequence> }
  /** The member's newest result on this guild. */
  | { kind: 'latest-result' }
  /** A given result of this guild (the Save as seed button). */
  | { kind: 'result'; resultId: string };

/**
 * @param name seed name as typed (normalized: trimmed, lower case).
 * @throws MotifError OPTION_OUT_OF_RANGE for a bad name (before reading any file) or a full guild,
 *   NOT_FOUND when there is no latest result or the result expired, ALREADY_EXISTS, MIDI_EMPTY,
 *   or what `read` throws.
 */
export async function saveSeed(deps: Pick<GuildDeps, 'storage'>, actor: Omit<GuildActor, 'isAdmin'>, name: string, from: SeedSource): Promise<SeedSummary> {
  normalizeSeedName(name); // a bad name must not cost a download
  const { sequence, source } = await seedNotes(deps, actor, from);
  return deps.storage.seeds.save(actor.guildId, { name, sequence, source, createdBy: actor.userId, createdAt: new Date().toISOString() });
}

async function seedNotes(deps: Pick<GuildDeps, 'storage'>, actor: Omit<GuildActor, 'isAdmin'>, from: SeedSource): Promise<{ sequence: NoteSequence; source: string }> {
  switch (from.kind) {
    case 'file':
      return { sequence: await from.read(), source: from.fileName.slice(0, 100) };
    case 'latest-result': {
      const [latest] = await recentResults(deps, actor.guildId, { userId: actor.userId });
      if (!latest) throw new MotifError('NOT_FOUND', 'Attach a MIDI file, or compose something first to save your latest result.');
      return { sequence: latest.sequence, source: `result ${latest.id}` };
    }
    case 'result': {
      const record = await findResult(deps, actor.guildId, from.resultId);
      return { sequence: record.sequence, source: `result ${record.id}` };
    }
  }
}

/** Sorted by name. */
export async function listSeeds(deps: Pick<GuildDeps, 'storage'>, guildId: string): Promise<SeedSummary[]> {
  return deps.storage.seeds.list(guildId);
}

/**
 * @returns the normalized name of the seed deleted.
 * @throws MotifError NOT_FOUND when the guild has no such seed, OPTION_OUT_OF_RANGE for a bad name.
 */
export async function deleteSeed(deps: Pick<GuildDeps, 'storage'>, guildId: string, name: string): Promise<string> {
  if (!(await deps.storage.seeds.delete(guildId, name))) throw new MotifError('NOT_FOUND', `There is no seed called \`${name.slice(0, 32)}\`.`);
  return normalizeSeedName(name);
}

/**
 * A saved seed's notes by name.
 * @throws MotifError NOT_FOUND for an unknown name, OPTION_OUT_OF_RANGE for a bad name.
 */
export async function loadSeed(deps: Pick<GuildDeps, 'storage'>, guildId: string, name: string): Promise<{ name: string; sequence: NoteSequence }> {
  const seed = await deps.storage.seeds.get(guildId, name);
  if (!seed) throw new MotifError('NOT_FOUND', `There is no seed called \`${name.slice(0, 32)}\` on this server. See /seed list.`);
  return { name: seed.name, sequence: seed.sequence };
}

/** This guild's seeds whose name contains `typed` (case-insensitive), at most `limit`. */
export async function suggestSeeds(deps: Pick<GuildDeps, 'storage'>, guildId: string, typed: string, limit = 25): Promise<SeedSummary[]> {
  const wanted = typed.toLowerCase();
  return (await listSeeds(deps, guildId)).filter((s) => s.name.includes(wanted)).slice(0, limit);
}
