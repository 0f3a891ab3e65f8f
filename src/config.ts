/**
 * The only place that reads the environment. Settings are parsed once, every problem is listed at
 * once, and the result is a frozen, typed object that is passed down as parameters — no other
 * module reads `process.env`.
 *
 * Sources, later wins: the `.env` file (if present), then the real environment.
 * Empty values count as unset, so `KEY=` in `.env` falls back to the default.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { MotifError } from './errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** The queue's lanes (src/jobs/queue.ts), spelled here because configuration depends on nothing. */
export type WorkerLane = 'interactive' | 'batch';

const MB = 1024 * 1024;

const optionalText = z.string().trim().min(1).optional();
const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`)
    .default(fallback);

/** Keys in the order `.env.example` lists them. */
const coreShape = {
  DATA_DIR: z.string().trim().min(1).default('./data'),
  MODELS_DIR: z.string().trim().min(1).default('./models'),
  SOUNDFONTS_DIR: z.string().trim().min(1).default('./soundfonts'),
  DEFAULT_SOUNDFONT: optionalText,
  FFMPEG_PATH: optionalText,
  MAX_MIDI_BYTES: positiveInt(8 * MB),
  MAX_AUDIO_BYTES: positiveInt(25 * MB),
  MAX_AUDIO_SECONDS: positiveInt(600),
  MAX_COMPOSE_LENGTH: positiveInt(2000, 2000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
};

const botShape = {
  DISCORD_TOKEN: z.string({ error: 'is required (the bot token from the Discord developer portal)' }).trim().min(1),
  DISCORD_CLIENT_ID: z.string().trim().regex(/^\d{15,25}$/, 'must be the numeric application id').optional(),
  DEV_GUILD_ID: z.string().trim().regex(/^\d{15,25}$/, 'must be a numeric guild id').optional(),
  DISCORD_API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8080/api' })
    .optional(),
  SHARD_COUNT: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^(auto|[1-9]\d{0,5})$/, 'must be "auto" (what Discord recommends) or a whole number of shards, at least 1')
    .default('auto'),
  STORAGE_URL: z
    .string()
    .trim()
    .regex(/^(sqlite|redis|rediss|postgres|postgresql):\/\//, 'must start with sqlite://, redis:// or postgresql://')
    .optional(),
  BLOB_URL: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgresql:// URL such as postgresql://motif@127.0.0.1:5432/motif (empty = files under DATA_DIR)')
    .optional(),
  BLOB_SCHEMA: z
    .string()
    .trim()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a PostgreSQL schema name: lower-case letters, digits and _')
    .default('motif'),
  ...coreShape,
  QUEUE_URL: z
    .string()
    .trim()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379 (empty = the in-process queue)')
    .optional(),
  QUEUE_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1–40 letters, digits, "_", "." or "-"')
    .default('motif'),
  QUEUE_CONCURRENCY: positiveInt(1, 64),
  QUEUE_BATCH_CONCURRENCY: positiveInt(1, 16),
  QUEUE_MAX_PENDING: positiveInt(50),
  QUEUE_MAX_PER_USER: positiveInt(2),
  QUEUE_MAX_PER_GUILD: positiveInt(10),
  WORKER_LANES: z
    .string()
    .trim()
    .regex(/^(none|interactive|batch|interactive\s*,\s*batch|batch\s*,\s*interactive)$/, 'must be interactive,batch (both), interactive, batch or none')
    .default('interactive,batch'),
  WORKER_STALLED_SECONDS: positiveInt(30, 3600),
  // Decimals allowed (0.05 = 3 s), so a test can watch a run reach its budget.
  TRAIN_MAX_MINUTES: z.coerce
    .number({ error: 'must be a number of minutes' })
    .min(0.01, 'must be at least 0.01')
    .max(24 * 60, `must be at most ${24 * 60}`)
    .default(60),
  MODEL_CACHE_SIZE: positiveInt(3, 64),
  VOICE_IDLE_SECONDS: positiveInt(300),
  ATTACHMENT_HOSTS: z
    .string()
    .trim()
    .regex(/^[a-z0-9.:\[\]-]+(,\s*[a-z0-9.:\[\]-]+)*$/i, 'must be a comma-separated list of host names (host or host:port)')
    .default('cdn.discordapp.com,media.discordapp.net'),
  DOWNLOAD_TIMEOUT_SECONDS: positiveInt(30, 600),
  RESULTS_MAX_BYTES_PER_GUILD: positiveInt(200 * MB),
  SHUTDOWN_GRACE_SECONDS: positiveInt(20, 3600),
  // Unset = no endpoint: nothing listens unless an operator asks for it.
  METRICS_PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(1, 'must be a port from 1 to 65535')
    .max(65535, 'must be a port from 1 to 65535')
    .optional(),
  RATE_USER_PER_MINUTE: positiveInt(30),
  RATE_GUILD_PER_MINUTE: positiveInt(300),
};

const coreSchema = z.object(coreShape);
const botSchema = z.object(botShape);

/** What the CLIs need: folders and input limits, no Discord. */
export interface CoreConfig {
  /** Absolute path of the data folder (guild files, SQLite store). */
  readonly dataDir: string;
  readonly modelsDir: string;
  /** `modelsDir/default`, the shipped model. */
  readonly defaultModelDir: string;
  readonly soundfontsDir: string;
  /** A SoundFont name from `soundfontsDir`; unset = the bundled default. */
  readonly defaultSoundfont?: string;
  /** ffmpeg binary; unset = the bundled @ffmpeg-installer binary. */
  readonly ffmpegPath?: string;
  readonly maxMidiBytes: number;
  readonly maxAudioBytes: number;
  readonly maxAudioSeconds: number;
  /** Upper bound for compose `length` (notes-or-chords), ≤ 2000. */
  readonly maxComposeLength: number;
  readonly logLevel: LogLevel;
}

export interface BotConfig extends CoreConfig {
  readonly discordToken: string;
  /** Application id; when unset it is read from the token (its first segment). */
  readonly discordClientId: string;
  /** Register commands in this guild only (instant) instead of globally. */
  readonly devGuildId?: string;
  /** REST base for a Discord-compatible server, e.g. http://127.0.0.1:8080/api (no /v10). */
  readonly discordApiUrl?: string;
  /**
   * SHARD_COUNT: gateway shards `npm run start:sharded` runs, one process each; 'auto' = what Discord
   * recommends (GET /gateway/bot). `npm start` is always one process with one shard.
   */
  readonly shardCount: number | 'auto';
  /**
   * Set only in a shard process started by `npm run start:sharded` (discord.js's ShardingManager sets
   * SHARDING_MANAGER, SHARDS and SHARD_COUNT for it): the one shard this process runs.
   */
  readonly shard?: ShardAssignment;
  /** Keyv URL: sqlite://FILE, redis://…, postgresql://…; default sqlite under dataDir. */
  readonly storageUrl: string;
  /**
   * Where result, corpus and model files are kept: unset = files under dataDir; postgresql://… =
   * PostgreSQL, so workers need no disk shared with the bot.
   */
  readonly blobUrl?: string;
  /** PostgreSQL schema of the blobs table (BLOB_SCHEMA; default `motif`). */
  readonly blobSchema: string;
  /** Redis URL of a BullMQ queue; unset = the in-process queue. */
  readonly queueUrl?: string;
  /** Prefix of every BullMQ key in Redis, so several deployments (or tests) share one Redis. */
  readonly queuePrefix: string;
  /** Interactive jobs (compose, voice audio, reading uploads) running at once. */
  readonly queueConcurrency: number;
  /** Batch jobs (train, transcribing corpus audio) running at once, beside the interactive ones. */
  readonly queueBatchConcurrency: number;
  /**
   * With QUEUE_URL: the lanes whose jobs this process runs (WORKER_LANES); empty = it only enqueues
   * and `npm run worker` processes do the work. The in-process queue always runs both.
   */
  readonly workerLanes: readonly WorkerLane[];
  /** How long a killed worker's job waits before another worker takes it over (BullMQ lock), ms. */
  readonly workerStalledMs: number;
  /** Jobs waiting or running, all guilds together. */
  readonly queueMaxPending: number;
  /** Default per-user limit (guild settings may lower or raise it). */
  readonly queueMaxPerUser: number;
  readonly queueMaxPerGuild: number;
  /** Wall-clock budget of one /train run, minutes: it stops there and keeps its best epoch. */
  readonly trainMaxMinutes: number;
  /** Guild models a compose worker keeps loaded (and on its disk), besides the shipped default. */
  readonly modelCacheSize: number;
  readonly voiceIdleSeconds: number;
  /**
   * Hosts attachments may be downloaded from (lower case, `host` or `host:port`): Discord's CDN by
   * default. Anything else is refused before a connection is made.
   */
  readonly attachmentHosts: readonly string[];
  /** Longest an attachment download may take, start to last byte; a stall past it is refused. */
  readonly downloadTimeoutMs: number;
  /** Disk the guild's kept results may use (MIDI, audio, piano roll, voice audio); oldest go first. */
  readonly resultsMaxBytesPerGuild: number;
  /** On SIGTERM/SIGINT, how long running jobs may take to finish before their replies say the bot restarted. */
  readonly shutdownGraceSeconds: number;
  /** Port of the operators' endpoint on 127.0.0.1 (/metrics, /healthz); unset = none. */
  readonly metricsPort?: number;
  /** Commands and button presses one user may send per minute. */
  readonly rateUserPerMinute: number;
  /** Commands and button presses one guild may send per minute. */
  readonly rateGuildPerMinute: number;
}

export interface ShardAssignment {
  readonly id: number;
  readonly count: number;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The environment as Motif sees it: `.env` (from `cwd`) overlaid by the real environment.
 * Empty strings are dropped so they fall back to defaults.
 */
export function readEnvironment(opts: { envFile?: string; env?: Environment } = {}): Environment {
  const envFile = opts.envFile ?? resolve('.env');
  const fromFile = existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  return withoutEmpty({ ...fromFile, ...(opts.env ?? process.env) });
}

/**
 * @throws MotifError CONFIG_INVALID listing every bad key (one per line).
 */
export function loadCoreConfig(env: Environment = readEnvironment()): CoreConfig {
  const parsed = parseOrThrow(coreSchema, withoutEmpty(env));
  return Object.freeze(toCore(parsed));
}

/**
 * Bot settings (a superset of the core ones).
 * @throws MotifError CONFIG_INVALID listing every bad key (one per line).
 */
export function loadConfig(env: Environment = readEnvironment()): BotConfig {
  const given = withoutEmpty(env);
  const parsed = parseOrThrow(botSchema, given);
  const core = toCore(parsed);
  const clientId = parsed.DISCORD_CLIENT_ID ?? clientIdFromToken(parsed.DISCORD_TOKEN);
  if (!clientId) {
    // Almost always a mistyped or placeholder token, not a missing client id: say so first.
    throw new MotifError(
      'CONFIG_INVALID',
      'Invalid configuration (see .env.example):\n- DISCORD_TOKEN: does not look like a bot token. Copy it again from the Discord Developer Portal ' +
        '(your application → Bot → Reset Token); if it is right, also set DISCORD_CLIENT_ID to the Application ID.',
    );
  }
  const shardCount = parsed.SHARD_COUNT === 'auto' ? 'auto' : Number(parsed.SHARD_COUNT);
  const shard = given.SHARDING_MANAGER ? shardAssignment(given.SHARDS, shardCount) : undefined;
  return Object.freeze({
    ...core,
    discordToken: parsed.DISCORD_TOKEN,
    discordClientId: clientId,
    devGuildId: parsed.DEV_GUILD_ID,
    discordApiUrl: parsed.DISCORD_API_URL?.replace(/\/+$/, ''),
    shardCount,
    ...(shard ? { shard: Object.freeze(shard) } : {}),
    storageUrl: parsed.STORAGE_URL ?? `sqlite://${resolve(core.dataDir, 'motif.sqlite')}`,
    blobUrl: parsed.BLOB_URL,
    blobSchema: parsed.BLOB_SCHEMA,
    queueUrl: parsed.QUEUE_URL,
    queuePrefix: parsed.QUEUE_PREFIX,
    queueConcurrency: parsed.QUEUE_CONCURRENCY,
    queueBatchConcurrency: parsed.QUEUE_BATCH_CONCURRENCY,
    workerLanes: workerLanes(parsed.WORKER_LANES, parsed.QUEUE_URL),
    workerStalledMs: parsed.WORKER_STALLED_SECONDS * 1000,
    queueMaxPending: parsed.QUEUE_MAX_PENDING,
    queueMaxPerUser: parsed.QUEUE_MAX_PER_USER,
    queueMaxPerGuild: parsed.QUEUE_MAX_PER_GUILD,
    trainMaxMinutes: parsed.TRAIN_MAX_MINUTES,
    modelCacheSize: parsed.MODEL_CACHE_SIZE,
    voiceIdleSeconds: parsed.VOICE_IDLE_SECONDS,
    attachmentHosts: Object.freeze(parsed.ATTACHMENT_HOSTS.split(',').map((h) => h.trim().toLowerCase())),
    downloadTimeoutMs: parsed.DOWNLOAD_TIMEOUT_SECONDS * 1000,
    resultsMaxBytesPerGuild: parsed.RESULTS_MAX_BYTES_PER_GUILD,
    shutdownGraceSeconds: parsed.SHUTDOWN_GRACE_SECONDS,
    metricsPort: parsed.METRICS_PORT,
    rateUserPerMinute: parsed.RATE_USER_PER_MINUTE,
    rateGuildPerMinute: parsed.RATE_GUILD_PER_MINUTE,
  });
}

