/**
 * The BullMQ queue against the real Redis on 127.0.0.1:6379: the shared behaviour suite, then what
 * only a Redis-backed queue has (several processes, retries, Redis going away, data read back).
 * Every queue here writes under a prefix of this file's own and deletes only those keys.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { BullQueue } from '../../src/jobs/bullmq-queue.js';
import { createJobQueue } from '../../src/jobs/create-queue.js';
import { InProcessQueue } from '../../src/jobs/in-process-queue.js';
import type { ProcessorContext } from '../../src/jobs/processor.js';
import { LANES, type QueueLimits } from '../../src/jobs/queue.js';
import { REDIS_URL, RedisOutage, deleteKeys, uniquePrefix, withRedis } from '../support/redis.js';
import { describeJobQueueBehaviour, gate } from './queue-behaviour.js';
import { z } from 'zod';

const describeRedis = await withRedis('BullMQ queue (test/jobs/bullmq-queue.int.test.ts)');
const FILE_PREFIX = uniquePrefix('bullmq');
let serial = 0;
const prefixes: string[] = [];
function nextPrefix(): string {
  const prefix = `${FILE_PREFIX}-${serial++}`;
  prefixes.push(prefix);
  return prefix;
}
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(prefix);
});

describeJobQueueBehaviour(
  'BullMQ',
  async (opts) => {
    const queue = new BullQueue({ ...opts, url: REDIS_URL, prefix: nextPrefix(), workerLanes: LANES });
    await queue.ready();
    return queue;
  },
  describeRedis,
  'handed-over',
);

/**
 * Waits for state another process or Redis changes (vi.waitFor's 1 s default is too short for a
 * loaded 2-core machine; nothing here is a speed claim).
 */
function eventually<T>(check: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(check, { timeout: 15_000, interval: 20 });
}

type Jobs = {
  flaky: { data: { n: number }; result: string; progress: never };
  gated: { data: { name: string }; result: string; progress: never };
};

