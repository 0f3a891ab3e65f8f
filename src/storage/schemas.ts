/**
 * zod schemas for every record the bot stores. Records are checked when they are read back (the
 * store may hold values from an older version, a hand edit, or a damaged file), never cast.
 * Each schema is typed against its interface, so the two cannot drift apart unnoticed.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { isBlobKey, isBlobPrefix } from './blobs/blob-store.js';
import { keyFromDataPath } from './blobs/index.js';
import type { NoteSequence } from '../music/note-sequence.js';
import type { CorpusEntry } from './corpus-repo.js';
import type { GuildModel } from './guild-model-repo.js';
import type { GuildSettings } from './guild-settings-repo.js';
import type { ResultRecord } from './result-repo.js';
import type { Seed, SeedSummary } from './seed-repo.js';

const snowflake = z.string().regex(/^\d{1,25}$/);
const isoTime = z.string().max(40);
const int = z.number().int();

export const noteSequenceSchema: z.ZodType<NoteSequence> = z.object({
  stepsPerQuarter: int.min(1).max(960),
  tempos: z.array(z.object({ step: int.min(0), qpm: z.number().positive() })).min(1),
  timeSignatures: z.array(z.object({ step: int.min(0), numerator: int.min(1), denominator: int.min(1) })).min(1),
  tracks: z.array(z.object({ name: z.string(), program: int.min(0).max(127), isDrum: z.boolean() })),
  notes: z.array(
    z.object({
      pitch: int.min(0).max(127),
      velocity: int.min(1).max(127),
      startStep: int.min(0),
      endStep: int.min(1),
      program: int.min(0).max(127),
      isDrum: z.boolean(),
      track: int.min(0),
    }),
  ),
  totalSteps: int.min(0),
});

export const guildSettingsSchema: z.ZodType<GuildSettings> = z.object({
  temperature: z.number().positive().max(10).optional(),
  program: int.min(0).max(127).optional(),
  qpm: z.number().positive().max(1000).optional(),
  soundfont: z.string().max(200).optional(),
  defaultLength: int.min(1).optional(),
  style: z.string().max(32).optional(),
  model: z.enum(['default', 'guild']),
  maxPerUser: int.min(1).optional(),
  allowedChannelIds: z.array(snowflake),
  corpusRoleId: snowflake.optional(),
});

/** What a settings record may hold before defaults are filled in. */
export const storedSettingsSchema = z.object({
  temperature: z.number().positive().max(10).optional(),
  program: int.min(0).max(127).optional(),
  qpm: z.number().positive().max(1000).optional(),
  soundfont: z.string().max(200).optional(),
  defaultLength: int.min(1).optional(),
  style: z.string().max(32).optional(),
  model: z.enum(['default', 'guild']).optional(),
  maxPerUser: int.min(1).optional(),
  allowedChannelIds: z.array(snowflake).optional(),
  corpusRoleId: snowflake.optional(),
});

export const seedSummarySchema: z.ZodType<SeedSummary> = z.object({
  name: z.string().min(1).max(32),
  noteCount: int.min(0),
  createdBy: z.string(),
  createdAt: isoTime,
  source: z.string().max(200),
});

export const seedSchema: z.ZodType<Seed> = z.object({
  name: z.string().min(1).max(32),
  noteCount: int.min(0),
  createdBy: z.string(),
  createdAt: isoTime,
  source: z.string().max(200),
  sequence: noteSequenceSchema,
});

export const LICENCES = ['own-work', 'public-domain', 'cc0', 'cc-by', 'cc-by-sa', 'other-free'] as const;

export const corpusEntrySchema: z.ZodType<CorpusEntry> = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  name: z.string().max(200),
  kind: z.enum(['midi', 'audio']),
  bytes: int.min(0),
  noteCount: int.min(0),
  addedBy: z.string(),
  addedAt: isoTime,
  // Older entries (before uploaders confirmed rights) have no licence: shown as "not stated".
  licence: z.enum(LICENCES).optional(),
  rightsConfirmed: z.boolean().optional(),
  attribution: z.string().max(200).optional(),
});

