/**
 * What every guild use-case receives: the stores and the few folders and defaults it needs. The
 * bot's context satisfies this shape, so commands pass theirs; tests pass real storage and a
 * temporary folder. Nothing in src/guild knows Discord: callers translate interactions into the
 * plain values below (ids, an admin flag) and the MotifErrors thrown here into replies.
 */
import type { BotConfig, CoreConfig } from '../config.js';
import { MotifError } from '../errors.js';
import type { JobBlobSettings } from '../jobs/job-blobs.js';
import type { MotifQueue } from '../jobs/motif-jobs.js';
import type { BlobStore } from '../storage/blobs/blob-store.js';
import type { Storage } from '../storage/index.js';

export type GuildConfig = Pick<CoreConfig, 'dataDir' | 'modelsDir' | 'soundfontsDir' | 'defaultSoundfont'>;

export interface GuildDeps {
  storage: Storage;
  config: GuildConfig;
}

/**
 * What the use-cases that run jobs also need: the queue, the blob store that holds corpus files and
 * guild models, and where jobs find that same store (plain data, so it crosses to a worker).
 */
export interface JobDeps {
  storage: Storage;
  queue: MotifQueue;
  blobs: BlobStore;
  jobBlobs: JobBlobSettings;
}

/** Adding corpus files: the upload limits the read and transcribe jobs enforce, and the scratch folder. */
export type CorpusConfig = Pick<CoreConfig, 'dataDir' | 'ffmpegPath' | 'maxMidiBytes' | 'maxAudioBytes' | 'maxAudioSeconds'>;

export interface CorpusDeps extends JobDeps {
  config: CorpusConfig;
}

/** Training: the shipped model to fine-tune (and size the disk check by), and the run's time budget. */
export type TrainingConfig = Pick<CoreConfig, 'defaultModelDir'> & Pick<BotConfig, 'trainMaxMinutes'>;

export interface TrainingDeps extends JobDeps {
  config: TrainingConfig;
  /** Where a clean-up that failed is reported (the run's own outcome is the caller's to show). */
  logger: { warn(message: string, fields?: object): void };
}

/** Who asks, in one guild. */
export interface GuildActor {
  guildId: string;
  userId: string;
  /** The member may manage the server (Discord's Manage Server permission, as the caller read it). */
  isAdmin: boolean;
}

/**
 * @param action what the member tried, completing "You need … to", e.g. "change settings".
 * @throws MotifError PERMISSION_DENIED unless the actor may manage the server.
 */
export function requireAdmin(actor: Pick<GuildActor, 'isAdmin'>, action: string): void {
  if (!actor.isAdmin) throw new MotifError('PERMISSION_DENIED', `You need the **Manage Server** permission to ${action}.`);
}
