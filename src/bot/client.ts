/** The discord.js client Motif needs: guild and voice-state events only (no privileged intents). */
import { Client, GatewayIntentBits } from 'discord.js';
import type { BotConfig } from '../config.js';

/**
 * In a shard process of `npm run start:sharded`, the client connects as the one shard its ShardingManager
 * assigned (`config.shard`, read from the SHARDS / SHARD_COUNT the manager sets, which discord.js would also
 * read by itself); otherwise as the only shard. Everything a guild does (interactions, voice state and voice
 * server updates) arrives on its shard's connection, so a shard process serves its guilds completely.
 */
export function createClient(config: Pick<BotConfig, 'discordApiUrl' | 'shard'>): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates],
    allowedMentions: { parse: [] },
    ...(config.shard ? { shards: [config.shard.id], shardCount: config.shard.count } : {}),
    // REST and, through GET /gateway/bot, the gateway follow this base (no /v10 suffix).
    ...(config.discordApiUrl ? { rest: { api: config.discordApiUrl } } : {}),
  });
}
