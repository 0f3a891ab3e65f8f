/**
 * /train as a conversation: a queued worker job fine-tunes a model on the guild's corpus, the
 * reply shows epoch, loss and ETA, and the result arrives by channel message if it outlives the
 * interaction token. Each run writes a new model version in the blob store (the one in use is never
 * written over); the guild switches to it only after training succeeded, and a failed or cancelled
 * run leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AttachmentBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { isMotifError, MotifError } from '../errors.js';
import { formatBytes } from '../music/midi-limits.js';
import { freeBytes } from '../util/disk-full.js';
import type { TrainProgress } from '../jobs/motif-jobs.js';
import type { GuildTrainResult } from '../jobs/train.js';
import { LocalBlobStore } from '../storage/blobs/local-blob-store.js';
import { guildKeys, type GuildModel } from '../storage/index.js';
import type { BotContext } from './context.js';
import { guildIdOf } from './permissions.js';
import { ProgressReporter } from './progress-reporter.js';
import { progressMessage, positionText } from './result-message.js';
import { NO_MENTIONS, describeError } from './replies.js';

export interface TrainFlowOptions {
  epochs: number;
  from: 'default' | 'scratch';
}

/**
 * @param budgetLeftSeconds time left of TRAIN_MAX_MINUTES, when known: an ETA past it would promise
 *   epochs the run will not reach, so the admin is told when it will stop instead.
 */
export function trainProgressText(p: TrainProgress, budget?: { leftSeconds: number; minutes: number }): string {
  const head = `Training: epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}, loss ${p.loss.toFixed(3)}`;
  if (budget && p.etaSeconds > budget.leftSeconds) {
    return `${head}; stops at its ${minutesText(budget.minutes)} time budget in about ${durationText(Math.max(0, budget.leftSeconds))}, keeping its best epoch.`;
  }
  return `${head}, about ${durationText(p.etaSeconds)} left.`;
}

function durationText(seconds: number): string {
  return seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`;
}

/**
 * @throws MotifError DATA_EMPTY (no corpus), ALREADY_EXISTS (a training already queued), DISK_FULL
 *   (no room for a model, before the queue), QUEUE_FULL,
 *   or the job's error (TRAINING_FAILED, JOB_CANCELLED, JOB_FAILED).
 */
export async function runTraining(interaction: ChatInputCommandInteraction, ctx: BotContext, opts: TrainFlowOptions): Promise<GuildModel | undefined> {
  const guildId = guildIdOf(interaction);
  const corpus = await ctx.storage.corpus.list(guildId);
  if (corpus.length === 0) throw new MotifError('DATA_EMPTY', 'This server has no corpus yet: add MIDI or audio files with /corpus add first.');
  if ((await ctx.queue.list({ guildId })).some((job) => job.kind === 'train')) {
    throw new MotifError('ALREADY_EXISTS', 'A training run is already queued on this server. See /queue, or /train cancel.');
  }
  await removeOtherVersions(ctx, guildId, versionsInUse(await ctx.storage.models.get(guildId)));
  // A new version every run: the model in use is never written over, and workers that cached it stay right.
  const modelPrefix = guildKeys.modelVersion(guildId, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`);
  if (ctx.blobs instanceof LocalBlobStore) {
    const modelsDir = ctx.blobs.pathOf(guildKeys.modelsPrefix(guildId));
    await mkdir(modelsDir, { recursive: true });
    await assertRoomForModel(modelsDir, ctx.config.defaultModelDir);
  }
  const handle = await ctx.queue.enqueue(
    'train',
    {
      guildId,
      corpusKeys: corpus.map((entry) => guildKeys.corpusFile(guildId, entry.id)),
      modelPrefix,
      blobs: ctx.jobBlobs,
      epochs: opts.epochs,
      fromModelDir: opts.from === 'default' ? ctx.config.defaultModelDir : undefined,
      timeBudgetSeconds: ctx.config.trainMaxMinutes * 60,
    },
    { guildId, userId: interaction.user.id, channelId: interaction.channelId, label: `train ${opts.epochs} epochs from ${opts.from}` },
  );
  await interaction.deferReply();
  const reporter = new ProgressReporter(interaction, ctx.logger, ctx.tokenLifetimeMs);
  reporter.show(progressMessage(handle.id, positionText('Training', handle.position())), { force: true });
  handle.onPosition((position) => reporter.show(progressMessage(handle.id, positionText('Training', position)), { force: true }));
  // The budget runs from the job's start in its worker, which its first progress report follows closely.
  let startedAt: number | undefined;
  const budgetSeconds = ctx.config.trainMaxMinutes * 60;
  handle.onProgress((p) => {
    startedAt ??= Date.now();
    const budget = { leftSeconds: budgetSeconds - (Date.now() - startedAt) / 1000, minutes: ctx.config.trainMaxMinutes };
    reporter.show(progressMessage(handle.id, trainProgressText(p, budget)));
  });
  try {
    const result = await handle.result;
    if (!worthSwitchingTo(result, opts)) {
      await ctx.blobs.deletePrefix(result.modelPrefix);
      await reporter.finish({
        content:
          `**Training stopped at its ${minutesText(ctx.config.trainMaxMinutes)} time budget** before one pass over the corpus finished, ` +
          'which is too little for a model trained from scratch to compose with, so nothing was kept and this server keeps its current model. ' +
          'Run `/train start from:default` (fine-tuning gets further in the same time), or ask the operator to raise TRAIN_MAX_MINUTES.',
        components: [],
        allowedMentions: NO_MENTIONS,
      });
      return undefined;
    }
    const current = await ctx.storage.models.get(guildId);
    const model: GuildModel = {
      modelDir: result.modelPrefix,
      trainedAt: new Date().toISOString(),
      trainedBy: interaction.user.id,
      epochs: opts.epochs,
      from: opts.from,
      corpusFiles: corpus.length,
      metrics: result.metrics,
      summary: result.summary,
      lossCurveKey: result.lossCurveKey,
      // Kept until the next run replaces this model, so an operator can roll back.
      ...(current && current.modelDir !== result.modelPrefix ? { previousModelDir: current.modelDir } : {}),
      // What it learnt from, with the licences the uploaders stated: /model info credits them.
      sources: corpus.map((e) => ({ id: e.id, name: e.name, licence: e.licence, attribution: e.attribution, addedBy: e.addedBy })),
    };
    await ctx.storage.models.set(guildId, model);
    await ctx.storage.settings.update(guildId, { model: 'guild' });
    // Only after the record switched: older versions go, the one just replaced stays for rollback.
    await removeOtherVersions(ctx, guildId, versionsInUse(model));
    const lossCurve = await ctx.blobs.get(result.lossCurveKey);
    const headline = result.stoppedAtTimeBudget
      ? `**Training stopped at its ${minutesText(ctx.config.trainMaxMinutes)} time budget** after ${result.completedEpochs} of ${opts.epochs} epochs. ` +
        'This server now composes with the best epoch it reached (`/model use default` switches back); for a complete run, ask for fewer epochs or ask the operator to raise TRAIN_MAX_MINUTES.'
      : '**Training finished** — this server now composes with its own model (`/model use default` switches back).';
    await reporter.finish({
      content: `${headline}\n${result.summary.slice(0, 1500)}`,
      files: [new AttachmentBuilder(lossCurve, { name: 'loss-curve.png' })],
      components: [],
      allowedMentions: NO_MENTIONS,
    });
    return model;
  } catch (error) {
    await reporter.stop();
    // A guild run is never resumed: its half-made version goes (a crashed worker could not remove
    // it), and on the local disk its work folder and epoch checkpoint too.
    await ctx.blobs.deletePrefix(modelPrefix).catch((cleanupError: unknown) => ctx.logger.warn('could not remove a failed model version', { modelPrefix, error: cleanupError }));
    await removeOtherVersions(ctx, guildId, versionsInUse(await ctx.storage.models.get(guildId))).catch(() => undefined);
    // A crashed run: the admin also learns the server did not lose its model.
    if (isMotifError(error) && error.code === 'JOB_FAILED') {
      error = new MotifError('JOB_FAILED', `${error.userMessage} This server keeps composing with its current model.`, { cause: error });
    }
    if (reporter.tokenAlive) throw error;
    // The token is gone, so the router could not answer: say it in the channel instead.
    await reporter.finish({ content: `Training did not finish: ${describeError(error, ctx.logger, { guildId, job: handle.id })}`, allowedMentions: NO_MENTIONS });
    return undefined;
  }
}

