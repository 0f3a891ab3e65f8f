/**
 * The compose conversation's Discord side, shared by /compose and the Regenerate/Continue buttons:
 * the request is checked and queued by src/guild/compose.ts (an over-limit seed or a full queue is
 * refused before anything is shown, unless the caller already deferred to download an upload);
 * here the reply is deferred, shows position and progress, posts the MIDI and piano roll as soon as
 * they exist, then adds the audio (sized to this interaction's upload limit) and the buttons by
 * editing the reply. The guild layer records the result just before its buttons are posted (so a
 * press finds it) and removes it again if the post fails: no record (so /seed save and the buttons
 * cannot use a result whose files are gone), no files, and no older result pushed out for it.
 *
 * Durable: a delivery record (storage, with the interaction token) is kept from the enqueue until
 * the conversation ends, so a bot that restarts meanwhile finishes it (delivery.ts calls
 * followCompose with the stored reply).
 */
import type { Attachment, ButtonInteraction, ChatInputCommandInteraction, Message } from 'discord.js';
import { MotifError, isMotifError } from '../errors.js';
import { MP3_BITRATE_KBPS } from '../audio/encode.js';
import type { ComposeFirstFiles } from '../jobs/compose-contract.js';
import {
  composeLengthFor,
  discardComposeFiles,
  dropComposeResult,
  fetchResultFiles,
  keepComposeResult,
  settleComposeResult,
  startGuildCompose,
  type ComposeHandle,
  type ComposePlan,
  type ComposeRequest,
} from '../guild/compose.js';
import type { NoteSequence } from '../music/note-sequence.js';
import type { ResultRecord } from '../storage/index.js';
import type { BotContext } from './context.js';
import { guildIdOf } from './permissions.js';
import { audioNote, firstFilesMessage, firstFilesText, progressMessage, positionText, resultMessage } from './result-message.js';
import { ProgressReporter, type ReplyTarget } from './progress-reporter.js';
import { forgetDelivery, recordDelivery } from './delivery-records.js';
import { resolveSeed } from './seeds.js';
import { downloadUpload, precheckAttachment } from './uploads.js';

export interface ComposeFlowOptions extends Pick<ComposeRequest, 'length' | 'temperature' | 'program' | 'qpm' | 'seed' | 'seedMidiPath' | 'seedName' | 'continuedFrom' | 'style'> {
  /** Start voice playback as soon as the result exists (needs a VoiceService). */
  playWhenReady?: boolean;
}

/** /compose's options as the member gave them (unset = the guild's defaults). */
export interface ComposeCommandOptions {
  length?: number;
  temperature?: number;
  qpm?: number;
  program?: number;
  style?: string;
  playWhenReady: boolean;
  /** A saved seed's name; an attachment wins over it. */
  seedName?: string;
  /** A MIDI file to continue. */
  attachment?: Attachment;
}

/**
 * /compose: checks the options, then composes from a saved seed, from scratch, or from an uploaded
 * MIDI (refusals that need no download come at once; then the interaction is acknowledged before a
 * byte is fetched, and the job, in a worker, reads the file).
 * @throws MotifError OPTION_OUT_OF_RANGE, the seed's or the upload's refusal, or what {@link runCompose} throws.
 */
export async function composeCommand(interaction: ChatInputCommandInteraction, ctx: BotContext, opts: ComposeCommandOptions): Promise<void> {
  const guildId = guildIdOf(interaction);
  const length = await composeLengthFor(ctx, guildId, opts);
  const { attachment, seedName, ...rest } = opts;
  const options = { ...rest, length };
  if (!attachment) {
    const seed = await resolveSeed(interaction, ctx, { seedName });
    await runCompose(interaction, ctx, { ...options, seed: seed?.sequence, seedName: seed?.name });
    return;
  }
  precheckAttachment(ctx, attachment, ['midi']);
  await interaction.deferReply();
  const upload = await downloadUpload(ctx, guildId, attachment, ['midi']);
  try {
    await runCompose(interaction, ctx, { ...options, seedMidiPath: upload.path });
  } finally {
    await upload.discard();
  }
}

/**
 * @throws MotifError QUEUE_FULL (before any reply), or the job's MotifError (JOB_FAILED, …) after deferring.
 */
export async function runCompose(interaction: ChatInputCommandInteraction | ButtonInteraction, ctx: BotContext, opts: ComposeFlowOptions): Promise<ResultRecord> {
  const guildId = guildIdOf(interaction);
  const startedAt = Date.now();
  const { playWhenReady, ...request } = opts;
  const { handle, plan } = await startGuildCompose(ctx, { guildId, userId: interaction.user.id }, {
    ...request,
    maxAudioBytes: attachmentLimitOf(interaction),
    withOpus: ctx.voice !== undefined && playWhenReady === true,
    channelId: interaction.channelId ?? undefined,
  });
  try {
    if (!interaction.deferred) await interaction.deferReply();
    // Stored before anything can end: whichever bot process sees the job end delivers it, also after a restart.
    await recordDelivery(ctx, interaction, { id: handle.id, kind: 'compose', guildId }, plan, startedAt);
  } catch (error) {
    await handle.cancel().catch(() => undefined);
    await discardComposeFiles(ctx, guildId, plan, { jobMayStillWrite: true });
    throw error;
  }
  const record = await followCompose(interaction, ctx, handle, plan, { guildId, startedAt });
  if (playWhenReady && ctx.voice) await ctx.voice.playResult(interaction, record);
  return record;
}

