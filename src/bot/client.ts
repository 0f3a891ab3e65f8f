/** The discord.js client Motif needs: guild and voice-state events only (no privileged intents). */
import { Client, GatewayIntentBits } from 'discord.js';
import type { BotConfig } from '../config.js';

export function createClient(config: Pick<BotConfig, 'discordApiUrl'>): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates],
    allowedMentions: { parse: [] },
    // REST and, through GET /gateway/bot, the gateway follow this base (no /v10 suffix).
    ...(config.discordApiUrl ? { rest: { api: config.discordApiUrl } } : {}),
  });
}