/**
 * Whether a run is better than the model the guild has. A finished run is. A run the time budget
 * stopped keeps its best validated epoch, which is worth switching to when it fine-tuned the shipped
 * model (it starts from trained weights, so even a few hundred steps on the guild's pieces compose
 * well) or made at least one whole pass over the corpus; a from-scratch run cut short inside its
 * first pass has seen part of the corpus once and would compose noise, so the guild keeps what it has.
 */
export function worthSwitchingTo(result: Pick<GuildTrainResult, 'stoppedAtTimeBudget' | 'completedEpochs'>, opts: Pick<TrainFlowOptions, 'from'>): boolean {
  return !result.stoppedAtTimeBudget || opts.from === 'default' || result.completedEpochs >= 1;
}

function minutesText(minutes: number): string {
  return minutes >= 1 && Number.isInteger(minutes) ? `${minutes}-minute` : `${Math.round(minutes * 60)}-second`;
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
 * cancelled run's worker may finish writing its model after the flow has given up, and a crashed
 * one leaves what it had written. On the local disk this also removes a run's work folder (named
 * `<version>~work`, which no key lists).
 */
async function removeOtherVersions(ctx: BotContext, guildId: string, keep: readonly string[]): Promise<void> {
  const prefix = guildKeys.modelsPrefix(guildId);
  if (ctx.blobs instanceof LocalBlobStore) {
    const local = ctx.blobs;
    const modelsDir = local.pathOf(prefix);
    const keepDirs = new Set(keep.filter((k) => k.startsWith(prefix)).map((k) => local.pathOf(k)));
    const names = await readdir(modelsDir).catch(() => [] as string[]);
    const stale = names.map((name) => join(modelsDir, name)).filter((dir) => !keepDirs.has(dir));
    await Promise.all(stale.map((dir) => rm(dir, { recursive: true, force: true })));
    return;
  }
  const versions = new Set((await ctx.blobs.list(prefix)).map((blob) => `${prefix}${blob.key.slice(prefix.length).split('/')[0]}/`));
  for (const version of versions) if (!keep.includes(version)) await ctx.blobs.deletePrefix(version);
}
