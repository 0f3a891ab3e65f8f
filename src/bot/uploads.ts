/**
 * The bot's side of user uploads: the attachment policy from the configuration and downloads into
 * the guild's scratch folder (reading them is the guild layer's: src/guild/midi-reading.ts).
 * Callers acknowledge the interaction first (see commands/compose.ts, corpus.ts, seed.ts); nothing
 * here touches Discord.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { guildPaths } from '../storage/index.js';
import {
  checkAttachment,
  downloadAttachmentToFile,
  type AttachmentKind,
  type AttachmentPolicy,
  type AttachmentRef,
} from './attachments.js';
import type { BotContext } from './context.js';

/** Size limit and allowed hosts for each kind of upload, from the configuration. */
export function attachmentPolicy(ctx: BotContext): (kind: AttachmentKind) => AttachmentPolicy {
  return (kind) => ({
    allowedHosts: ctx.config.attachmentHosts,
    maxBytes: kind === 'midi' ? ctx.config.maxMidiBytes : ctx.config.maxAudioBytes,
  });
}

/**
 * The checks that need no download (type by name, declared size, host), answered before deferring.
 * @throws MotifError FILE_TYPE_UNSUPPORTED, MIDI_TOO_LARGE, AUDIO_TOO_LARGE, DOWNLOAD_FAILED.
 */
export function precheckAttachment(ctx: BotContext, attachment: AttachmentRef, accept: readonly AttachmentKind[]): AttachmentKind {
  return checkAttachment(attachment, accept, attachmentPolicy(ctx));
}

export interface DownloadedUpload {
  path: string;
  kind: AttachmentKind;
  bytes: number;
  /** Removes the downloaded file; safe to call twice. */
  discard(): Promise<void>;
}

/**
 * Downloads an attachment into the guild's tmp folder under a random name (the user's file name
 * only lends its extension). Call only after the interaction is acknowledged.
 * @throws MotifError from precheckAttachment and downloadAttachmentToFile (DOWNLOAD_FAILED for a stall).
 */
export async function downloadUpload(ctx: BotContext, guildId: string, attachment: AttachmentRef, accept: readonly AttachmentKind[]): Promise<DownloadedUpload> {
  const kind = precheckAttachment(ctx, attachment, accept);
  const { tmpDir } = guildPaths(ctx.config.dataDir, guildId);
  await mkdir(tmpDir, { recursive: true });
  const extension = extname(attachment.name).toLowerCase().replace(/[^a-z0-9.]/g, '').slice(0, 6);
  const path = join(tmpDir, `upload-${randomBytes(6).toString('hex')}${extension}`);
  const policy = attachmentPolicy(ctx)(kind);
  const bytes = await downloadAttachmentToFile(attachment, kind, { ...policy, timeoutMs: ctx.config.downloadTimeoutMs, destPath: path });
  return { path, kind, bytes, discard: () => rm(path, { force: true }) };
}
