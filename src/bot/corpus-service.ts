/**
 * Adding to and removing from a guild's corpus. Uploads are streamed to a file (after the caller
 * acknowledged the interaction); MIDI is checked by reading it in a worker job, audio is transcribed
 * by one, so no untrusted file is parsed on the main thread. The MIDI is stored in the blob store
 * under `guilds/<g>/corpus/<id>.mid` (the key follows from the entry's id) before its metadata is
 * stored, and is removed again if storing fails, so nothing is ever half-added.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Attachment } from 'discord.js';
import { MotifError } from '../errors.js';
import type { JobHandle } from '../jobs/queue.js';
import type { TranscribeJobResult, TranscribeProgress } from '../jobs/transcribe-job.js';
import { assertFileId, guildKeys, guildPaths, type CorpusEntry } from '../storage/index.js';
import type { BotContext } from './context.js';
import { downloadUpload, precheckAttachment, readUploadedMidi } from './uploads.js';
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
  const key = guildKeys.corpusFile(req.guildId, id);
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
      // A worker that may not share this disk gets the audio, and gives the MIDI back, by key.
      const transport = ctx.jobBlobs.url
        ? { inputKey: `guilds/${req.guildId}/uploads/audio-${id}`, outputKey: `guilds/${req.guildId}/uploads/transcribed-${id}.mid`, blobs: ctx.jobBlobs }
        : undefined;
      try {
        if (transport) await ctx.blobs.putFile(transport.inputKey, upload.path);
        const handle = await ctx.queue.enqueue(
          'transcribe',
          { inputPath: upload.path, outDir: workDir, ffmpegPath: config.ffmpegPath, maxBytes: config.maxAudioBytes, maxDurationSeconds: config.maxAudioSeconds, ...transport },
          { ...owner, label: `transcribe ${req.attachment.name.slice(0, 40)}` },
        );
        req.onQueued?.(handle);
        const result = await handle.result;
        if (transport) await ctx.blobs.getToFile(transport.outputKey, result.midiPath);
        noteCount = result.noteCount;
        midiTempPath = result.midiPath;
      } finally {
        if (transport) await Promise.all([ctx.blobs.delete(transport.inputKey), ctx.blobs.delete(transport.outputKey)]).catch(() => undefined);
      }
    }
    // Moved (renamed on the local store's disk): the file is whole under its key before the record names it.
    await ctx.blobs.putFile(key, midiTempPath, { move: true });
    const entry: CorpusEntry = {
      id,
      name: displayText(req.attachment.name, 100),
      kind: upload.kind,
      bytes: upload.bytes,
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
    await ctx.blobs.delete(key).catch(() => undefined);
    throw error;
  } finally {
    await upload.discard();
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
  await ctx.blobs.delete(guildKeys.corpusFile(guildId, id));
  const modelTrainedOnIt = await ctx.storage.models.markSourceRemoved(guildId, removed);
  return { removed, modelTrainedOnIt };
}
