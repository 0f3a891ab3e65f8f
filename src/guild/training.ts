/**
 * Training a guild's own model: a queued worker job fine-tunes (or trains from scratch) a model on
 * the guild's corpus. Each run writes a new model version in the blob store (the one in use is never
 * written over); the guild switches to it only after training succeeded, the version it replaced is
 * kept for rollback, and a failed or cancelled run leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMotifError, MotifError } from '../errors.js';
import type { TrainProgress } from '../jobs/motif-jobs.js';
import type { JobHandle } from '../jobs/queue.js';
import type { GuildTrainResult } from '../jobs/train.js';
import { formatBytes } from '../music/midi-limits.js';
import { isBlobPrefix, type BlobStore } from '../storage/blobs/blob-store.js';
import { LocalBlobStore } from '../storage/blobs/local-blob-store.js';
import { guildKeys, type GuildModel } from '../storage/index.js';
import { modelSourcesSchema } from '../storage/schemas.js';
import { freeBytes } from '../util/disk-full.js';
import { requireAdmin, type GuildActor, type JobDeps, type TrainingDeps } from './guild-deps.js';

export interface TrainRequest {
  /** Passes over the corpus, 1–50 (the command's range). */
  epochs: number;
  /** Fine-tune the shipped model, or start from random weights. */
  from: 'default' | 'scratch';
  /** Where the admin asked, for the job's record. */
  channelId?: string;
}

/** What is left of the run's time budget (TRAIN_MAX_MINUTES) when a progress report arrives. */
export interface TrainBudget {
  /** May be negative once the budget is spent and the run is finishing its step. */
  leftSeconds: number;
  minutes: number;
}

export type TrainHandle = JobHandle<GuildTrainResult, TrainProgress>;

export interface TrainCallbacks {
  /**
   * Called once the job is queued, before its result is awaited (acknowledge, show the position). If
   * it throws, the call ends with that error and the job runs on; its version is removed by the
   * guild's next run.
   */
  onQueued?: (handle: TrainHandle) => Promise<void> | void;
  /** Each progress report, with the budget left (an ETA past it would promise epochs the run will not reach). */
  onProgress?: (progress: TrainProgress, budget: TrainBudget) => void;
}

export type TrainOutcome =
  /** The guild now composes with `model`; `lossCurve` is its PNG. */
  | { kept: true; model: GuildModel; result: GuildTrainResult; lossCurve: Buffer }
  /** The time budget stopped a from-scratch run inside its first pass: nothing kept, the guild keeps its model. */
  | { kept: false; result: GuildTrainResult };

/**
 * A training run as it is queued: all the finishing step needs besides the job's result. Plain data,
 * stored with the run's delivery record, so a bot that restarts while the run goes on can still
 * switch the guild to its model (src/bot/delivery.ts).
 */
export interface TrainPlan {
  guildId: string;
  userId: string;
  /** The new version's blob prefix. */
  modelPrefix: string;
  epochs: number;
  from: 'default' | 'scratch';
  /** The corpus as it was queued: what the model learns from, and whom it credits. */
  sources: NonNullable<GuildModel['sources']>;
  /** TRAIN_MAX_MINUTES in seconds. */
  budgetSeconds: number;
}

export const trainPlanSchema = z.object({
  guildId: z.string().regex(/^\d{1,25}$/),
  userId: z.string().regex(/^\d{1,25}$/),
  modelPrefix: z.string().refine(isBlobPrefix, 'not a blob prefix'),
  epochs: z.number().int().positive(),
  from: z.enum(['default', 'scratch']),
  sources: modelSourcesSchema.unwrap(),
  budgetSeconds: z.number().positive(),
});

/**
 * Trains a new version of the guild's model and switches the guild to it when worth it:
 * {@link startGuildTraining}, then `onQueued`, then {@link finishGuildTraining}.
 * @throws MotifError PERMISSION_DENIED (not an admin), DATA_EMPTY (no corpus), ALREADY_EXISTS (a
 *   training already queued), DISK_FULL (no room for a model, before the queue), QUEUE_FULL, what
 *   `onQueued` throws, or the job's error (TRAINING_FAILED, DISK_FULL, JOB_CANCELLED, JOB_FAILED
 *   saying the server keeps its current model, JOB_HANDED_OVER).
 */
export async function runGuildTraining(deps: TrainingDeps, actor: GuildActor, req: TrainRequest, callbacks: TrainCallbacks = {}): Promise<TrainOutcome> {
  const { handle, plan } = await startGuildTraining(deps, actor, req);
  await callbacks.onQueued?.(handle);
  return finishGuildTraining(deps, plan, handle, callbacks);
}

/**
 * The checks, then the queued job.
 * @throws MotifError PERMISSION_DENIED, DATA_EMPTY, ALREADY_EXISTS, DISK_FULL, QUEUE_FULL, QUEUE_UNAVAILABLE.
 */
