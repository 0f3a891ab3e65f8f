/**
 * Bot under load: N concurrent `/compose length:100` sent through the local Discord-protocol server
 * to the real bot (real discord.js client, SQLite storage, queue and worker threads, shipped model).
 *
 *   bot_compose_requests          interactions sent at once (default 50)
 *   bot_compose_answered          replies that ended with the .mid, .mp3 and .png attached
 *   bot_compose_errors            the rest: a private error reply/follow-up, or no answer in time
 *   bot_compose_latency_ms_p50    send → files attached, answered requests only (queue wait included)
 *   bot_compose_latency_ms_p95
 *   bot_peak_rss_mb               peak RSS sampled every 100 ms of a fresh process running the bot (main +
 *                                 worker threads) and the fake Discord server, plus its ffmpeg children
 *                                 (encoders; Linux only, elsewhere excluded)
 *   bot_start_rss_mb              the same measure once the bot is warmed up and logged in, before any request
 *   bot_fake_server_held_mb       what the fake Discord holds when the last answer is in: every uploaded file
 *                                 (~0.9 MB per answer, mostly the .mp3), kept so tests can read attachments.
 *                                 It is part of bot_peak_rss_mb but not the bot's.
 *   bot_peak_rss_excl_fake_server_mb  peak of (sample − fake Discord's held uploads at that moment): the bot's share
 *   bot_queue_concurrency         jobs run at once (the bot's setting; 1 as shipped unless --concurrency)
 *
 * The load runs in a child process: inside `npm run bench` this process has already run the train and
 * sample benches, whose tfjs memory (~1.7 GB) is never given back and would be counted as the bot's.
 * The model is warmed up before the requests go out (as `npm start` does), so latency excludes model load.
 * Run alone: `npx tsx bench/bot-load.ts [--requests 5] [--concurrency 2]` (prints one JSON line).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DiscordTestServer, InteractionResponse, SentInteraction } from '../test/support/discord-server/index.js';
import { startHarness } from '../test/bot/e2e/harness.js';
import { runInChild } from './child-process.js';

const MODELS_DIR = fileURLToPath(new URL('../models', import.meta.url));
const SOUNDFONTS_DIR = fileURLToPath(new URL('../soundfonts', import.meta.url));
const COMPOSE_LENGTH = 100;
const RESULT_EXTENSIONS = ['.mid', '.mp3', '.png'] as const;
/** Requests are spread round-robin over this many members so per-user limits stay realistic. */
const MAX_USERS = 10;
/** Generous: on a busy 2-core machine one compose can take tens of seconds and they run one by one. */
const PER_REQUEST_BUDGET_MS = 120_000;
const RSS_SAMPLE_INTERVAL_MS = 100;
const LOAD_CHILD_FLAG = '--bot-load-child';

export interface BotLoadOptions {
  /** Concurrent `/compose` interactions (default 50). */
  requests?: number;
  /** QUEUE_CONCURRENCY for the bot; default: the bot's own default. */
  concurrency?: number;
}

/**
 * @returns the figures listed at the top of this file, measured in a fresh child process.
 * @throws when the server or the bot cannot start (e.g. MODEL_NOT_FOUND); unanswered requests are counted, not thrown.
 */
export async function benchBotLoad(opts: BotLoadOptions = {}): Promise<Record<string, number>> {
  const requests = Math.max(1, Math.floor(opts.requests ?? 50));
  const args = [LOAD_CHILD_FLAG, '--requests', String(requests), ...(opts.concurrency ? ['--concurrency', String(opts.concurrency)] : [])];
  return runInChild<Record<string, number>>('bot-load', import.meta.url, args);
}

/** The measurement itself; its process must be fresh, or its earlier memory counts as the bot's. */
async function measureInThisProcess(requests: number, concurrency: number | undefined): Promise<Record<string, number>> {
  // Sampling starts before the bot and stops after it, so model loading and teardown count too.
  const sampler = startRssSampler();
  try {
    const figures = await runLoad(requests, concurrency, sampler);
    const peak = sampler.stop();
    return { ...figures, bot_peak_rss_mb: toMb(peak.total), bot_peak_rss_excl_fake_server_mb: toMb(peak.withoutFakeServer) };
  } finally {
    sampler.stop();
  }
}

/** Starts server + bot, sends the requests at once, waits for every answer, stops everything. */
async function runLoad(requests: number, concurrency: number | undefined, sampler: RssSampler): Promise<Record<string, number>> {
  const userCount = Math.min(MAX_USERS, requests);
  const perUser = Math.ceil(requests / userCount);
  const h = await startHarness({
    env: {
      MODELS_DIR,
      SOUNDFONTS_DIR,
      QUEUE_MAX_PENDING: String(requests),
      QUEUE_MAX_PER_GUILD: String(requests),
      QUEUE_MAX_PER_USER: String(perUser),
      ...(concurrency ? { QUEUE_CONCURRENCY: String(concurrency) } : {}),
    },
    deps: { warmUp: true },
  });
  try {
    sampler.setFakeServer(h.server);
    const startRss = sampler.sampleNow();
    const users = Array.from({ length: userCount }, (_, i) => h.server.createUser(`load-${i}`));
    const timeoutMs = PER_REQUEST_BUDGET_MS * requests;
    const outcomes = await Promise.all(
      Array.from({ length: requests }, (_, i) => {
        const started = performance.now();
        const sent = h.server.sendSlashCommand({ name: 'compose', options: { length: COMPOSE_LENGTH }, user: users[i % userCount] });
        return settle(h.server, sent, timeoutMs, started);
      }),
    );
    const fakeServerHeld = fakeServerHeldBytes(h.server);
    const latencies = outcomes.filter((o) => o.answered).map((o) => o.latencyMs);
    const answered = latencies.length;
    if (answered < requests) {
      const first = outcomes.find((o) => !o.answered);
      process.stderr.write(`bot-load: ${requests - answered} not answered with files; first: ${first?.detail ?? ''}\n`);
      if (h.logLines.length > 0) process.stderr.write(`bot log (warn+):\n${h.logLines.slice(0, 20).join('\n')}\n`);
    }
    return {
      bot_compose_requests: requests,
      bot_compose_answered: answered,
      bot_compose_errors: requests - answered,
      bot_compose_latency_ms_p50: Math.round(percentile(latencies, 50)),
      bot_compose_latency_ms_p95: Math.round(percentile(latencies, 95)),
      bot_start_rss_mb: toMb(startRss),
      bot_fake_server_held_mb: toMb(fakeServerHeld),
      bot_queue_concurrency: h.config.queueConcurrency,
    };
  } finally {
    await h.stop();
  }
}

