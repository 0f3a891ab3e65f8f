/**
 * Voice playback, wired for the bot: `createVoiceService` matches `BotDeps.createVoice` in
 * src/bot/start.ts. Import this module only after `checkVoiceDependencies()` said ok (it loads
 * @discordjs/voice, which needs @snazzah/davey at load time).
 */
import type { Client } from 'discord.js';
import type { BotContext } from '../context.js';
import type { MotifQueue } from '../../jobs/motif-jobs.js';
import { basename } from 'node:path';
import { findVoiceAudio, voiceAudioPath } from '../../audio/voice-audio.js';
import type { JobBlobSettings } from '../../jobs/job-blobs.js';
import type { BlobStore } from '../../storage/blobs/blob-store.js';
import { guildKeys } from '../../storage/index.js';
import { soundfontFor } from '../../guild/settings.js';
import { VoiceService, type VoiceServiceOptions } from './voice-service.js';

export {
  VoiceService,
  callerVoiceChannel,
  assertBotCanPlayIn,
  trackTitle,
  type VoiceControls,
  type VoiceRequester,
  type VoiceServiceOptions,
} from './voice-service.js';
export type { Track, EnqueueResult, CloseReason } from './guild-player.js';
export { ensureVoiceAudio, findVoiceAudio, voiceAudioPath, type VoiceAudio, type VoiceAudioSource, type VoiceRenderSettings } from '../../audio/voice-audio.js';

/**
 * The bot's VoiceService: idle time from VOICE_IDLE_SECONDS, rendering with the guild's SoundFont
 * (else the configured default) and the configured ffmpeg, in a queued worker job (with the
 * requester's queue limits) when a result has no voice audio yet.
 */
export function createVoiceService(client: Client, ctx: BotContext, overrides: Partial<VoiceServiceOptions> = {}): VoiceService {
  return new VoiceService(client, {
    idleTimeoutSeconds: ctx.config.voiceIdleSeconds,
    logger: ctx.logger,
    renderSettings: async (guildId) => {
      const settings = await ctx.storage.settings.get(guildId);
      return {
        soundfont: soundfontFor(settings, ctx.config),
        soundfontDir: ctx.config.soundfontsDir,
        ffmpegPath: ctx.config.ffmpegPath,
      };
    },
    prepareAudio: voiceAudioThroughQueue(ctx.queue, async (guildId) => (await ctx.storage.settings.get(guildId)).maxPerUser, {
      blobs: ctx.blobs,
      jobBlobs: ctx.jobBlobs,
    }),
    ...overrides,
  });
}

/**
 * Finds a result's voice audio, or renders it in a queued worker job owned by the requester (so
 * their queue limits apply and synthesis stays off the gateway's thread).
 * @param maxPerUser the guild's per-user queue limit, if it sets one.
 */
export function voiceAudioThroughQueue(
  queue: MotifQueue,
  maxPerUser: (guildId: string) => Promise<number | undefined>,
  files?: { blobs: BlobStore; jobBlobs: JobBlobSettings },
): NonNullable<VoiceServiceOptions['prepareAudio']> {
  return async (source, settings, requester) => {
    const existing = await findVoiceAudio(source);
    if (existing) return existing;
    const limit = await maxPerUser(requester.guildId);
    // A worker that may not share this disk renders into the blob store, next to the result's files.
    const oggKey = files?.jobBlobs.url ? `${guildKeys.resultPrefix(requester.guildId, source.id)}${basename(voiceAudioPath(source))}` : undefined;
    // Only what rendering needs crosses to the worker, not the whole stored result.
    const { onWaiting, ...owner } = requester;
    const job = await queue.enqueue(
      'voice-audio',
      {
        source: { id: source.id, dir: source.dir, midiPath: source.midiPath, opusPath: source.opusPath, sequence: source.sequence },
        settings,
        ...(oggKey && files ? { oggKey, blobs: files.jobBlobs } : {}),
      },
      { ...owner, label: 'voice audio for a result', ...(limit !== undefined ? { maxPerUser: limit } : {}) },
    );
    // Position 1 = next to start: the jobs ahead are the running ones and those before it.
    if (job.position() > 0) onWaiting?.(job.position());
    const audio = await job.result;
    if (oggKey && files) await files.blobs.getToFile(oggKey, audio.oggPath);
    return audio;
  };
}
