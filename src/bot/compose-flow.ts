/**
 * The compose conversation shared by /compose and the Regenerate/Continue buttons: check the
 * request against the limits and enqueue it weighted by its size (an over-limit seed or a full
 * queue is refused before anything is shown, unless the caller already deferred to download an
 * upload), defer, show position and progress, post the MIDI and piano roll as soon as they exist,
 * then add the audio (sized to this interaction's upload limit) and the buttons by editing the
 * reply. The result is recorded just before its buttons are posted (so a press finds it) and
 * removed again if the post fails: no record (so /seed save and the buttons cannot use a result
 * whose files are gone), no files, and no older result pushed out for it.
 *
 * Durable: a delivery record (storage, with the interaction token) is kept from the enqueue until
 * the conversation ends, so a bot that restarts meanwhile finishes it (delivery.ts calls
 * followCompose with the stored reply). With a remote blob store (BLOB_URL) the worker may be on
 * another machine: the seed goes to it, and the files come back, by key.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import { z } from 'zod';
import { MotifError, isMotifError } from '../errors.js';
import type { Message } from 'discord.js';
import { MP3_BITRATE_KBPS } from '../audio/encode.js';
import { checkComposeRequest, estimateCompose } from '../jobs/compose-limits.js';
import type { ComposeFirstFiles, ComposeResult } from '../jobs/compose-contract.js';
import type { ComposeJobData, ComposeProgress } from '../jobs/motif-jobs.js';
import type { JobHandle } from '../jobs/queue.js';
import type { NoteSequence } from '../music/note-sequence.js';
import { guildKeys, guildPaths, type ResultRecord } from '../storage/index.js';
import { composerFor } from '../guild/composer.js';
import { soundfontFor } from '../guild/settings.js';
import { enforceResultsBudget } from '../storage/results-budget.js';
import type { BotContext } from './context.js';
import { guildIdOf } from './permissions.js';
import { audioNote, firstFilesMessage, firstFilesText, progressMessage, positionText, resultMessage } from './result-message.js';
import { ProgressReporter, type ReplyTarget } from './progress-reporter.js';
import { forgetDelivery, recordDelivery } from './delivery-records.js';

export interface ComposeFlowOptions {
  /** Notes-or-chords to generate, already validated against MAX_COMPOSE_LENGTH. */
  length: number;
  temperature?: number;
  program?: number;
  qpm?: number;
  seed?: NoteSequence;
  /** A downloaded MIDI upload to continue; the compose job reads it in its worker. */
  seedMidiPath?: string;
  seedName?: string;
  continuedFrom?: string;
  /** Start voice playback as soon as the result exists (needs a VoiceService). */
  playWhenReady?: boolean;
  /** A style asked for (a name from styles.ts); otherwise the guild's own model (when chosen) or the guild's default style. */
  style?: string;
}

/**
 * @throws MotifError QUEUE_FULL (before any reply), or the job's MotifError (JOB_FAILED, …) after deferring.
 */
export async function runCompose(interaction: ChatInputCommandInteraction | ButtonInteraction, ctx: BotContext, opts: ComposeFlowOptions): Promise<ResultRecord> {
  const guildId = guildIdOf(interaction);
  const settings = await ctx.storage.settings.get(guildId);
  const resultId = randomBytes(4).toString('hex');
  const outDir = join(guildPaths(ctx.config.dataDir, guildId).resultsDir, resultId);
  const composer = await composerFor(ctx, guildId, settings, opts.style);
  const style = composer.style;
  // A seed keeps its own instrument and tempo unless asked; a piece from scratch gets the style's.
  const fromScratch = !opts.seed && !opts.seedMidiPath;
  const request: ComposeJobData = {
    length: opts.length,
    temperature: opts.temperature ?? settings.temperature ?? style?.temperature,
    topP: style?.topP,
    program: opts.program ?? settings.program ?? (fromScratch ? style?.program : undefined),
    qpm: opts.qpm ?? settings.qpm ?? (fromScratch ? style?.qpm : undefined),
    style: style?.name,
    seed: opts.seed,
    seedMidiPath: opts.seedMidiPath,
    maxSeedBytes: ctx.config.maxMidiBytes,
    modelDir: composer.modelDir,
    soundfont: soundfontFor(settings, ctx.config),
    randomSeed: randomInt(2 ** 31),
    outDir,
    baseName: `motif-${resultId}`,
    // Voice audio is rendered when someone plays the result, except when playing is already asked for.
    withOpus: ctx.voice !== undefined && opts.playWhenReady === true,
    maxAudioBytes: attachmentLimitOf(interaction),
    soundfontDir: ctx.config.soundfontsDir,
    ffmpegPath: ctx.config.ffmpegPath,
    maxLength: ctx.config.maxComposeLength,
    blobs: ctx.jobBlobs,
  };
  // Refused here, before the queue or a reply: a seed that cannot fit never waits for a worker.
  // An uploaded seed (seedMidiPath) is not read on this thread: the job checks it in its worker
  // right after reading, before the model loads, and the refusal reaches the user privately.
  checkComposeRequest(request);
  const seedBytes = opts.seedMidiPath ? (await stat(opts.seedMidiPath)).size : undefined;
  if (remoteBlobs(ctx)) {
    // The worker may be on another machine: the files travel by key (compose-job.ts).
    request.resultKey = guildKeys.resultPrefix(guildId, resultId);
    if (opts.seedMidiPath) {
      // Not under the result's prefix: a failed try clears that, and the retry still needs the seed.
      request.seedMidiKey = seedBlobKey(guildId, resultId);
      await ctx.blobs.putFile(request.seedMidiKey, opts.seedMidiPath);
      // Only the key travels: a path on this machine means nothing to a worker on another.
      delete request.seedMidiPath;
    }
  }
  const startedAt = Date.now();
  const handle = await ctx.queue.enqueue('compose', request, {
    cost: estimateCompose({ ...request, seedBytes }).workSeconds,
    guildId,
    userId: interaction.user.id,
    channelId: interaction.channelId ?? undefined,
    label: `compose length ${opts.length}`,
    maxPerUser: settings.maxPerUser,
  });
  const delivery: ComposeDelivery = {
    resultId,
    outDir,
    maxAudioBytes: request.maxAudioBytes ?? DEFAULT_ATTACHMENT_LIMIT_BYTES,
    options: {
      length: opts.length,
      temperature: request.temperature,
      qpm: request.qpm,
      seedName: opts.seedName,
      seedSteps: opts.seed?.totalSteps,
      continuedFrom: opts.continuedFrom,
      ...(style ? { style: style.name } : {}),
    },
  };
  try {
    if (!interaction.deferred) await interaction.deferReply();
    // Stored before anything can end: whichever bot process sees the job end delivers it, also after a restart.
    await recordDelivery(ctx, interaction, { id: handle.id, kind: 'compose', guildId }, delivery, startedAt);
  } catch (error) {
    await handle.cancel().catch(() => undefined);
    throw error;
  }
  const record = await followCompose(interaction, ctx, handle, delivery, { guildId, startedAt });
  if (opts.playWhenReady && ctx.voice) await ctx.voice.playResult(interaction, record);
  return record;
}

