/**
 * The bot over several gateway shards, one process per shard, with discord.js's ShardingManager:
 * what `npm run start:sharded` (sharded.ts) runs. Each shard process is the whole bot (main.ts):
 * its own client for its guilds, storage, queue and workers. A guild's interactions and voice
 * events arrive on its shard's connection (`(guild_id >> 22) % shards`), so voice stays in the
 * process of the guild's shard without any routing here.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { REST, Routes, ShardingManager, type Shard } from 'discord.js';
import type { BotConfig } from '../config.js';
import type { Logger } from '../util/logger.js';
import { describeDiscordError } from './token-check.js';

/** Discord lets a bot IDENTIFY once per 5 s (max_concurrency 1); discord.js waits this long between shards. */
export const SHARD_SPAWN_DELAY_MS = 5_500;
/** How long a shard that crashed after it was ready waits before it is started again. */
export const SHARD_RESPAWN_DELAY_MS = 5_000;

/**
 * The shard count Discord recommends (GET /gateway/bot), through DISCORD_API_URL when it is set:
 * discord.js's own `fetchRecommendedShardCount` always asks discord.com.
 * @throws MotifError CONFIG_INVALID (one line) when Discord rejects the token or cannot be reached.
 */
export async function recommendedShardCount(config: Pick<BotConfig, 'discordToken' | 'discordApiUrl'>, opts: { timeoutMs?: number } = {}): Promise<number> {
  const rest = new REST({ ...(config.discordApiUrl ? { api: config.discordApiUrl } : {}), timeout: opts.timeoutMs ?? 15_000, retries: 1 }).setToken(config.discordToken);
  try {
    const { shards } = (await rest.get(Routes.gatewayBot())) as { shards?: unknown };
    return typeof shards === 'number' && Number.isInteger(shards) && shards >= 1 ? shards : 1;
  } catch (error) {
    throw describeDiscordError(error, config.discordApiUrl);
  }
}

export interface ShardFleetOptions {
  /** The shard script (main.ts). */
  file: string;
  shardCount: number;
  token: string;
  logger: Logger;
  /** Node flags of each shard process (e.g. `--import tsx` to run main.ts from sources). */
  execArgv?: string[];
  /** Arguments for each shard process (they end up on its command line). */
  shardArgs?: string[];
  spawnDelayMs?: number;
  respawnDelayMs?: number;
}

export interface ShardFleet {
  readonly manager: ShardingManager;
  /**
   * Resolves with the exit code for the whole fleet once every shard process has ended after `stop`
   * or after a start-up failure: 0 when each stopped cleanly, otherwise 1.
   */
  readonly done: Promise<number>;
  /** Sends `signal` (default SIGTERM) to every running shard once, and starts no more. Idempotent. */
  stop(signal?: NodeJS.Signals): void;
  /** Kills every shard process at once (SIGKILL). */
  kill(): void;
}

/**
 * Starts the shards one after the other, each once the previous one is ready (and at least
 * `spawnDelayMs` later), as discord.js's `manager.spawn()` does, so their IDENTIFYs respect Discord's
 * rate. A shard that crashes after it was ready is started again; one that ends before it was ready
 * (its start-up failed: it printed why) stops the whole fleet with exit code 1.
 */