/** `npm run worker`'s settings: the queue, the lanes it runs, and what the processors need. */
export interface WorkerConfig extends CoreConfig {
  readonly queueUrl: string;
  readonly queuePrefix: string;
  readonly queueConcurrency: number;
  readonly queueBatchConcurrency: number;
  readonly workerLanes: readonly WorkerLane[];
  readonly workerStalledMs: number;
  /** On SIGTERM, how long running jobs may take to finish before they are handed back to the queue. */
  readonly shutdownGraceSeconds: number;
  /** Prometheus /metrics and /healthz on 127.0.0.1 at this port; unset = off. */
  readonly metricsPort?: number;
}

const workerSchema = z.object({
  ...coreShape,
  QUEUE_URL: z
    .string({ error: 'is required: a worker takes its jobs from the BullMQ queue in this Redis (the bot\'s QUEUE_URL)' })
    .trim()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379'),
  QUEUE_PREFIX: botShape.QUEUE_PREFIX,
  QUEUE_CONCURRENCY: botShape.QUEUE_CONCURRENCY,
  QUEUE_BATCH_CONCURRENCY: botShape.QUEUE_BATCH_CONCURRENCY,
  WORKER_LANES: botShape.WORKER_LANES,
  WORKER_STALLED_SECONDS: botShape.WORKER_STALLED_SECONDS,
  SHUTDOWN_GRACE_SECONDS: botShape.SHUTDOWN_GRACE_SECONDS,
  METRICS_PORT: botShape.METRICS_PORT,
});

