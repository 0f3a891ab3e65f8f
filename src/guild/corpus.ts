/**
 * A guild's corpus, the pieces /train learns from: who may change it, what an uploader must state
 * about their right to share a piece, adding a downloaded file, listing and removing.
 *
 * An added file is checked by reading it in a worker job (MIDI) or transcribed by one (audio), so no
 * untrusted file is parsed on the main thread. The MIDI is stored in the blob store under
 * `guilds/<g>/corpus/<id>.mid` (the key follows from the entry's id) before its record is stored,
 * and is removed again if storing fails, so nothing is ever half-added.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MotifError } from '../errors.js';
import type { JobHandle } from '../jobs/queue.js';
import type { TranscribeJobResult, TranscribeProgress } from '../jobs/transcribe-job.js';
import { assertFileId, guildKeys, guildPaths, type CorpusEntry, type GuildSettings } from '../storage/index.js';
import { LICENCES } from '../storage/schemas.js';
import { displayText } from '../util/safe-text.js';
import type { CorpusDeps, GuildActor, JobDeps } from './guild-deps.js';
import { readMidiFile } from './midi-reading.js';

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

/** What an uploader stated, as they sent it (null = left out). */
export interface RightsStatement {
  /** They confirmed they may share the piece for training. */
  confirmed: boolean | null;
  /** One of LICENCES. */
  licence: string | null;
  attribution: string | null;
}

export interface UploadRights {
  licence: Licence;
  /** Composer / author and source, as the uploader wrote it (required for CC BY and CC BY-SA). */
  attribution?: string;
}

/**
 * The uploader must confirm they may share the piece for training, say under which terms, and
 * credit the author where the licence requires it.
 * @throws MotifError RIGHTS_NOT_CONFIRMED without the confirmation or with an unknown licence;
 *   OPTION_OUT_OF_RANGE for a CC BY / BY-SA upload without a credit line.
 */
export function checkRights(stated: RightsStatement): UploadRights {
  if (stated.confirmed !== true) {
    throw new MotifError(
      'RIGHTS_NOT_CONFIRMED',
      'Only add music you may share for training: your own work, public domain, or under a free licence. Set `confirm_rights` to True to confirm, and pick its `licence`.',
    );
  }
  const licence = LICENCES.find((l) => l === stated.licence);
  if (!licence) throw new MotifError('RIGHTS_NOT_CONFIRMED', 'Pick the piece’s `licence` (own work, public domain, CC0, CC BY, CC BY-SA or another free licence).');
  const attribution = stated.attribution?.trim() ? displayText(stated.attribution, 200) : undefined;
  if ((licence === 'cc-by' || licence === 'cc-by-sa') && !attribution) {
    throw new MotifError('OPTION_OUT_OF_RANGE', `${LICENCE_LABELS[licence]} requires credit: fill in \`attribution\` (author and source).`);
  }
  return { licence, attribution };
}

/** A member changing the corpus: an admin, or a holder of the guild's corpus role (/settings corpus_role). */
export interface CorpusActor extends GuildActor {
  /** The member's role ids in this guild, as the caller read them. */
  roleIds: readonly string[];
}

/** @throws MotifError PERMISSION_DENIED without Manage Server or the guild's corpus role. */
export function requireCorpusManager(actor: Pick<CorpusActor, 'isAdmin' | 'roleIds'>, settings: Pick<GuildSettings, 'corpusRoleId'>): void {
  if (actor.isAdmin) return;
  const roleId = settings.corpusRoleId;
  if (roleId === undefined || !actor.roleIds.includes(roleId)) {
    throw new MotifError('PERMISSION_DENIED', 'You need **Manage Server** or the corpus role to change the corpus.');
  }
}

/** An upload on this machine's disk. */
export interface DownloadedFile {
  path: string;
  /** How it was recognised (by name and, for MIDI, by the read job). */
  kind: 'midi' | 'audio';
  bytes: number;
  /** Removes the file; safe to call twice. */
  discard(): Promise<void>;
}

export interface CorpusUpload {
  /** The name it was uploaded under: shown (cleaned), never used as a path. */
  fileName: string;
  /** Fetches it (the caller's transport), called only once the member and the rights statement passed. */
  download(): Promise<DownloadedFile>;
}

export interface AddCorpusFileRequest {
  file: CorpusUpload;
  rights: RightsStatement;
  /** Where the member asked, for the job's record. */
  channelId?: string;
  /** Called once when an audio file is queued for transcription. */
  onQueued?: (handle: JobHandle<TranscribeJobResult, TranscribeProgress>) => void;
}

/**
 * Adds an upload to the guild's corpus.
 * @returns the stored entry (its `licence` is the one stated).
 * @throws MotifError PERMISSION_DENIED, RIGHTS_NOT_CONFIRMED, OPTION_OUT_OF_RANGE (no credit line),
 *   what `download` throws, MIDI_* / AUDIO_* for bad files, QUEUE_FULL, JOB_FAILED.
 */
