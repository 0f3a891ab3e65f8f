/**
 * What the queue itself costs per job, without the work: enqueue → result of a processor that
 * returns at once, in-process and on BullMQ (Redis at 127.0.0.1:6379, under a prefix of its own that
 * is deleted afterwards; skipped with one line when Redis is not there). The compose job it carries
 * takes ~1.5 s, so these figures say whether moving to Redis is felt.
 * `npx tsx bench/queue.ts [--json]` or `npm run bench -- --only queue`.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { BullQueue } from '../src/jobs/bullmq-queue.js';
import { InProcessQueue } from '../src/jobs/in-process-queue.js';
import { LANES, type JobQueue, type QueueLimits } from '../src/jobs/queue.js';

type Jobs = { echo: { data: { i: number }; result: number; progress: never } };
const REDIS_URL = 'redis://127.0.0.1:6379';
const LIMITS: QueueLimits = { concurrency: { interactive: 1, batch: 1 }, maxPending: 1000, maxPerUser: 1000, maxPerGuild: 1000 };
const processors = { echo: { kind: 'inline' as const, run: async (data: { i: number }) => data.i } };

export async function benchQueue(opts: { sequential?: number; burst?: number } = {}): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  const inProcess = new InProcessQueue<Jobs>({ processors, lanes: { echo: 'interactive' }, limits: LIMITS });
  Object.assign(figures, await measure('inprocess', inProcess, opts));
  await inProcess.close();
  const prefix = `motif-bench-${randomBytes(4).toString('hex')}`;
  const bull = new BullQueue<Jobs>({ url: REDIS_URL, prefix, processors, lanes: { echo: 'interactive' }, limits: LIMITS, workerLanes: LANES });
  try {
    await bull.ready(3_000);
    Object.assign(figures, await measure('bullmq', bull, opts));
  } catch (error) {
    process.stderr.write(`SKIPPED: queue bench on BullMQ needs Redis at 127.0.0.1:6379 (${error instanceof Error ? error.message : String(error)})\n`);
  } finally {
    await bull.close();
    await deletePrefix(prefix).catch(() => undefined);
  }
  return figures;
}

async function measure(name: string, queue: JobQueue<Jobs>, opts: { sequential?: number; burst?: number }): Promise<Record<string, number>> {
  const enqueueMs: number[] = [];
  const roundTripMs: number[] = [];
  for (let i = 0; i < (opts.sequential ?? 200); i++) {
    const start = performance.now();
    const handle = await queue.enqueue('echo', { i }, { guildId: 'g', userId: `u${i % 10}`, label: 'echo' });
    enqueueMs.push(performance.now() - start);
    await handle.result;
    roundTripMs.push(performance.now() - start);
  }
  const burst = opts.burst ?? 100;
  const start = performance.now();
  const handles = await Promise.all(Array.from({ length: burst }, (_, i) => queue.enqueue('echo', { i }, { guildId: 'g', userId: `u${i % 10}`, label: 'echo' })));
  await Promise.all(handles.map((h) => h.result));
  const burstSeconds = (performance.now() - start) / 1000;
  return {
    [`queue_enqueue_ms_p50_${name}`]: round(percentile(enqueueMs, 0.5)),
    [`queue_roundtrip_ms_p50_${name}`]: round(percentile(roundTripMs, 0.5)),
    [`queue_roundtrip_ms_p95_${name}`]: round(percentile(roundTripMs, 0.95)),
    [`queue_jobs_per_s_${name}`]: Math.round(burst / burstSeconds),
  };
}

async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const figures = await benchQueue();
  for (const [key, value] of Object.entries(figures)) process.stderr.write(`${key.padEnd(36)} ${value}\n`);
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
}