describeRedis('BullQueue on Redis', () => {
  const open: BullQueue<Jobs>[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
  });
  const limits: QueueLimits = { concurrency: { interactive: 1, batch: 1 }, maxPending: 10, maxPerUser: 2, maxPerGuild: 10 };

  async function make(opts: { prefix?: string; runWorkers?: boolean; flaky?: () => Promise<string>; g?: ReturnType<typeof gate>; limits?: Partial<QueueLimits>; url?: string } = {}): Promise<BullQueue<Jobs>> {
    const queue = new BullQueue<Jobs>({
      url: opts.url ?? REDIS_URL,
      prefix: opts.prefix ?? nextPrefix(),
      processors: {
        flaky: { kind: 'inline', run: opts.flaky ?? (async () => 'ok') },
        gated: (opts.g ?? gate()).ref,
      },
      lanes: { flaky: 'interactive', gated: 'interactive' },
      limits: { ...limits, ...opts.limits },
      attempts: { flaky: 2 },
      schemas: { gated: z.object({ name: z.string().max(20) }) },
      workerLanes: opts.runWorkers === false ? [] : LANES,
    });
    open.push(queue);
    await queue.ready();
    return queue;
  }

  it('GIVEN a kind tried twice WHEN its processor fails with a bug once THEN the second try answers the user', async () => {
    let calls = 0;
    const queue = await make({
      flaky: async () => {
        calls += 1;
        if (calls === 1) throw new Error('transient');
        return 'second time';
      },
    });
    const job = await queue.enqueue('flaky', { n: 1 }, { guildId: 'g', userId: 'u', label: 'flaky' });
    expect(await job.result).toBe('second time');
    expect(calls).toBe(2);
  });

  it('GIVEN a worker stopping with a job running WHEN its grace period ends THEN the job goes back to the queue without using an attempt, another worker runs it, and a process that follows it hears the result', async () => {
    const prefix = nextPrefix();
    const first = gate();
    const stopping = await make({ prefix, g: first });
    const producer = await make({ prefix, runWorkers: false });
    const job = await producer.enqueue('gated', { name: 'long' }, { guildId: 'g', userId: 'u', label: 'long' });
    await eventually(() => expect(first.started).toEqual(['long']));
    expect(await stopping.shutdown(100)).toEqual({ finished: 0, cutOff: 0, handedOver: 0 });

    const second = gate();
    await make({ prefix, g: second });
    await eventually(() => expect(second.started).toEqual(['long']));
    second.open('long');
    expect(await job.result).toBe('long');
    // Handed back, not failed: no attempt was spent on the stopped worker (gated has one).
    const bull = new Queue('gated', { connection: { host: '127.0.0.1', port: 6379 }, prefix });
    try {
      expect((await bull.getJob(job.id))?.attemptsMade).toBe(1);
    } finally {
      await bull.close();
    }
  });

  it('GIVEN two bot processes on one Redis WHEN both enqueue for the same user at once THEN the per-user limit holds across them', async () => {
    const prefix = nextPrefix();
    const g = gate();
    const a = await make({ prefix, g, limits: { maxPerUser: 2 } });
    const b = await make({ prefix, runWorkers: false });
    const owner = { guildId: 'g', userId: 'u', label: 'x' };
    const attempts = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => (i % 2 ? a : b).enqueue('gated', { name: `j${i}` }, owner)));
    const accepted = attempts.filter((r) => r.status === 'fulfilled');
    const refused = attempts.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(accepted).toHaveLength(2);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'QUEUE_FULL', userMessage: expect.stringMatching(/You already have 2 jobs/) });
    // Both processes see the same queue.
    expect((await b.list()).map((j) => j.id).sort()).toEqual((await a.list()).map((j) => j.id).sort());
  });

  it('GIVEN a job enqueued by one process WHEN another process cancels it while it runs THEN the running processor is aborted and the owner hears JOB_CANCELLED', async () => {
    const prefix = nextPrefix();
    const aborted: string[] = [];
    const runner = await make({
      prefix,
      flaky: (() => new Promise<string>(() => undefined)) as () => Promise<string>,
      g: {
        ...gate(),
        ref: {
          kind: 'inline',
          run: (_data: unknown, ctx: ProcessorContext<never>) =>
            new Promise((_resolve, reject) =>
              ctx.signal.addEventListener('abort', () => {
                aborted.push('gated');
                reject(new Error('aborted'));
              }),
            ),
        },
        started: [],
        open: () => undefined,
      },
    });
    const other = await make({ prefix, runWorkers: false });
    const job = await runner.enqueue('gated', { name: 'long' }, { guildId: 'g', userId: 'u', label: 'long' });
    await eventually(async () => expect(await other.position(job.id)).toBe(0));
    await other.cancel(job.id, { guildId: 'g', userId: 'u' });
    await expect(job.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    await eventually(() => expect(aborted).toEqual(['gated']));
    await eventually(async () => expect(await runner.list()).toEqual([]));
  });

  it('GIVEN job data that fails its schema when a worker reads it back WHEN run THEN the processor never sees it and the user gets JOB_FAILED', async () => {
    const g = gate();
    const queue = await make({ g });
    const job = await queue.enqueue('gated', { name: 'a name far longer than twenty characters' }, { guildId: 'g', userId: 'u', label: 'bad' });
    await expect(job.result).rejects.toMatchObject({ code: 'JOB_FAILED' });
    expect(g.started).toEqual([]);
    expect(await queue.list()).toEqual([]);
  });

  it('GIVEN a result its job could not have produced WHEN it comes back from Redis THEN the owner gets JOB_FAILED, not the result', async () => {
    const queue = new BullQueue<Jobs>({
      url: REDIS_URL,
      prefix: nextPrefix(),
      processors: { flaky: { kind: 'inline', run: async () => '/etc/passwd' }, gated: gate().ref },
      lanes: { flaky: 'interactive', gated: 'interactive' },
      limits,
      resultChecks: {
        flaky: (result) => {
          if (typeof result !== 'string' || !result.startsWith('/data/')) throw new Error('outside the job folder');
          return result;
        },
      },
      workerLanes: LANES,
    });
    open.push(queue);
    await queue.ready();
    const failures: string[] = [];
    queue.on('error', (_error, job) => failures.push(job.kind));
    const job = await queue.enqueue('flaky', { n: 1 }, { guildId: 'g', userId: 'u', label: 'x' });
    await expect(job.result).rejects.toMatchObject({ code: 'JOB_FAILED' });
    expect(failures).toEqual(['flaky']);
  });

  it('GIVEN Redis cannot be reached WHEN a job is enqueued THEN a typed QUEUE_UNAVAILABLE comes back instead of a hang', async () => {
    // Nothing listens on port 1: the same fail-fast path as a Redis that went away.
    const queue = new BullQueue<Jobs>({
      url: 'redis://127.0.0.1:1',
      prefix: nextPrefix(),
      processors: { flaky: { kind: 'inline', run: async () => 'x' }, gated: gate().ref },
      lanes: { flaky: 'interactive', gated: 'interactive' },
      limits,
      workerLanes: [],
    });
    try {
      await expect(queue.ready(500)).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
      // Rejects (a hang would time the test out): the enqueue deadline stands between Redis and Discord's 3 s.
      const error = await queue.enqueue('flaky', { n: 1 }, { guildId: 'g', userId: 'u', label: 'x' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'QUEUE_UNAVAILABLE', userMessage: 'Motif is busy right now (its job queue cannot be reached). Try again in a minute.' });
      await expect(queue.list()).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
      await expect(queue.position('nope')).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    } finally {
      await queue.close();
    }
  });

  it('GIVEN Redis goes away while the bot runs WHEN jobs are enqueued THEN QUEUE_UNAVAILABLE meanwhile, no crash, and jobs run again once it is back', async () => {
    const outage = new RedisOutage();
    await outage.up();
    const queue = await make({ url: `redis://127.0.0.1:${outage.port}`, flaky: async () => 'done' });
    const owner = { guildId: 'g', userId: 'u', label: 'x' };
    expect(await (await queue.enqueue('flaky', { n: 1 }, owner)).result).toBe('done');
    await outage.down();
    await expect(queue.enqueue('flaky', { n: 2 }, owner)).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    await expect(queue.cancel('nope', { guildId: 'g', userId: 'u' })).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    await outage.up();
    // Back: the producer, the events and the workers reconnect by themselves.
    const again = await vi.waitFor(() => queue.enqueue('flaky', { n: 3 }, owner), { timeout: 30_000, interval: 250 });
    expect(await again.result).toBe('done');
    await outage.down();
  }, 60_000);

  it('GIVEN a job WHEN it is stored in Redis THEN its data holds exactly what was enqueued plus the queue metadata (no interaction token can ride along)', async () => {
    const prefix = nextPrefix();
    const g = gate();
    const queue = await make({ prefix, g });
    const job = await queue.enqueue('gated', { name: 'plain' }, { guildId: 'g', userId: 'u', channelId: 'c', label: 'compose length 20' });
    const redis = new Redis(REDIS_URL);
    try {
      const stored = JSON.parse((await redis.hget(`${prefix}:gated:${job.id}`, 'data')) ?? 'null') as Record<string, unknown>;
      expect(Object.keys(stored).sort()).toEqual(['data', 'meta']);
      expect(stored.data).toEqual({ name: 'plain' });
      expect(Object.keys(stored.meta as object).sort()).toEqual(['channelId', 'cost', 'enqueuedAt', 'guildId', 'kind', 'label', 'lane', 'priority', 'userId']);
    } finally {
      redis.disconnect();
    }
    await eventually(() => expect(g.started).toEqual(['plain']));
    g.open('plain');
    await job.result;
  });
});

describe('createJobQueue (no Redis needed)', () => {
  const common = {
    prefix: 'motif-test-unused',
    processors: { echo: { kind: 'inline' as const, run: async () => 1 } },
    lanes: { echo: 'interactive' as const },
    limits: { concurrency: { interactive: 1, batch: 1 }, maxPending: 1, maxPerUser: 1, maxPerGuild: 1 },
  };

  it('GIVEN no QUEUE_URL WHEN the queue is made THEN it is the in-process one, as a newcomer has it', async () => {
    const queue = await createJobQueue<{ echo: { data: object; result: number; progress: never } }>(common);
    expect(queue).toBeInstanceOf(InProcessQueue);
    await queue.close();
  });

  it('GIVEN a QUEUE_URL nothing answers WHEN the bot starts THEN one typed error names QUEUE_URL and says what to do', async () => {
    const error = await createJobQueue({ ...common, url: 'redis://127.0.0.1:1', readyTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QUEUE_UNAVAILABLE', userMessage: "The job queue's Redis (QUEUE_URL) cannot be reached; start Redis or unset QUEUE_URL." });
  });
});