/**
 * Settings of a worker process: no Discord token, QUEUE_URL required, at least one lane.
 * @throws MotifError CONFIG_INVALID listing every bad key (one per line).
 */
export function loadWorkerConfig(env: Environment = readEnvironment()): WorkerConfig {
  const parsed = parseOrThrow(workerSchema, withoutEmpty(env));
  const lanes = workerLanes(parsed.WORKER_LANES, parsed.QUEUE_URL);
  if (lanes.length === 0) {
    throw new MotifError('CONFIG_INVALID', 'Invalid configuration (see .env.example):\n- WORKER_LANES: a worker must run at least one lane (interactive, batch or both)');
  }
  return Object.freeze({
    ...toCore(parsed),
    queueUrl: parsed.QUEUE_URL,
    queuePrefix: parsed.QUEUE_PREFIX,
    queueConcurrency: parsed.QUEUE_CONCURRENCY,
    queueBatchConcurrency: parsed.QUEUE_BATCH_CONCURRENCY,
    workerLanes: lanes,
    workerStalledMs: parsed.WORKER_STALLED_SECONDS * 1000,
    shutdownGraceSeconds: parsed.SHUTDOWN_GRACE_SECONDS,
    metricsPort: parsed.METRICS_PORT,
  });
}

function workerLanes(setting: string, queueUrl: string | undefined): readonly WorkerLane[] {
  const lanes = setting === 'none' ? [] : (setting.split(',').map((lane) => lane.trim()) as WorkerLane[]);
  if (!queueUrl && lanes.length < 2) {
    throw new MotifError(
      'CONFIG_INVALID',
      'Invalid configuration (see .env.example):\n- WORKER_LANES: only applies with QUEUE_URL (the in-process queue runs every lane itself); unset it or set QUEUE_URL',
    );
  }
  return Object.freeze(lanes);
}

