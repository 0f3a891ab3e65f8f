/**
 * Voice playback, wired for the bot: `createVoiceService` matches `BotDeps.createVoice` in
 * src/bot/start.ts. Import this module only after `checkVoiceDependencies()` said ok (it loads
 * @discordjs/voice, which needs @snazzah/davey at load time).
 */
import type { Client } from 'discord.js';
import type { BotContext } from '../bot/context.js';
import { VoiceService, type VoiceServiceOptions } from './voice-service.js';

export { VoiceService, callerVoiceChannel, assertBotCanPlayIn, trackTitle, type VoiceControls, type VoiceServiceOptions } from './voice-service.js';
export type { Track, EnqueueResult, CloseReason } from './guild-player.js';
export { ensureVoiceAudio, voiceAudioPath, type VoiceAudio, type VoiceAudioSource, type VoiceRenderSettings } from './voice-audio.js';

/**
 * The bot's VoiceService: idle time from VOICE_IDLE_SECONDS, rendering with the guild's SoundFont
 * (else the configured default) and the configured ffmpeg.
 */
export function createVoiceService(client: Client, ctx: BotContext, overrides: Partial<VoiceServiceOptions> = {}): VoiceService {
  return new VoiceService(client, {
    idleTimeoutSeconds: ctx.config.voiceIdleSeconds,
    logger: ctx.logger,
    renderSettings: async (guildId) => {
      const settings = await ctx.storage.settings.get(guildId);
      return {
        soundfont: settings.soundfont ?? ctx.config.defaultSoundfont,
        soundfontDir: ctx.config.soundfontsDir,
        ffmpegPath: ctx.config.ffmpegPath,
      };
    },
    ...overrides,
  });
}