/** What finishing a compose conversation needs besides the job's result; stored with its delivery record. */
export const composeDeliverySchema = z.object({
  resultId: z.string().regex(/^[0-9a-f]{8}$/),
  outDir: z.string().min(1),
  maxAudioBytes: z.number().int().positive(),
  options: z.object({
    length: z.number().int().positive(),
    temperature: z.number().optional(),
    qpm: z.number().optional(),
    seedName: z.string().optional(),
    seedSteps: z.number().int().nonnegative().optional(),
    continuedFrom: z.string().optional(),
    style: z.string().optional(),
  }),
});
export type ComposeDelivery = z.infer<typeof composeDeliverySchema>;

/**
 * The rest of a compose conversation, from a job handle to the posted result: position and
 * progress, the MIDI and piano roll as soon as they exist, then the audio and the buttons. Used for
 * the interaction that enqueued the job and, after a restart, for the same reply reached through
 * its stored token (delivery.ts). The delivery record goes once the conversation has ended, except
 * when this process stops first and the job lives on (JOB_HANDED_OVER): the next start delivers it.
 * @throws the job's MotifError, RESULT_NOT_DELIVERED, or JOB_HANDED_OVER.
 */
export async function followCompose(
  target: ReplyTarget,
  ctx: BotContext,
  handle: JobHandle<ComposeResult, ComposeProgress>,
  delivery: ComposeDelivery,
  opts: { guildId: string; startedAt: number },
): Promise<ResultRecord> {
  const { guildId } = opts;
  const { resultId, outDir } = delivery;
  const reporter = new ProgressReporter(target, ctx.logger, ctx.tokenLifetimeMs, opts.startedAt);
  reporter.show(progressMessage(handle.id, positionText('Composing', handle.position())), { force: true });
  handle.onPosition((position) => reporter.show(progressMessage(handle.id, positionText('Composing', position)), { force: true }));
  let firstPost: Promise<Message | undefined> | undefined;
  let firstFiles: ComposeFirstFiles | undefined;
  handle.onProgress((p) => {
    if (p.firstFiles) {
      const first = p.firstFiles;
      firstFiles = first;
      firstPost = fetchResultFiles(ctx, guildId, resultId, [first.midiPath, first.pngPath]).then(
        () => reporter.post(firstFilesMessage(handle.id, first)),
        () => undefined,
      );
    } else if (firstFiles) reporter.show(progressMessage(handle.id, firstFilesText(firstFiles, Math.round(p.fraction * 100))));
    else reporter.show(progressMessage(handle.id, `Composing: ${p.stage} ${Math.round(p.fraction * 100)}%`));
  });
  try {
    const result = await handle.result;
    await fetchResultFiles(ctx, guildId, resultId, [result.midiPath, result.mp3Path, result.pngPath, result.opusPath]);
    const record: ResultRecord = {
      id: resultId,
      guildId,
      channelId: target.channelId ?? '',
      userId: target.user.id,
      createdAt: new Date().toISOString(),
      options: {
        ...delivery.options,
        program: result.program,
        seedSteps: result.seedSteps ?? delivery.options.seedSteps,
      },
      dir: outDir,
      midiPath: result.midiPath,
      mp3Path: result.mp3Path,
      pngPath: result.pngPath,
      opusPath: result.opusPath,
      durationSeconds: result.durationSeconds,
      qpm: result.qpm,
      program: result.program,
      keyGuess: result.keyGuess,
      modelName: result.modelName,
      randomSeed: result.randomSeed,
      sequence: result.sequence,
    };
    // The record is saved before the buttons reach anyone, so a press right after the post finds it;
    // if Discord refuses the post, the record goes again and nothing is kept. Older results make
    // room only once the post has succeeded.
    await ctx.storage.results.add(record, { evict: false });
    try {
      const posted = await firstPost;
      await reporter.finish(
        resultMessage(record, {
          generatedEvents: result.generatedEvents,
          longestCopiedRun: result.longestCopiedRun,
          voice: ctx.voice !== undefined,
          audioNote: audioNote(result, delivery.maxAudioBytes, MP3_BITRATE_KBPS),
          // Edit in the audio next to the files already posted; a fresh message (token expired) gets all.
          ...(posted && reporter.tokenAlive ? { posted: [...posted.attachments.values()] } : {}),
        }),
      );
    } catch (cause) {
      await ctx.storage.results.remove(guildId, [resultId]);
      throw new MotifError('RESULT_NOT_DELIVERED', 'Your piece was composed, but Discord did not accept its files, so nothing was kept. Please try again.', {
        cause,
        detail: cause instanceof Error ? cause.message : String(cause),
      });
    }
    await forgetDelivery(ctx, guildId, handle.id);
    const evicted = await ctx.storage.results.trim(guildId);
    await Promise.all(evicted.map((old) => removeResultFiles(ctx, guildId, old.id, old.dir)));
    const overBudget = await enforceResultsBudget(ctx.storage.results, guildId, ctx.config.resultsMaxBytesPerGuild);
    await Promise.all(overBudget.map((old) => removeResultFiles(ctx, guildId, old.id, old.dir)));
    if (remoteBlobs(ctx)) await ctx.blobs.delete(seedBlobKey(guildId, resultId)).catch(() => undefined);
    return record;
  } catch (error) {
    await reporter.stop();
    // Handed over: the job runs on and writes into outDir; the next start delivers it.
    if (isMotifError(error) && error.code === 'JOB_HANDED_OVER') throw error;
    await forgetDelivery(ctx, guildId, handle.id);
    await removeResultFiles(ctx, guildId, resultId, outDir);
    throw error;
  }
}

