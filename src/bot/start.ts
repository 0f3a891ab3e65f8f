/**
 * Builds and starts the bot from a validated configuration: storage, queue, client, router.
 * Everything is injectable so end-to-end tests run the real client against a local server.
 */
import { Events, type Client } from 'discord.js';
import type { BotConfig } from '../config.js';
import { createJobQueue } from '../jobs/create-queue.js';
import { MOTIF_ATTEMPTS, MOTIF_JOB_SCHEMAS, MOTIF_RESULT_CHECKS } from '../jobs/job-schemas.js';
import { MOTIF_LANES, MOTIF_PROCESSORS, WARM_UP_PROCESSOR, type MotifJobs } from '../jobs/motif-jobs.js';
import type { ProcessorRef } from '../jobs/processor.js';
import type { OpsServer } from '../ops/http-server.js';
import { createMetrics } from '../ops/metrics.js';
import { startProcessMetrics } from '../ops/process-metrics.js';
import { jobBlobSettings } from '../jobs/job-blobs.js';
import { openBlobStore } from '../storage/blobs/index.js';
import type { BlobStore } from '../storage/blobs/blob-store.js';
import { openStorage, type Storage } from '../storage/index.js';
import { createClient } from './client.js';
import { sweepDeliveries } from './delivery.js';
import type { Command } from './command.js';
import type { BotContext, VoiceService } from './context.js';
import { createLogger, type Logger } from '../util/logger.js';
import { replyPrivately } from './replies.js';
import { commandMap, routeInteraction } from './router.js';
import { checkDiscordToken } from './token-check.js';
import { RateLimiter } from './rate-limit.js';

export interface BotDeps {
  logger?: Logger;
  /** Already-open storage (the bot closes it on stop). Default: openStorage(config.storageUrl). */
  storage?: Storage;
  /** Already-open blob store (the bot closes it on stop). Default: openBlobStore(config.blobUrl). */
  blobs?: BlobStore;
  /** Replace processors, e.g. to run the pipeline inline. */
  processors?: Partial<{ [K in keyof MotifJobs]: ProcessorRef }>;
  /**
   * The slash commands to answer. Passed in by the composition root (main.ts, tests) because the
   * commands depend on the bot, never the other way round.
   */
  commands: readonly Command[];
  /** The voice issue's service; without it the Play button says voice is unavailable. */
  createVoice?: (client: Client, ctx: BotContext) => VoiceService;
  /** Load the model and SoundFont in the workers before logging in (default true). */
  warmUp?: boolean;
  /** Check the token with GET /users/@me before anything slow (default true). */
  checkToken?: boolean;
  tokenLifetimeMs?: number;
}

