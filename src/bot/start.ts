/**
 * Builds and starts the bot from a validated configuration: storage, queue, client, router.
 * Everything is injectable so end-to-end tests run the real client against a local server.
 */
import { Events, type Client } from 'discord.js';
import { COMMANDS } from '../../commands/index.js';
import type { BotConfig } from '../config.js';
import { MOTIF_PROCESSORS, WARM_UP_PROCESSOR, type MotifJobs } from '../jobs/motif-jobs.js';
import type { ProcessorRef } from '../jobs/processor.js';
import { InProcessQueue } from '../jobs/queue.js';
import { openStorage, type Storage } from '../storage/index.js';
import { createClient } from './client.js';
import type { Command } from './command.js';
import type { BotContext, VoiceService } from './context.js';
import { createLogger, type Logger } from './logger.js';
import { commandMap, routeInteraction } from './router.js';
import { RateLimiter } from './rate-limit.js';

export interface BotDeps {
  logger?: Logger;
  /** Already-open storage (the bot closes it on stop). Default: openStorage(config.storageUrl). */
  storage?: Storage;
  /** Replace processors, e.g. to run the pipeline inline. */
  processors?: Partial<{ [K in keyof MotifJobs]: ProcessorRef }>;
  commands?: readonly Command[];
  /** The voice issue's service; without it the Play button says voice is unavailable. */
  createVoice?: (client: Client, ctx: BotContext) => VoiceService;
  /** Load the model and SoundFont in the workers before logging in (default true). */
  warmUp?: boolean;
  tokenLifetimeMs?: number;
}

export interface BotHandle {
  client: Client<true>;
  ctx: BotContext;
  /** Waits for handlers in flight, cancels jobs, logs out, closes storage. Idempotent. */
  stop(): Promise<void>;
}

/**
 * @throws the storage connection error, a warm-up MotifError (MODEL_NOT_FOUND, SOUNDFONT_NOT_FOUND…),
 *   or the login error (e.g. an invalid token).
 */
export async function startBot(config: BotConfig, deps: BotDeps = {}): Promise<BotHandle> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const storage =
    deps.storage ??
    (await openStorage(config.storageUrl, {
      onError: (error, ns) => logger.error('storage error', { ns, error }),
      onCorrupt: (bad) => logger.warn('stored value refused, defaults used; raw value kept aside', { ...bad }),
    }));
  const queue = new InProcessQueue<MotifJobs>(
    { ...MOTIF_PROCESSORS, ...deps.processors },
    {
      concurrency: config.queueConcurrency,
      maxPending: config.queueMaxPending,
      maxPerUser: config.queueMaxPerUser,
      maxPerGuild: config.queueMaxPerGuild,
    },
    logger,
  );
  queue.on('error', (error, job) => logger.error('job failed', { job, error }));
  const client = createClient(config);
  const ctx: BotContext = {
    config,
    storage,
    queue,
    logger,
    tokenLifetimeMs: deps.tokenLifetimeMs,
    rateLimiter: new RateLimiter({ perUser: config.rateUserPerMinute, perGuild: config.rateGuildPerMinute }),
  };
  const inFlight = new Set<Promise<void>>();
  const commands = commandMap(deps.commands ?? COMMANDS);

  client.on(Events.Error, (error) => logger.error('discord client error', { error }));
  client.on(Events.Warn, (message) => logger.warn(`discord: ${message}`));
  client.on(Events.ShardDisconnect, (event, shardId) => logger.warn('gateway disconnected', { shardId, code: event.code }));
  client.on(Events.ShardResume, (shardId, replayed) => logger.info('gateway resumed', { shardId, replayed }));
  client.on(Events.InteractionCreate, (interaction) => {
    const running = routeInteraction(interaction, ctx, commands);
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await queue.close();
    await Promise.allSettled([...inFlight]);
    await ctx.voice?.destroy().catch((error: unknown) => logger.warn('voice shutdown failed', { error }));
    await client.destroy();
    await storage.close();
  };

  try {
    if (deps.warmUp ?? true) {
      const settings = { modelDir: config.defaultModelDir, soundfont: config.defaultSoundfont, soundfontDir: config.soundfontsDir };
      await queue.warmUp(WARM_UP_PROCESSOR, settings);
      logger.info('model and SoundFont loaded in the workers', { workers: config.queueConcurrency });
    }
    if (deps.createVoice) ctx.voice = deps.createVoice(client, ctx);
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(config.discordToken);
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info(`logged in as ${client.user?.tag ?? '?'}`, { guilds: client.guilds.cache.size, storage: storage.backend });
  return { client: client as Client<true>, ctx, stop };
}
