/**
 * What every command and button handler receives: settings, storage, the job queue, a logger and
 * optional services. Nothing reaches for a global bot.
 */
import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { BotConfig } from '../config.js';
import type { JobBlobSettings } from '../jobs/job-blobs.js';
import type { MotifQueue } from '../jobs/motif-jobs.js';
import type { BlobStore } from '../storage/blobs/blob-store.js';
import type { Storage, ResultRecord } from '../storage/index.js';
import type { Logger } from '../util/logger.js';
import type { RateLimiter } from './rate-limit.js';

/**
 * The hook for voice playback (the voice issue implements it). It answers the interaction itself.
 * @throws MotifError NOT_IN_VOICE, VOICE_UNAVAILABLE, …
 */
export interface VoiceService {
  playResult(interaction: ChatInputCommandInteraction | ButtonInteraction, result: ResultRecord): Promise<void>;
  /** Leaves every voice channel (shutdown). */
  destroy(): Promise<void>;
}

export interface BotContext {
  config: BotConfig;
  storage: Storage;
  /** Files by key (BLOB_URL; default DATA_DIR): corpus uploads and guild models. */
  blobs: BlobStore;
  /** Where jobs find the same store (plain data for job data; no password when jobs go through Redis). */
  jobBlobs: JobBlobSettings;
  queue: MotifQueue;
  logger: Logger;
  voice?: VoiceService;
  /** Abuse limits per user and guild; absent = unlimited (unit tests of single handlers). */
  rateLimiter?: RateLimiter;
  /** How long interaction tokens are trusted (default 14 minutes; tests shorten it). */
  tokenLifetimeMs?: number;
}