export async function startGuildTraining(deps: TrainingDeps, actor: GuildActor, req: TrainRequest): Promise<{ handle: TrainHandle; plan: TrainPlan }> {
  requireAdmin(actor, 'train a model');
  const { guildId } = actor;
  const corpus = await deps.storage.corpus.list(guildId);
  if (corpus.length === 0) throw new MotifError('DATA_EMPTY', 'This server has no corpus yet: add MIDI or audio files with /corpus add first.');
  if ((await deps.queue.list({ guildId })).some((job) => job.kind === 'train')) {
    throw new MotifError('ALREADY_EXISTS', 'A training run is already queued on this server. See /queue, or /train cancel.');
  }
  await removeOtherVersions(deps.blobs, guildId, versionsInUse(await deps.storage.models.get(guildId)));
  // A new version every run: the model in use is never written over, and workers that cached it stay right.
  const modelPrefix = guildKeys.modelVersion(guildId, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`);
  if (deps.blobs instanceof LocalBlobStore) {
    const modelsDir = deps.blobs.pathOf(guildKeys.modelsPrefix(guildId));
    await mkdir(modelsDir, { recursive: true });
    await assertRoomForModel(modelsDir, deps.config.defaultModelDir);
  }
  const budgetSeconds = deps.config.trainMaxMinutes * 60;
  const handle = await deps.queue.enqueue(
    'train',
    {
      guildId,
      corpusKeys: corpus.map((entry) => guildKeys.corpusFile(guildId, entry.id)),
      modelPrefix,
      blobs: deps.jobBlobs,
      epochs: req.epochs,
      fromModelDir: req.from === 'default' ? deps.config.defaultModelDir : undefined,
      timeBudgetSeconds: budgetSeconds,
    },
    { guildId, userId: actor.userId, channelId: req.channelId, label: `train ${req.epochs} epochs from ${req.from}` },
  );
  const plan: TrainPlan = {
    guildId,
    userId: actor.userId,
    modelPrefix,
    epochs: req.epochs,
    from: req.from,
    // What it learns from, with the licences the uploaders stated: /model info credits them.
    sources: corpus.map((e) => ({ id: e.id, name: e.name, licence: e.licence, attribution: e.attribution, addedBy: e.addedBy })),
    budgetSeconds,
  };
  return { handle, plan };
}

/**
 * Follows a queued run to its end (also one queued before this process started) and switches the
 * guild to its model when worth it; a failed run leaves nothing behind. A run this process stops
 * following before it ended (JOB_HANDED_OVER: it goes on in a worker) is left alone.
 * @throws MotifError the job's error (see runGuildTraining).
 */
export async function finishGuildTraining(deps: TrainingDeps, plan: TrainPlan, handle: TrainHandle, callbacks: Pick<TrainCallbacks, 'onProgress'> = {}): Promise<TrainOutcome> {
  const { guildId, modelPrefix } = plan;
  // The budget runs from the job's start in its worker, which its first progress report follows closely.
  let startedAt: number | undefined;
  handle.onProgress((p) => {
    startedAt ??= Date.now();
    callbacks.onProgress?.(p, { leftSeconds: plan.budgetSeconds - (Date.now() - startedAt) / 1000, minutes: plan.budgetSeconds / 60 });
  });
  try {
    const result = await handle.result;
    if (!worthSwitchingTo(result, plan)) {
      await deps.blobs.deletePrefix(result.modelPrefix);
      return { kept: false, result };
    }
    const current = await deps.storage.models.get(guildId);
    const model: GuildModel = {
      modelDir: result.modelPrefix,
      trainedAt: new Date().toISOString(),
      trainedBy: plan.userId,
      epochs: plan.epochs,
      from: plan.from,
      corpusFiles: plan.sources.length,
      metrics: result.metrics,
      summary: result.summary,
      lossCurveKey: result.lossCurveKey,
      // Kept until the next run replaces this model, so an operator can roll back.
      ...(current && current.modelDir !== result.modelPrefix ? { previousModelDir: current.modelDir } : {}),
      sources: plan.sources,
    };
    await deps.storage.models.set(guildId, model);
    await deps.storage.settings.update(guildId, { model: 'guild' });
    // Only after the record switched: older versions go, the one just replaced stays for rollback.
    await removeOtherVersions(deps.blobs, guildId, versionsInUse(model));
    return { kept: true, model, result, lossCurve: await deps.blobs.get(result.lossCurveKey) };
  } catch (error) {
    // This process stops; the run does not: its version is being written, and the next start finishes the job.
    if (isMotifError(error) && error.code === 'JOB_HANDED_OVER') throw error;
    // A failed run's half-made version goes (a crashed worker could not remove it), and on the local
    // disk its work folder and epoch checkpoint too.
    await deps.blobs.deletePrefix(modelPrefix).catch((cleanupError: unknown) => deps.logger.warn('could not remove a failed model version', { modelPrefix, error: cleanupError }));
    // Its stored checkpoint too: a cancelled run leaves it for nobody, and a worker that died on its
    // last attempt could not remove it.
    await deps.blobs.deletePrefix(guildKeys.checkpointOf(modelPrefix)).catch(() => undefined);
    await removeOtherVersions(deps.blobs, guildId, versionsInUse(await deps.storage.models.get(guildId))).catch(() => undefined);
    // A crashed run: the admin also learns the server did not lose its model.
    if (isMotifError(error) && error.code === 'JOB_FAILED') {
      throw new MotifError('JOB_FAILED', `${error.userMessage} This server keeps composing with its current model.`, { cause: error });
    }
    throw error;
  }
}

/**
 * Cancels the guild's queued or running training.
 * @returns the cancelled job's id.
 * @throws MotifError PERMISSION_DENIED (not an admin), NOT_FOUND when no training is queued or running.
 */
export async function cancelGuildTraining(deps: Pick<JobDeps, 'queue'>, actor: GuildActor): Promise<string> {
  requireAdmin(actor, 'train a model');
  const job = (await deps.queue.list({ guildId: actor.guildId })).find((j) => j.kind === 'train');
  if (!job) throw new MotifError('NOT_FOUND', 'No training is queued or running on this server.');
  await deps.queue.cancel(job.id, { guildId: actor.guildId, userId: actor.userId, isAdmin: true });
  return job.id;
}

/**
 * Whether a run is better than the model the guild has. A finished run is. A run the time budget
 * stopped keeps its best validated epoch, which is worth switching to when it fine-tuned the shipped
 * model (it starts from trained weights, so even a few hundred steps on the guild's pieces compose
 * well) or made at least one whole pass over the corpus; a from-scratch run cut short inside its
 * first pass has seen part of the corpus once and would compose noise, so the guild keeps what it has.
 */
export function worthSwitchingTo(result: Pick<GuildTrainResult, 'stoppedAtTimeBudget' | 'completedEpochs'>, req: Pick<TrainRequest, 'from'>): boolean {
  return !result.stoppedAtTimeBudget || req.from === 'default' || result.completedEpochs >= 1;
}

/**
 * Refuses before the queue when the disk cannot hold even the weights of a model like the default
 * one: an admin should not wait for a training run that can only fail when it saves. (A run that
 * passes this and still fills the disk fails with DISK_FULL from the job, keeping the old model.)
 */
async function assertRoomForModel(modelsDir: string, referenceModelDir: string): Promise<void> {
  const [free, weights] = await Promise.all([freeBytes(modelsDir), stat(join(referenceModelDir, 'weights.bin')).catch(() => undefined)]);
  const needed = weights?.size ?? 0;
  if (free === undefined || free >= needed) return;
  throw new MotifError(
    'DISK_FULL',
    `The server's disk is full: a new model needs about ${formatBytes(needed)} and only ${formatBytes(free)} is free, so training did not start. ` +
      "This server keeps composing with its current model. Tell the bot's operator, and run /train again once space is freed.",
  );
}