export function startShardFleet(options: ShardFleetOptions): ShardFleet {
  const { logger } = options;
  const shardList = Array.from({ length: options.shardCount }, (_, id) => id);
  const manager = new ShardingManager(options.file, {
    totalShards: options.shardCount,
    shardList,
    mode: 'process',
    // Crashes are handled below: respawned after READY, fatal before it (no start-up crash loop).
    respawn: false,
    execArgv: options.execArgv ?? [],
    shardArgs: options.shardArgs ?? [],
    token: options.token,
  });
  const spawnDelayMs = options.spawnDelayMs ?? SHARD_SPAWN_DELAY_MS;
  const respawnDelayMs = options.respawnDelayMs ?? SHARD_RESPAWN_DELAY_MS;

  let stopping = false;
  let failed = false;
  let signalled: NodeJS.Signals | null = null;
  const onStop: Array<() => void> = [];
  const stopped = new Promise<void>((resolve) => onStop.push(resolve));
  /** Shards whose process runs (or is being started), and whether each became ready since its last start. */
  const running = new Map<number, { shard: Shard; ready: boolean }>();
  /** How each shard process ended once the fleet was stopping (or failed). */
  const endings: Array<{ code: number | null; signal: string | null }> = [];
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let spawning = true;

  const finishIfIdle = (): void => {
    if ((stopping || failed) && !spawning && running.size === 0) {
      // A shard killed by the very signal it was sent (it had not installed its handlers yet: still
      // loading) stopped as asked.
      const clean = !failed && endings.every((e) => e.code === 0 || (e.code === null && e.signal === signalled));
      resolveDone(clean ? 0 : 1);
    }
  };

  const stop = (signal: NodeJS.Signals = 'SIGTERM'): void => {
    if (signalled) return;
    signalled = signal;
    stopping = true;
    for (const resolve of onStop) resolve();
    for (const [id, { shard }] of running) {
      if (shard.process) shard.process.kill(signal);
      else running.delete(id); // waiting to be started again, or its start failed: nothing to stop
    }
    finishIfIdle();
  };

  /** Forks the shard's process (again); a failure to fork stops the fleet. */
  const launch = async (shard: Shard): Promise<void> => {
    try {
      // -1: do not time out; the shard loads the model before it logs in, which takes a while.
      await shard.spawn(-1);
      logger.info('shard starting', { shard: shard.id, of: options.shardCount, pid: shard.process?.pid });
    } catch (error) {
      logger.error('could not start a shard process; stopping the other shards', { shard: shard.id, error });
      failed = true;
      stop();
    }
  };

  const watch = (shard: Shard): void => {
    shard.on('ready', () => {
      const entry = running.get(shard.id);
      if (entry) entry.ready = true;
      logger.info('shard ready', { shard: shard.id, of: options.shardCount });
    });
    shard.on('death', (ended) => {
      // mode 'process': a ChildProcess, whose exit code (or signal) is known by now.
      const child = ended as ChildProcess;
      const entry = running.get(shard.id);
      running.delete(shard.id);
      const code = child.exitCode ?? null;
      if (stopping || failed) {
        endings.push({ code, signal: child.signalCode ?? null });
        finishIfIdle();
        return;
      }
      if (!entry?.ready) {
        // Its own one-line reason is already on stderr (it inherits ours).
        logger.error('shard stopped before it was ready; stopping the other shards', { shard: shard.id, exitCode: code, signal: child.signalCode ?? undefined });
        failed = true;
        endings.push({ code, signal: child.signalCode ?? null });
        stop();
        return;
      }
      logger.error('shard process ended; starting it again', { shard: shard.id, exitCode: code, signal: child.signalCode ?? undefined, inSeconds: respawnDelayMs / 1000 });
      running.set(shard.id, { shard, ready: false });
      void Promise.race([sleep(respawnDelayMs), stopped]).then(async () => {
        if (!stopping && !failed) await launch(shard);
      });
    });
  };

  void (async () => {
    for (const id of shardList) {
      if (stopping || failed) break;
      const shard = manager.createShard(id);
      watch(shard);
      running.set(id, { shard, ready: false });
      const readyOrGone = new Promise<void>((resolve) => {
        shard.once('ready', () => resolve());
        shard.once('death', () => resolve());
      });
      await launch(shard);
      if (id === shardList.at(-1)) break;
      await Promise.race([Promise.all([readyOrGone, sleep(spawnDelayMs)]), stopped]);
    }
    spawning = false;
    finishIfIdle();
  })();

  return {
    manager,
    done,
    stop,
    kill: () => {
      for (const { shard } of running.values()) shard.process?.kill('SIGKILL');
    },
  };
}