/** Every key the bot reads, in schema order (what `.env.example` must list). */
export const CONFIG_KEYS: readonly string[] = Object.freeze(Object.keys(botShape));

/**
 * The shard a ShardingManager child runs: SHARDS (its id, as JSON) of SHARD_COUNT (the total, a number
 * there: the manager writes its resolved count over an inherited "auto").
 * @throws MotifError CONFIG_INVALID when they do not describe one shard.
 */
function shardAssignment(shards: string | undefined, count: number | 'auto'): ShardAssignment {
  const id = Number(shards);
  if (count === 'auto' || !/^\d+$/.test(shards ?? '') || id >= count) {
    throw new MotifError(
      'CONFIG_INVALID',
      `Invalid configuration: SHARDING_MANAGER is set but SHARDS=${shards ?? '(unset)'} / SHARD_COUNT=${count} do not name one shard; these are set by npm run start:sharded, do not set them by hand.`,
    );
  }
  return { id, count };
}

/** A bot token's first segment is the base64 of the bot's user id, which equals the application id. */
function clientIdFromToken(token: string): string | undefined {
  const first = token.split('.')[0] ?? '';
  const decoded = Buffer.from(first, 'base64').toString('utf8');
  return /^\d{15,25}$/.test(decoded) ? decoded : undefined;
}

function toCore(parsed: z.infer<typeof coreSchema>): CoreConfig {
  const modelsDir = resolve(parsed.MODELS_DIR);
  return {
    dataDir: resolve(parsed.DATA_DIR),
    modelsDir,
    defaultModelDir: resolve(modelsDir, 'default'),
    soundfontsDir: resolve(parsed.SOUNDFONTS_DIR),
    defaultSoundfont: parsed.DEFAULT_SOUNDFONT,
    ffmpegPath: parsed.FFMPEG_PATH,
    maxMidiBytes: parsed.MAX_MIDI_BYTES,
    maxAudioBytes: parsed.MAX_AUDIO_BYTES,
    maxAudioSeconds: parsed.MAX_AUDIO_SECONDS,
    maxComposeLength: parsed.MAX_COMPOSE_LENGTH,
    logLevel: parsed.LOG_LEVEL,
  };
}

function parseOrThrow<S extends z.ZodType>(schema: S, env: Environment): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `- ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new MotifError('CONFIG_INVALID', `Invalid configuration (see .env.example):\n${lines.join('\n')}`);
}

function withoutEmpty(env: Environment): Environment {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') out[key] = value;
  }
  return out;
}
