/**
 * Adding to and removing from a guild's corpus. MIDI is checked by parsing it; audio is
 * transcribed by a queued worker job. A file lands in the corpus folder (temp + rename) before its
 * metadata is stored, and is removed again if storing fails, so nothing is ever half-added.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Attachment } from 'discord.js';
import { MotifError } from '../errors.js';
import type { JobHandle } from '../jobs/queue.js';
import type { TranscribeJobResult, TranscribeProgress } from '../jobs/transcribe-job.js';
import { readUploadedMidi } from '../music/midi-upload.js';
import { assertFileId, guildPaths, type CorpusEntry } from '../storage/index.js';
import { attachmentKind, downloadAttachment } from './attachments.js';
import { formatBytes } from '../music/midi-limits.js';
import type { BotContext } from './context.js';

export interface CorpusAddRequest {
  guildId: string;
  userId: string;
  channelId?: string;
  attachment: Pick<Attachment, 'url' | 'name' | 'size'>;
  /** Called once when an audio file is queued for transcription. */
  onQueued?: (handle: JobHandle<TranscribeJobResult, TranscribeProgress>) => void;
}

/**
 * The checks that need no download (type by name, declared size), so they can be answered before
 * the reply is deferred.
 * @throws MotifError FILE_TYPE_UNSUPPORTED, MIDI_TOO_LARGE, AUDIO_TOO_LARGE.
 */
export function precheckUpload(ctx: BotContext, attachment: Pick<Attachment, 'name' | 'size'>): void {
  const kind = attachmentKind(attachment.name, ['midi', 'audio']);
  const maxBytes = kind === 'midi' ? ctx.config.maxMidiBytes : ctx.config.maxAudioBytes;
  if (attachment.size > maxBytes) {
    throw new MotifError(kind === 'midi' ? 'MIDI_TOO_LARGE' : 'AUDIO_TOO_LARGE', `\`${attachment.name.slice(0, 80)}\` is larger than the ${formatBytes(maxBytes)} limit.`);
  }
}

/**
 * @throws MotifError FILE_TYPE_UNSUPPORTED, MIDI_* / AUDIO_* for bad files, QUEUE_FULL, OPTION_OUT_OF_RANGE (corpus full).
 */
export async function addToCorpus(ctx: BotContext, req: CorpusAddRequest): Promise<CorpusEntry> {
  const { config } = ctx;
  const kind = attachmentKind(req.attachment.name, ['midi', 'audio']);
  const paths = guildPaths(config.dataDir, req.guildId);
  const id = randomBytes(4).toString('hex');
  await mkdir(paths.corpusDir, { recursive: true });
  await mkdir(paths.tmpDir, { recursive: true });
  const finalPath = join(paths.corpusDir, `${id}.mid`);
  const workDir = join(paths.tmpDir, `corpus-${id}`);
  try {
    const bytes = await downloadAttachment(req.attachment, kind, kind === 'midi' ? config.maxMidiBytes : config.maxAudioBytes);
    let noteCount: number;
    let midiTempPath: string;
    await mkdir(workDir, { recursive: true });
    if (kind === 'midi') {
      const sequence = readUploadedMidi(bytes, { maxBytes: config.maxMidiBytes });
      noteCount = sequence.notes.length;
      midiTempPath = join(workDir, 'upload.mid');
      await writeFile(midiTempPath, bytes);
    } else {
      const inputPath = join(workDir, `upload${extname(req.attachment.name).toLowerCase()}`);
      await writeFile(inputPath, bytes);
      const settings = await ctx.storage.settings.get(req.guildId);
      const handle = ctx.queue.enqueue(
        'transcribe',
        { inputPath, outDir: workDir, ffmpegPath: config.ffmpegPath, maxBytes: config.maxAudioBytes, maxDurationSeconds: config.maxAudioSeconds },
        { guildId: req.guildId, userId: req.userId, channelId: req.channelId, label: `transcribe ${req.attachment.name.slice(0, 40)}`, maxPerUser: settings.maxPerUser },
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
      kind,
      bytes: bytes.byteLength,
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