export interface BotHandle {
  client: Client<true>;
  ctx: BotContext;
  /**
   * Stops accepting interactions and jobs, lets jobs finish for up to `graceMs` (default
   * SHUTDOWN_GRACE_SECONDS; 0 cancels at once), posts their results, tells the owners of jobs cut
   * off that the bot restarted, then logs out and closes storage. Idempotent.
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

/**
 * @throws the storage connection error, a warm-up MotifError (MODEL_NOT_FOUND, SOUNDFONT_NOT_FOUND…),
 *   or the login error (e.g. an invalid token).
 */
export async function startBot(config: BotConfig, deps: BotDeps): Promise<BotHandle> {
  // Delivery records from before this moment are an earlier process's to finish (the start-up sweep).
  const processStartedAt = Date.now();
  const logger = deps.logger ?? createLogger(config.logLevel, undefined, { redact: [config.discordToken] });
  // Seconds, not minutes: a wrong token must not wait for the model to load to be reported.
  if (deps.checkToken ?? true) {
    const me = await checkDiscordToken(config);
    logger.info('token accepted', { botUserId: me.id, botName: me.username });
  }
  const storage =
    deps.storage ??
    (await openStorage(config.storageUrl, {
      dataDir: config.dataDir,
      onError: (error, ns) => logger.error('storage error', { ns, error }),
      onCorrupt: (bad) => logger.warn('stored value refused, defaults used; raw value kept aside', { ...bad }),
    }));
  // Only when asked for: without METRICS_PORT nothing is measured or listens.
  const metrics = config.metricsPort === undefined ? undefined : createMetrics();
  const blobs =
    deps.blobs ??
    (await openBlobStore(config.blobUrl, { dataDir: config.dataDir, schema: config.blobSchema, onError: (error) => logger.error('blob store error', { error }) }).catch(async (error: unknown) => {
      await storage.close();
      throw error;
    }));
  const queue = await createJobQueue<MotifJobs>({
    url: config.queueUrl,
    prefix: config.queuePrefix,
    workerLanes: config.workerLanes,
    stalledMs: config.workerStalledMs,
    processors: { ...MOTIF_PROCESSORS, ...deps.processors },
    lanes: MOTIF_LANES,
    limits: {
      concurrency: { interactive: config.queueConcurrency, batch: config.queueBatchConcurrency },
      maxPending: config.queueMaxPending,
      maxPerUser: config.queueMaxPerUser,
      maxPerGuild: config.queueMaxPerGuild,
    },
    logger,
    attempts: MOTIF_ATTEMPTS,
    schemas: MOTIF_JOB_SCHEMAS,
    resultChecks: MOTIF_RESULT_CHECKS,
    observer: metrics?.observer,
  }).catch(async (error: unknown) => {
    await Promise.allSettled([storage.close(), blobs.close()]);
    throw error;
  });
  queue.on('error', (error, job) => logger.error('job failed', { job, error }));
  const client = createClient(config);
  const ctx: BotContext = {
    config,
    storage,
    blobs,
    jobBlobs: jobBlobSettings({ blobUrl: config.blobUrl, schema: config.blobSchema, dataDir: config.dataDir, queueUrl: config.queueUrl, modelCacheSize: config.modelCacheSize }),
    queue,
    logger,
    tokenLifetimeMs: deps.tokenLifetimeMs,
    rateLimiter: new RateLimiter({ perUser: config.rateUserPerMinute, perGuild: config.rateGuildPerMinute }),
  };
  const inFlight = new Set<Promise<void>>();
  const commands = commandMap(deps.commands);

  client.on(Events.Error, (error) => logger.error('discord client error', { error }));
  client.on(Events.Warn, (message) => logger.warn(`discord: ${message}`));
  client.on(Events.ShardDisconnect, (event, shardId) => logger.warn('gateway disconnected', { shardId, code: event.code }));
  client.on(Events.ShardResume, (shardId, replayed) => logger.info('gateway resumed', { shardId, replayed }));
  let accepting = true;
  client.on(Events.InteractionCreate, (interaction) => {
    if (!accepting) {
      if (interaction.isRepliable()) void replyPrivately(interaction, 'Motif is restarting; try again in a minute.').catch(() => undefined);
      return;
    }
    const running = routeInteraction(interaction, ctx, commands);
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  });

  let ops: OpsServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (opts: { graceMs?: number } = {}): Promise<void> => (stopping ??= shutDown(opts.graceMs ?? config.shutdownGraceSeconds * 1000));
  const shutDown = async (graceMs: number): Promise<void> => {
    const deadline = Date.now() + graceMs;
    accepting = false;
    const atShutdown = await queue.shutdown(graceMs);
    // Handlers still post finished results and edit cut-off replies ("restarted"): give them the
    // rest of the grace period, and at least a few seconds for those last edits.
    await settleWithin([...inFlight], Math.max(deadline - Date.now(), 5_000));
    if (atShutdown.finished + atShutdown.cutOff + atShutdown.handedOver > 0) logger.info('jobs at shutdown', { ...atShutdown });
    await ctx.voice?.destroy().catch((error: unknown) => logger.warn('voice shutdown failed', { error }));
    await client.destroy();
    await Promise.allSettled([storage.close(), blobs.close()]);
    // Last, so operators watch the shutdown itself (/healthz: 503 "shutting down").
    await ops?.close();
  };

  try {
    if (metrics && config.metricsPort !== undefined) {
      ops = await startProcessMetrics(queue, {
        // Shard processes share one machine and one setting: each takes the next port (shard 0 the one set).
        port: config.metricsPort + (config.shard?.id ?? 0),
        metrics,
        checks: {
          storage: () => storage.ping(),
          gateway: () => {
            if (!accepting) throw new Error('shutting down');
            if (!client.isReady()) throw new Error('not connected to Discord');
          },
        },
      });
      logger.info('metrics and health on 127.0.0.1', { url: ops.url, paths: ['/metrics', '/healthz'] });
    }
    if (deps.warmUp ?? true) {
      const settings = { modelDir: config.defaultModelDir, soundfont: config.defaultSoundfont, soundfontDir: config.soundfontsDir };
      await queue.warmUp(WARM_UP_PROCESSOR, settings);
      logger.info('model and SoundFont loaded in the interactive workers', { workers: config.queueConcurrency });
    }
    if (deps.createVoice) ctx.voice = deps.createVoice(client, ctx);
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(config.discordToken);
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info(`logged in as ${client.user?.tag ?? '?'}`, { guilds: client.guilds.cache.size, storage: storage.backend, blobs: blobs.backend, queue: config.queueUrl ? 'bullmq' : 'in-process' });
  // Answers owed from before this start (durable delivery): in the background, the bot is already serving.
  void sweepDeliveries(client as Client<true>, ctx, inFlight, processStartedAt).then(
    (report) => {
      if (report.resumed + report.lost + report.dropped + report.failed > 0) logger.info('pending deliveries swept', { ...report });
    },
    (error: unknown) => logger.warn('pending deliveries could not be swept; they stay for the next start', { error }),
  );
  return { client: client as Client<true>, ctx, stop };
}

/** Waits for `promises` to settle, but no longer than `ms`. */
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(promises), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