/**
 * The rest of a compose conversation, from a job handle to the posted result: position and
 * progress, the MIDI and piano roll as soon as they exist, then the audio and the buttons. Used for
 * the interaction that enqueued the job and, after a restart, for the same reply reached through
 * its stored token (delivery.ts). The delivery record goes once the conversation has ended, except
 * when this process stops first and the job lives on (JOB_HANDED_OVER): the next start delivers it.
 * @throws the job's MotifError, RESULT_NOT_DELIVERED, or JOB_HANDED_OVER.
 */
export async function followCompose(target: ReplyTarget, ctx: BotContext, handle: ComposeHandle, plan: ComposePlan, opts: { guildId: string; startedAt: number }): Promise<ResultRecord> {
  const { guildId } = opts;
  const reporter = new ProgressReporter(target, ctx.logger, ctx.tokenLifetimeMs, opts.startedAt);
  reporter.show(progressMessage(handle.id, positionText('Composing', handle.position())), { force: true });
  handle.onPosition((position) => reporter.show(progressMessage(handle.id, positionText('Composing', position)), { force: true }));
  let firstPost: Promise<Message | undefined> | undefined;
  let firstFiles: ComposeFirstFiles | undefined;
  /** Result files already on this disk (fetched from the blob store for the first post). */
  const fetched = new Set<string>();
  handle.onProgress((p) => {
    if (p.firstFiles) {
      const first = p.firstFiles;
      firstFiles = first;
      firstPost = fetchResultFiles(ctx, guildId, plan, [first.midiPath, first.pngPath]).then(
        () => {
          fetched.add(first.midiPath).add(first.pngPath);
          return reporter.post(firstFilesMessage(handle.id, first));
        },
        () => undefined,
      );
    } else if (firstFiles) reporter.show(progressMessage(handle.id, firstFilesText(firstFiles, Math.round(p.fraction * 100))));
    else reporter.show(progressMessage(handle.id, `Composing: ${p.stage} ${Math.round(p.fraction * 100)}%`));
  });
  let record: ResultRecord;
  try {
    const result = await handle.result;
    // Saved before the buttons reach anyone, so a press right after the post finds it; if Discord
    // refuses the post, the record goes again and nothing is kept.
    // The first post's fetch is awaited first, so its files are not fetched twice.
    await firstPost;
    record = await keepComposeResult(ctx, guildId, plan, result, { userId: target.user.id, channelId: target.channelId ?? '' }, fetched);
    try {
      const posted = await firstPost;
      await reporter.finish(
        resultMessage(record, {
          generatedEvents: result.generatedEvents,
          longestCopiedRun: result.longestCopiedRun,
          voice: ctx.voice !== undefined,
          audioNote: audioNote(result, plan.maxAudioBytes, MP3_BITRATE_KBPS),
          // Edit in the audio next to the files already posted; a fresh message (token expired) gets all.
          ...(posted && reporter.tokenAlive ? { posted: [...posted.attachments.values()] } : {}),
        }),
      );
    } catch (cause) {
      await dropComposeResult(ctx, guildId, plan);
      throw new MotifError('RESULT_NOT_DELIVERED', 'Your piece was composed, but Discord did not accept its files, so nothing was kept. Please try again.', {
        cause,
        detail: cause instanceof Error ? cause.message : String(cause),
      });
    }
  } catch (error) {
    await reporter.stop();
    // Handed over: the job runs on and writes into outDir; the next start delivers it.
    if (isMotifError(error) && error.code === 'JOB_HANDED_OVER') throw error;
    await forgetDelivery(ctx, guildId, handle.id);
    const stopped = isMotifError(error) && (error.code === 'JOB_CANCELLED' || error.code === 'BOT_RESTARTED');
    await discardComposeFiles(ctx, guildId, plan, { jobMayStillWrite: stopped });
    throw error;
  }
  // Posted: from here on nothing may take the result's files away. Making room for it (older results
  // out, the results budget) is housekeeping; if storage fails at it, it is logged and done next time.
  await forgetDelivery(ctx, guildId, handle.id);
  await settleComposeResult(ctx, guildId, plan).catch((error: unknown) => ctx.logger.warn('could not make room after a result', { guildId, resultId: plan.resultId, error }));
  return record;
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

