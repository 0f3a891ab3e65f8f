/**
 * `npm run start:sharded` (or `node --import tsx src/bot/sharded.ts`): the bot over SHARD_COUNT
 * gateway shards (`auto`: what Discord recommends for the bot), one process per shard, each running
 * main.ts — the whole bot for the guilds of its shard. Discord requires sharding from 2,500 servers.
 *
 * Settings are validated and the token checked here first, so a mistake is one line on stderr and
 * exit code 1 before any shard starts, as with `npm start`. SIGTERM/SIGINT are passed on to every
 * shard, which stops gracefully (SHUTDOWN_GRACE_SECONDS); this process exits once they all have
 * (0 when each stopped cleanly).
 *
 * Voice stays on the guild's shard by construction: a guild's voice state and voice server updates
 * arrive on the connection of its shard, and the shard process that owns the guild is the one that
 * joins and plays (src/bot/voice uses the guild's own adapter, never shard 0).
 *
 * Each shard process runs its own in-process job queue and workers and loads the model in them,
 * unless QUEUE_URL is set, in which case they all share one BullMQ queue in Redis.
 */
import { fileURLToPath } from 'node:url';
import { isMotifError } from '../errors.js';
import { createLogger } from '../util/logger.js';
import { exitWithMessage, onStopSignals } from '../util/process-entry.js';
import { loadBotConfigOrExit } from './entry-config.js';
import { recommendedShardCount, startShardFleet, type ShardFleet } from './shards.js';
import { checkDiscordToken } from './token-check.js';

const config = loadBotConfigOrExit();

const logger = createLogger(config.logLevel, undefined, { redact: [config.discordToken] });
process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { reason }));

let fleet: ShardFleet | undefined;
// As in main.ts: a second signal does not cut the shards' grace period short, a third one kills them.
onStopSignals({
  onFirst: (signal) => {
    if (!fleet) process.exit(0); // nothing started yet
    logger.info(`${signal}: stopping the shards`, { graceSeconds: config.shutdownGraceSeconds });
    fleet.stop(signal as NodeJS.Signals);
  },
  onThird: () => fleet?.kill(),
});

let shardCount: number;
try {
  await checkDiscordToken(config);
  shardCount = config.shardCount === 'auto' ? await recommendedShardCount(config) : config.shardCount;
} catch (error) {
  if (isMotifError(error)) exitWithMessage(error.userMessage);
  logger.error('start-up failed', { error });
  process.exit(1);
}

logger.info(`starting ${shardCount} shard${shardCount === 1 ? '' : 's'}`, { shardCount, setting: config.shardCount });
// main.ts is TypeScript: a shard process needs tsx unless this process was started with it (its flags are
// passed on, e.g. --max-old-space-size, as are its arguments).
const execArgv = process.execArgv.some((arg) => arg.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'];
fleet = startShardFleet({
  file: fileURLToPath(new URL('./main.ts', import.meta.url)),
  shardCount,
  token: config.discordToken,
  logger,
  execArgv,
  shardArgs: process.argv.slice(2),
});
const code = await fleet.done;
logger.info(code === 0 ? 'all shards stopped' : 'shards stopped', { exitCode: code });
process.exit(code);