/** True when workers may not share this bot's disk: result files and seeds travel through the blob store. */
function remoteBlobs(ctx: BotContext): boolean {
  return ctx.jobBlobs.url !== undefined;
}


/**
 * Makes the worker's files local: each path the result names (inside this bot's result folder) is
 * fetched from its key. Nothing to do when the worker wrote to this disk.
 * @throws MotifError NOT_FOUND / STORAGE_UNAVAILABLE from the blob store.
 */
async function fetchResultFiles(ctx: BotContext, guildId: string, resultId: string, paths: readonly (string | undefined)[]): Promise<void> {
  if (!remoteBlobs(ctx)) return;
  const prefix = guildKeys.resultPrefix(guildId, resultId);
  await Promise.all(paths.filter((path): path is string => !!path).map((path) => ctx.blobs.getToFile(prefix + basename(path), path)));
}

/** Where an uploaded seed waits for its worker (remote blob store only). */
function seedBlobKey(guildId: string, resultId: string): string {
  return `${guildKeys.uploadsPrefix(guildId)}${resultId}-seed.mid`;
}

/** A result's files: this bot's copies, and the stored ones (and its seed) when they live elsewhere. */
async function removeResultFiles(ctx: BotContext, guildId: string, resultId: string, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  if (!remoteBlobs(ctx)) return;
  await Promise.all([ctx.blobs.deletePrefix(guildKeys.resultPrefix(guildId, resultId)), ctx.blobs.delete(seedBlobKey(guildId, resultId))]).catch((error: unknown) =>
    ctx.logger.warn('could not delete stored result files', { resultId, error }),
  );
}


/**
 * The largest file this interaction may answer with: what Discord reports for it (it depends on the
 * server's boost level), or Discord's smallest limit, 10 MiB, when the payload does not say.
 */
export function attachmentLimitOf(interaction: { attachmentSizeLimit?: number | null }): number {
  const reported = interaction.attachmentSizeLimit;
  return typeof reported === 'number' && Number.isFinite(reported) && reported > 0 ? reported : DEFAULT_ATTACHMENT_LIMIT_BYTES;
}
export const DEFAULT_ATTACHMENT_LIMIT_BYTES = 10 * 1024 * 1024;

/** The seed part of a stored result: the notes that start before `seedSteps`. */
export function seedPart(record: ResultRecord): NoteSequence | undefined {
  const steps = record.options.seedSteps;
  if (!steps) return undefined;
  const notes = record.sequence.notes.filter((n) => n.startStep < steps);
  return { ...record.sequence, notes, totalSteps: steps };
}
