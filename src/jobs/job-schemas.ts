/**
 * What each Motif job's data must look like when a worker reads it back from Redis (BullMQ): a
 * job's data there is only as trustworthy as everything else that can write to that Redis, so it is
 * checked the way storage reads are (src/storage/schemas.ts) before a processor sees it. The
 * in-process queue hands the producer's own object to its worker thread and needs no check.
 *
 * Also the retry policy per kind, for a failure that is not a MotifError (a crash, a bug).
 */
import { z } from 'zod';
import type { JobDataSchemas } from './bullmq-queue.js';
import type { MotifJobs } from './motif-jobs.js';
import { noteSequenceSchema } from './read-midi-job.js';

const path = z.string().min(1).max(4096);
const optionalPath = path.optional();

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
});

const trainData = z.object({
  corpusDir: path,
  outDir: path,
  epochs: z.number().int().min(1).max(10_000),
  fromModelDir: optionalPath,
  timeBudgetSeconds: z.number().positive().optional(),
});

const transcribeData = z.object({
  inputPath: path,
  outDir: path,
  ffmpegPath: optionalPath,
  maxBytes: z.number().int().positive(),
  maxDurationSeconds: z.number().positive(),
});

const voiceAudioData = z.object({
  source: z.object({ id: z.string().min(1).max(64), dir: path, midiPath: path, opusPath: optionalPath, sequence: noteSequenceSchema }),
  settings: z.object({ soundfont: z.string().max(200).optional(), soundfontDir: optionalPath, ffmpegPath: optionalPath }),
});

const readMidiData = z.object({ path, maxBytes: z.number().int().positive(), withSequence: z.boolean() });

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
 * try usually works); a training run is not, because it would start over from scratch for up to
 * TRAIN_MAX_MINUTES (resuming from its checkpoint comes with worker processes).
 */
export const MOTIF_ATTEMPTS: Readonly<Record<keyof MotifJobs, number>> = Object.freeze({
  compose: 2,
  'voice-audio': 2,
  'read-midi': 1,
  transcribe: 2,
  train: 1,
});