interface Outcome {
  answered: boolean;
  latencyMs: number;
  detail: string;
}

/** Waits until the reply carries the three result files, or the bot answered with an error instead. */
async function settle(server: DiscordTestServer, sent: SentInteraction, timeoutMs: number, started: number): Promise<Outcome> {
  try {
    const r = await server.waitForInteractionResponse(sent, (x) => hasResultFiles(x) || x.followUps.length > 0 || x.callbackType === 4, timeoutMs);
    const latencyMs = performance.now() - started;
    if (hasResultFiles(r)) return { answered: true, latencyMs, detail: '' };
    const shown = r.followUps[0] ?? r.message;
    return { answered: false, latencyMs, detail: shown?.content ?? '(empty reply)' };
  } catch (error) {
    return { answered: false, latencyMs: performance.now() - started, detail: error instanceof Error ? error.message : String(error) };
  }
}

function hasResultFiles(r: InteractionResponse): boolean {
  const names = r.message?.attachments.map((a) => a.filename) ?? [];
  return RESULT_EXTENSIONS.every((ext) => names.some((name) => name.endsWith(ext)));
}

/** Nearest-rank percentile; 0 for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export interface RssSampler {
  /** From now on each sample also notes what this server holds, to report the peak without it. */
  setFakeServer(server: DiscordTestServer): void;
  /** Takes a sample now; returns it in bytes. */
  sampleNow(): number;
  /** Stops sampling; returns the peaks in bytes. */
  stop(): { total: number; withoutFakeServer: number };
}

export function startRssSampler(): RssSampler {
  let peakBytes = 0;
  let peakWithoutServer = 0;
  let server: DiscordTestServer | undefined;
  const sample = (): number => {
    const bytes = process.memoryUsage.rss() + childrenRssBytes();
    peakBytes = Math.max(peakBytes, bytes);
    peakWithoutServer = Math.max(peakWithoutServer, bytes - (server ? fakeServerHeldBytes(server) : 0));
    return bytes;
  };
  sample();
  const timer = setInterval(sample, RSS_SAMPLE_INTERVAL_MS);
  return {
    setFakeServer: (s) => {
      server = s;
    },
    sampleNow: sample,
    stop: () => {
      clearInterval(timer);
      sample();
      return { total: peakBytes, withoutFakeServer: peakWithoutServer };
    },
  };
}

/**
 * Bytes of the files the bot uploaded that the fake Discord keeps (stored attachments; the recorded
 * requests point at the same buffers, so each buffer counts once).
 */
export function fakeServerHeldBytes(server: DiscordTestServer): number {
  const seen = new Set<Buffer>();
  let total = 0;
  const add = (data: Buffer): void => {
    if (seen.has(data)) return;
    seen.add(data);
    total += data.length;
  };
  for (const message of server.messages()) for (const attachment of message.attachments) add(attachment.data);
  for (const request of server.requests) for (const file of request.files) add(file.data);
  return total;
}

export function toMb(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}

const PAGE_BYTES = 4096;

/**
 * RSS of this process's ffmpeg children (encoders spawned from worker threads have this pid as
 * parent). /proc/<pid>/task/<tid>/children is not available on every kernel, so scan /proc.
 * Elsewhere than Linux: 0 (children excluded).
 */
function childrenRssBytes(): number {
  if (process.platform !== 'linux') return 0;
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // "pid (comm) state ppid …": comm may contain spaces, so fields resume after the last ')'.
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      // Only ffmpeg: tsx's esbuild service is a child too, but not part of the bot.
      if (ppid !== process.pid || !stat.slice(stat.indexOf('(') + 1, close).includes('ffmpeg')) continue;
      const residentPages = Number(readFileSync(`/proc/${entry}/statm`, 'latin1').split(' ')[1]);
      if (Number.isFinite(residentPages)) total += residentPages * PAGE_BYTES;
    } catch {
      // The process ended between readdir and read.
    }
  }
  return total;
}

function numberFlag(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  const value = i >= 0 ? Number(args[i + 1]) : undefined;
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const opts = { requests: numberFlag(args, '--requests'), concurrency: numberFlag(args, '--concurrency') };
  const figures = args.includes(LOAD_CHILD_FLAG)
    ? await measureInThisProcess(Math.max(1, Math.floor(opts.requests ?? 50)), opts.concurrency)
    : await benchBotLoad(opts);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  // A handle left open by the bot or the fake server must not hang `npm run bench` (pipes write synchronously on Linux).
  if (args.includes(LOAD_CHILD_FLAG)) process.exit(0);
}
