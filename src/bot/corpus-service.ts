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
import { displayText } from './safe-text.js';
import { LICENCES } from '../storage/schemas.js';

export interface CorpusAddRequest {
  guildId: string;
  userId: string;
  channelId?: string;
  attachment: Pick<Attachment, 'url' | 'name' | 'size'>;
  /** What the uploader stated about their right to share the file (see checkRights). */
  rights: UploadRights;
  /** Called once when an audio file is queued for transcription. */
  onQueued?: (handle: JobHandle<TranscribeJobResult, TranscribeProgress>) => void;
}

export interface UploadRights {
  licence: Licence;
  /** Composer / author and source, as the uploader wrote it (required for CC BY and CC BY-SA). */
  attribution?: string;
}

export type Licence = (typeof LICENCES)[number];

/** How each licence choice reads in replies and on model cards. */
export const LICENCE_LABELS: Readonly<Record<Licence, string>> = Object.freeze({
  'own-work': 'own work, shared for training',
  'public-domain': 'public domain',
  cc0: 'CC0',
  'cc-by': 'CC BY',
  'cc-by-sa': 'CC BY-SA',
  'other-free': 'other free licence',
});

/**
 * The uploader must confirm they may share the piece for training, say under which terms, and
 * credit the author where the licence requires it.
 * @throws MotifError RIGHTS_NOT_CONFIRMED without the confirmation or with an unknown licence;
 *   OPTION_OUT_OF_RANGE for a CC BY / BY-SA upload without a credit line.
 */
export function checkRights(opts: { confirmed: boolean | null; licence: string | null; attribution: string | null }): UploadRights {
  if (opts.confirmed !== true) {
    throw new MotifError(
      'RIGHTS_NOT_CONFIRMED',
      'Only add music you may share for training: your own work, public domain, or under a free licence. Set `confirm_rights` to True to confirm, and pick its `licence`.',
    );
  }
  const licence = LICENCES.find((l) => l === opts.licence);
  if (!licence) throw new MotifError('RIGHTS_NOT_CONFIRMED', 'Pick the piece’s `licence` (own work, public domain, CC0, CC BY, CC BY-SA or another free licence).');
  const attribution = opts.attribution?.trim() ? displayText(opts.attribution, 200) : undefined;
  if ((licence === 'cc-by' || licence === 'cc-by-sa') && !attribution) {
    throw new MotifError('OPTION_OUT_OF_RANGE', `${LICENCE_LABELS[licence]} requires credit: fill in \`attribution\` (author and source).`);
  }
  return { licence, attribution };
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
      name: displayText(req.attachment.name, 100),
      kind,
      bytes: bytes.byteLength,
      noteCount,
      addedBy: req.userId,
      addedAt: new Date().toISOString(),
      licence: req.rights.licence,
      rightsConfirmed: true,
      attribution: req.rights.attribution,
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

/**
 * Removes a file from the corpus; when the guild's model was trained on it, the model is marked
 * (its card lists the piece as removed) so admins know to retrain.
 * @throws MotifError NOT_FOUND when the guild's corpus has no such entry.
 */
export async function removeFromCorpus(ctx: BotContext, guildId: string, id: string): Promise<{ removed: CorpusEntry; modelTrainedOnIt: boolean }> {
  assertFileId(id);
  const removed = await ctx.storage.corpus.remove(guildId, id);
  if (!removed) throw new MotifError('NOT_FOUND', `No corpus file with id \`${id.slice(0, 16)}\` on this server. See /corpus list.`);
  await rm(join(guildPaths(ctx.config.dataDir, guildId).corpusDir, `${id}.mid`), { force: true });
  const modelTrainedOnIt = await ctx.storage.models.markSourceRemoved(guildId, removed);
  return { removed, modelTrainedOnIt };
}
