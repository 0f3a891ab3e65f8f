/**
 * What each Motif job's data must look like when a worker reads it back from Redis (BullMQ): a
 * job's data there is only as trustworthy as everything else that can write to that Redis, so it is
 * checked the way storage reads are (src/storage/schemas.ts) before a processor sees it. The
 * in-process queue hands the producer's own object to its worker thread and needs no check.
 *
 * Results coming back are checked too (MOTIF_RESULT_CHECKS): a result names files the bot reads and
 * posts to Discord, so it may only name files inside the folder the job was given.
 *
 * Also the retry policy per kind, for a failure that is not a MotifError (a crash, a bug).
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import type { JobDataSchemas, JobResultChecks } from './bullmq-queue.js';
import type { MotifJobs } from './motif-jobs.js';
import { noteSequenceSchema, parseReadMidiJobResult } from './read-midi-job.js';
import { isBlobKey, isBlobPrefix } from '../storage/blobs/blob-store.js';
import { hasPassword } from './job-blobs.js';

const path = z.string().min(1).max(4096);
const optionalPath = path.optional();
const blobKey = z.string().refine(isBlobKey, 'not a blob key');
const blobPrefix = z.string().refine(isBlobPrefix, 'not a blob prefix');
/** A password in job data would sit in Redis for anyone who can read it: workers get it otherwise (job-blobs.ts). */
const blobSettings = z.object({
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'not a postgresql:// URL')
    .refine((url) => !hasPassword(url), 'carries a password')
    .optional(),
  dataDir: path,
  schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
  modelCacheSize: z.number().int().min(1).max(64).optional(),
});

const composeData = z.object({
  length: z.number().int().min(1).max(2000),
  temperature: z.number().positive().max(10).optional(),
  topP: z.number().gt(0).max(1).optional(),
  program: z.number().int().min(0).max(127).optional(),
  qpm: z.number().positive().max(1000).optional(),
  seed: noteSequenceSchema.optional(),
  seedMidiPath: optionalPath,
  key: z.string().max(40).optional(),
  modelDir: optionalPath,
  style: z.string().max(40).optional(),
  soundfont: z.string().max(200).optional(),
  randomSeed: z.number().int().optional(),
  outDir: path,
  baseName: z.string().max(200).optional(),
  withOpus: z.boolean().optional(),
  maxAudioBytes: z.number().int().positive().optional(),
  soundfontDir: optionalPath,
  ffmpegPath: optionalPath,
  maxLength: z.number().int().positive().optional(),
  maxSeedBytes: z.number().int().positive().optional(),
  blobs: blobSettings.optional(),
  resultKey: blobPrefix.optional(),
  seedMidiKey: blobKey.optional(),
});

const trainData = z.object({
  guildId: z.string().regex(/^\d{1,25}$/),
  corpusKeys: z.array(blobKey).max(10_000),
  modelPrefix: blobPrefix,
  blobs: blobSettings,
  epochs: z.number().int().min(1).max(10_000),
  fromModelDir: optionalPath,
  timeBudgetSeconds: z.number().positive().optional(),
});

const transcribeData = z.object({
  inputPath: path,
  outDir: path,
  inputKey: blobKey.optional(),
  outputKey: blobKey.optional(),
  blobs: blobSettings.optional(),
  ffmpegPath: optionalPath,
  maxBytes: z.number().int().positive(),
  maxDurationSeconds: z.number().positive(),
});

const voiceAudioData = z.object({
  source: z.object({ id: z.string().min(1).max(64), dir: path, midiPath: path, opusPath: optionalPath, sequence: noteSequenceSchema }),
  settings: z.object({ soundfont: z.string().max(200).optional(), soundfontDir: optionalPath, ffmpegPath: optionalPath }),
  oggKey: blobKey.optional(),
  blobs: blobSettings.optional(),
});

const readMidiData = z.object({ path, key: blobKey.optional(), blobs: blobSettings.optional(), maxBytes: z.number().int().positive(), withSequence: z.boolean() });

export const MOTIF_JOB_SCHEMAS: JobDataSchemas<MotifJobs> = Object.freeze({
  compose: composeData,
  train: trainData,
  transcribe: transcribeData,
  'voice-audio': voiceAudioData,
  'read-midi': readMidiData,
});

/**
 * Tries per kind when a job fails for a reason that is not a MotifError (a MotifError is final):
 * a compose that hit a crashed worker is tried once more (the person is still waiting, and a second
 * try usually works); a training run too, and it continues from its last stored checkpoint instead
 * of starting over.
 */
export const MOTIF_ATTEMPTS: Readonly<Record<keyof MotifJobs, number>> = Object.freeze({
  compose: 2,
  'voice-audio': 2,
  'read-midi': 1,
  transcribe: 2,
  // A crashed or killed worker's run is tried once more, from its last stored checkpoint (train.ts).
  train: 2,
});

/** `path` is `dir` or inside it (after resolving `..`). */
function inside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function requireInside(dir: string, paths: Record<string, string | undefined>): void {
  for (const [name, path] of Object.entries(paths)) {
    if (path !== undefined && path !== '' && !inside(dir, path)) throw new Error(`${name} is outside the job's folder`);
  }
}

const composeResult = z
  .object({
    midiPath: path,
    mp3Path: z.string().max(4096),
    pngPath: path,
    opusPath: optionalPath,
    generatedEvents: z.number().int().nonnegative(),
    noteCount: z.number().int().nonnegative(),
    durationSeconds: z.number().nonnegative(),
    qpm: z.number().positive(),
    program: z.number().int().min(0).max(127),
    keyGuess: z.string().max(40),
    modelName: z.string().max(200),
    randomSeed: z.number().int(),
    sequence: noteSequenceSchema,
  })
  .passthrough();
const trainResult = z.object({
  modelPrefix: blobPrefix,
  metrics: z.record(z.string(), z.number()),
  lossCurveKey: blobKey,
  summary: z.string().max(4000),
  stoppedAtTimeBudget: z.boolean(),
  completedEpochs: z.number().int().nonnegative(),
});
const transcribeResult = z.object({ midiPath: path, noteCount: z.number().int().nonnegative(), durationSeconds: z.number().nonnegative() });
const voiceAudioResult = z.object({ oggPath: path, rendered: z.boolean() });

export const MOTIF_RESULT_CHECKS: JobResultChecks<MotifJobs> = Object.freeze({
  compose: (value, data) => {
    const result = composeResult.parse(value);
    requireInside(data.outDir, { midiPath: result.midiPath, mp3Path: result.mp3Path, pngPath: result.pngPath, opusPath: result.opusPath });
    return result as unknown as MotifJobs['compose']['result'];
  },
  train: (value, data) => {
    const result = trainResult.parse(value);
    // The bot deletes and posts by these keys: they must be the version it asked for.
    if (result.modelPrefix !== data.modelPrefix) throw new Error("modelPrefix is not the job's version");
    if (!result.lossCurveKey.startsWith(data.modelPrefix)) throw new Error("lossCurveKey is outside the job's version");
    return result;
  },
  transcribe: (value, data) => {
    const result = transcribeResult.parse(value);
    requireInside(data.outDir, { midiPath: result.midiPath });
    return result;
  },
  'voice-audio': (value, data) => {
    const result = voiceAudioResult.parse(value);
    requireInside(data.source.dir, { oggPath: result.oggPath });
    return result;
  },
  'read-midi': (value) => parseReadMidiJobResult(value),
});