/** The versions a guild's record points at: the model in use and the one kept for rollback. */
function versionsInUse(model: GuildModel | undefined): string[] {
  return model ? [model.modelDir, ...(model.previousModelDir ? [model.previousModelDir] : [])] : [];
}

/**
 * With no training of this guild queued, every model version but those in use is a leftover: a
 * cancelled run's worker may finish writing its model after the caller has given up, and a crashed
 * one leaves what it had written. On the local disk this also removes a run's work folder (named
 * `<version>~work`, which no key lists).
 */
async function removeOtherVersions(blobs: BlobStore, guildId: string, keep: readonly string[]): Promise<void> {
  const prefix = guildKeys.modelsPrefix(guildId);
  if (blobs instanceof LocalBlobStore) {
    const modelsDir = blobs.pathOf(prefix);
    const keepDirs = new Set(keep.filter((k) => k.startsWith(prefix)).map((k) => blobs.pathOf(k)));
    const names = await readdir(modelsDir).catch(() => [] as string[]);
    const stale = names.map((name) => join(modelsDir, name)).filter((dir) => !keepDirs.has(dir));
    await Promise.all(stale.map((dir) => rm(dir, { recursive: true, force: true })));
    return;
  }
  const versions = new Set((await blobs.list(prefix)).map((blob) => `${prefix}${blob.key.slice(prefix.length).split('/')[0]}/`));
  for (const version of versions) if (!keep.includes(version)) await blobs.deletePrefix(version);
}