export const modelSourcesSchema = z
  .array(z.object({ id: z.string(), name: z.string(), licence: z.string().optional(), attribution: z.string().optional(), addedBy: z.string() }))
  .optional();
const removedSourcesSchema = z.array(z.object({ id: z.string(), name: z.string(), removedAt: isoTime })).optional();

/**
 * A guild model record as stored, now or before blobs (when it held absolute paths inside DATA_DIR
 * and `lossCurvePngPath`), read back in today's shape: paths become keys, and a path outside
 * DATA_DIR (or any path when DATA_DIR is unknown) refuses the record.
 */
export function guildModelSchemaFor(dataDir: string | undefined): z.ZodType<GuildModel> {
  return z
    .object({
      modelDir: z.string().min(1),
      trainedAt: isoTime,
      trainedBy: z.string(),
      epochs: int.min(0),
      from: z.enum(['default', 'scratch']),
      corpusFiles: int.min(0),
      metrics: z.record(z.string(), z.number()),
      summary: z.string(),
      lossCurveKey: z.string().optional(),
      lossCurvePngPath: z.string().optional(),
      previousModelDir: z.string().optional(),
      sources: modelSourcesSchema,
      removedSources: removedSourcesSchema,
    })
    .transform((stored, ctx): GuildModel => {
      const { lossCurvePngPath, lossCurveKey, previousModelDir, ...rest } = stored;
      const modelDir = prefixOf(stored.modelDir, dataDir);
      if (modelDir === undefined) {
        ctx.addIssue({ code: 'custom', path: ['modelDir'], message: 'neither a blob prefix nor a folder inside DATA_DIR' });
        return z.NEVER;
      }
      // The curve and the rollback version are extras: one that cannot be named is dropped, not fatal.
      const curve = lossCurveKey ?? (lossCurvePngPath ? keyOf(lossCurvePngPath, dataDir) : undefined);
      const previous = previousModelDir === undefined ? undefined : prefixOf(previousModelDir, dataDir);
      return { ...rest, modelDir, ...(curve ? { lossCurveKey: curve } : {}), ...(previous ? { previousModelDir: previous } : {}) };
    });
}

/** A blob prefix as is; an absolute folder inside DATA_DIR as its prefix; anything else undefined. */
function prefixOf(value: string, dataDir: string | undefined): string | undefined {
  if (isBlobPrefix(value)) return value;
  const key = dataDir && isAbsolute(value) ? keyFromDataPath(dataDir, value) : undefined;
  return key ? `${key}/` : undefined;
}

function keyOf(value: string, dataDir: string | undefined): string | undefined {
  if (isBlobKey(value)) return value;
  return dataDir && isAbsolute(value) ? keyFromDataPath(dataDir, value) : undefined;
}

export const resultRecordSchema: z.ZodType<ResultRecord> = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  guildId: snowflake,
  channelId: z.string(),
  userId: z.string(),
  createdAt: isoTime,
  options: z.object({
    length: int.min(1),
    temperature: z.number().optional(),
    program: int.optional(),
    qpm: z.number().optional(),
    seedName: z.string().optional(),
    seedSteps: int.min(0).optional(),
    continuedFrom: z.string().optional(),
    style: z.string().max(32).optional(),
  }),
  dir: z.string(),
  midiPath: z.string(),
  mp3Path: z.string(),
  pngPath: z.string(),
  opusPath: z.string().optional(),
  durationSeconds: z.number().min(0),
  qpm: z.number().positive(),
  program: int.min(0).max(127),
  keyGuess: z.string(),
  modelName: z.string(),
  randomSeed: int,
  sequence: noteSequenceSchema,
});

export const idListSchema = z.array(z.string());
