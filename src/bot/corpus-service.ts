/**
 * Adding to and removing from a guild's corpus. Uploads are streamed to a file (after the caller
 * acknowledged the interaction); MIDI is checked by reading it in a worker job, audio is transcribed
 * by one, so no untrusted file is parsed on the main thread. A file lands in the corpus folder (temp + rename) before its
 * metadata is stored, and is removed again if storing fails, so nothing is ever half-added.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Attachment } from 'discord.js';
import { MotifError } from '../errors.js';
import type { JobHandle } from '../jobs/queue.js';
import type { TranscribeJobResult, TranscribeProgress } from '../jobs/transcribe-job.js';
import { assertFileId, guildPaths, type CorpusEntry } from '../storage/index.js';
import type { BotContext } from './context.js';
import { downloadUpload, precheckAttachment, readUploadedMidi } from './uploads.js';

export interface CorpusAddRequest {
  guildId: string;
  userId: string;
  channelId?: string;
  attachment: Pick<Attachment, 'url' | 'name' | 'size'>;
  /** Called once when an audio file is queued for transcription. */
  onQueued?: (handle: JobHandle<TranscribeJobResult, TranscribeProgress>) => void;
}

/**
 * The checks that need no download (type by name, declared size, host), so they can be answered
 * before the reply is deferred.
 * @throws MotifError FILE_TYPE_UNSUPPORTED, MIDI_TOO_LARGE, AUDIO_TOO_LARGE, DOWNLOAD_FAILED.
 */
export function precheckUpload(ctx: BotContext, attachment: Pick<Attachment, 'url' | 'name' | 'size'>): void {
  precheckAttachment(ctx, attachment, ['midi', 'audio']);
}

/**
 * @throws MotifError FILE_TYPE_UNSUPPORTED, MIDI_* / AUDIO_* for bad files, QUEUE_FULL, OPTION_OUT_OF_RANGE (corpus full).
 */
export async function addToCorpus(ctx: BotContext, req: CorpusAddRequest): Promise<CorpusEntry> {
  const { config } = ctx;
  const paths = guildPaths(config.dataDir, req.guildId);
  const id = randomBytes(4).toString('hex');
  await mkdir(paths.corpusDir, { recursive: true });
  const finalPath = join(paths.corpusDir, `${id}.mid`);
  const workDir = join(paths.tmpDir, `corpus-${id}`);
  const upload = await downloadUpload(ctx, req.guildId, req.attachment, ['midi', 'audio']);
  try {
    const settings = await ctx.storage.settings.get(req.guildId);
    const owner = { guildId: req.guildId, userId: req.userId, channelId: req.channelId, maxPerUser: settings.maxPerUser };
    let noteCount: number;
    let midiTempPath: string;
    await mkdir(workDir, { recursive: true });
    if (upload.kind === 'midi') {
      const read = await readUploadedMidi(ctx, { ...owner, label: `read ${req.attachment.name.slice(0, 40)}` }, upload.path, { withSequence: false });
      noteCount = read.noteCount;
      midiTempPath = upload.path;
    } else {
      const handle = ctx.queue.enqueue(
        'transcribe',
        { inputPath: upload.path, outDir: workDir, ffmpegPath: config.ffmpegPath, maxBytes: config.maxAudioBytes, maxDurationSeconds: config.maxAudioSeconds },
        { ...owner, label: `transcribe ${req.attachment.name.slice(0, 40)}` },
      );
      req.onQueued?.(handle);
      const result = await handle.result;
      noteCount = result.noteCount;
      midiTempPath = result.midiPath;
    }
    await rename(midiTempPath, finalPath);
    const entry: CorpusEntry = {
      id,
      name: req.attachment.name.slice(0, 100),
      kind: upload.kind,
      bytes: upload.bytes,
      noteCount,
      addedBy: req.userId,
      addedAt: new Date().toISOString(),
    };
    await ctx.storage.corpus.add(req.guildId, entry);
    return entry;
  } catch (error) {
    await rm(finalPath, { force: true });
    throw error;
  } finally {
    await upload.discard();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** @throws MotifError NOT_FOUND when the guild's corpus has no such entry. */
export async function removeFromCorpus(ctx: BotContext, guildId: string, id: string): Promise<CorpusEntry> {
  assertFileId(id);
  const removed = await ctx.storage.corpus.remove(guildId, id);
  if (!removed) throw new MotifError('NOT_FOUND', `No corpus file with id \`${id}\` on this server. See /corpus list.`);
  await rm(join(guildPaths(ctx.config.dataDir, guildId).corpusDir, `${id}.mid`), { force: true });
  return removed;
}