export async function addCorpusFile(deps: CorpusDeps, actor: CorpusActor, req: AddCorpusFileRequest): Promise<CorpusEntry & UploadRights> {
  const settings = await deps.storage.settings.get(actor.guildId);
  requireCorpusManager(actor, settings);
  const rights = checkRights(req.rights);
  const id = randomBytes(4).toString('hex');
  const key = guildKeys.corpusFile(actor.guildId, id);
  const workDir = join(guildPaths(deps.config.dataDir, actor.guildId).tmpDir, `corpus-${id}`);
  const upload = await req.file.download();
  try {
    const owner = { guildId: actor.guildId, userId: actor.userId, channelId: req.channelId, maxPerUser: settings.maxPerUser };
    await mkdir(workDir, { recursive: true });
    const { noteCount, midiPath } =
      upload.kind === 'midi'
        ? { noteCount: (await readMidiFile(deps, { ...owner, label: `read ${req.file.fileName.slice(0, 40)}` }, upload.path, { withSequence: false })).noteCount, midiPath: upload.path }
        : await transcribe(deps, { ...owner, label: `transcribe ${req.file.fileName.slice(0, 40)}` }, { id, audioPath: upload.path, workDir, onQueued: req.onQueued });
    // Moved (renamed on the local store's disk): the file is whole under its key before the record names it.
    await deps.blobs.putFile(key, midiPath, { move: true });
    const entry = {
      id,
      name: displayText(req.file.fileName, 100),
      kind: upload.kind,
      bytes: upload.bytes,
      noteCount,
      addedBy: actor.userId,
      addedAt: new Date().toISOString(),
      licence: rights.licence,
      rightsConfirmed: true,
      attribution: rights.attribution,
    } satisfies CorpusEntry;
    await deps.storage.corpus.add(actor.guildId, entry);
    return entry;
  } catch (error) {
    await deps.blobs.delete(key).catch(() => undefined);
    throw error;
  } finally {
    await upload.discard();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Transcribes corpus audio in a batch job. @returns the MIDI written into `workDir`. */
async function transcribe(
  deps: CorpusDeps,
  owner: { guildId: string; userId: string; channelId?: string; maxPerUser?: number; label: string },
  job: { id: string; audioPath: string; workDir: string; onQueued?: AddCorpusFileRequest['onQueued'] },
): Promise<{ noteCount: number; midiPath: string }> {
  const { config } = deps;
  // A worker that may not share this disk gets the audio, and gives the MIDI back, by key.
  const transport = deps.jobBlobs.url
    ? { inputKey: `${guildKeys.uploadsPrefix(owner.guildId)}audio-${job.id}`, outputKey: `${guildKeys.uploadsPrefix(owner.guildId)}transcribed-${job.id}.mid`, blobs: deps.jobBlobs }
    : undefined;
  try {
    if (transport) await deps.blobs.putFile(transport.inputKey, job.audioPath);
    const handle = await deps.queue.enqueue(
      'transcribe',
      { inputPath: job.audioPath, outDir: job.workDir, ffmpegPath: config.ffmpegPath, maxBytes: config.maxAudioBytes, maxDurationSeconds: config.maxAudioSeconds, ...transport },
      owner,
    );
    job.onQueued?.(handle);
    const result = await handle.result;
    if (transport) await deps.blobs.getToFile(transport.outputKey, result.midiPath);
    return { noteCount: result.noteCount, midiPath: result.midiPath };
  } finally {
    if (transport) await Promise.all([deps.blobs.delete(transport.inputKey), deps.blobs.delete(transport.outputKey)]).catch(() => undefined);
  }
}

/** The guild's corpus, as /corpus list shows it (anyone may look). */
export async function listCorpus(deps: Pick<JobDeps, 'storage'>, guildId: string): Promise<CorpusEntry[]> {
  return deps.storage.corpus.list(guildId);
}

/**
 * Removes a file from the corpus; when the guild's model was trained on it, the model is marked
 * (its card lists the piece as removed) so admins know to retrain.
 * @throws MotifError PERMISSION_DENIED, NOT_FOUND for a malformed id or one the guild's corpus
 *   does not have.
 */
export async function removeCorpusFile(
  deps: Pick<JobDeps, 'storage' | 'blobs'>,
  actor: CorpusActor,
  id: string,
): Promise<{ removed: CorpusEntry; modelTrainedOnIt: boolean }> {
  requireCorpusManager(actor, await deps.storage.settings.get(actor.guildId));
  assertFileId(id);
  const removed = await deps.storage.corpus.remove(actor.guildId, id);
  if (!removed) throw new MotifError('NOT_FOUND', `No corpus file with id \`${id.slice(0, 16)}\` on this server. See /corpus list.`);
  await deps.blobs.delete(guildKeys.corpusFile(actor.guildId, id));
  const modelTrainedOnIt = await deps.storage.models.markSourceRemoved(actor.guildId, removed);
  return { removed, modelTrainedOnIt };
}
