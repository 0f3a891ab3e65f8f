/**
 * The Redis-backed queue (QUEUE_URL=redis://…), on BullMQ: jobs, limits and fair ordering live in
 * Redis, so several bot processes can enqueue at once and hold the same limits.
 *
 * Layout in Redis (every key under QUEUE_PREFIX, so deployments and tests share one Redis safely):
 * - one BullMQ queue per job kind (`<prefix>:<kind>:…`), jobs added with a BullMQ priority that
 *   encodes the lane's fair order (below);
 * - our own bookkeeping under `<prefix>:_q:…`: the active job ids (all, per guild, per user) that the
 *   limits count, each job's metadata, which jobs have started, recent usage per owner and lane;
 * - a pub/sub channel that carries cancellations to whichever process runs the job.
 *
 * **Limits** are checked and taken in one Lua script, so two bot processes enqueueing at the same
 * moment cannot both take the last slot. They are sets of job ids, not counters, so releasing twice
 * is harmless, and a job whose process died is found and released by `reconcile` when a limit refuses.
 *
 * **Fair order.** The in-process queue re-sorts by a score that ages every second (fairness.ts); a
 * score that ages equally for every job orders jobs the same as
 *   seconds since the lane's base time × aging + owner's load + cost,
 * which no longer changes once computed. That number (×10, rounded) is the job's BullMQ priority, so
 * Redis keeps the fair order without anyone re-sorting. The owner's load is their decayed usage of
 * the lane plus the cost of their jobs already in it (known when the job is added, not re-weighed
 * later: the one difference from the in-process order).
 *
 * **Lanes.** Each kind's BullMQ Worker takes up to its lane's concurrency of jobs, and a per-lane
 * gate in this process lets that many run at once, best priority first, so the kinds of one lane
 * share its slots. Which lanes a process runs is `workerLanes`: the bot runs both by default (one
 * machine, nothing else to start), `npm run worker` processes run the lanes named by WORKER_LANES
 * and a bot with WORKER_LANES=none only enqueues. Processors run in child processes (worker-host.ts).
 *
 * **Stopping.** A process that stops hands its jobs back instead of cancelling them: jobs running in
 * its workers go back to the queue (BullMQ DelayedError, no attempt used) and its handles settle with
 * JOB_HANDED_OVER; the jobs finish elsewhere and the bot delivers them (durable delivery). A process
 * that is killed outright loses its locks after `stalledMs`, and another worker takes the jobs over.
 *
 * **Failures.** A MotifError from a processor is final (BullMQ UnrecoverableError) and reaches the
 * handle typed; other failures are retried up to the kind's `attempts`, then JOB_FAILED. Redis
 * unreachable at enqueue: QUEUE_UNAVAILABLE within {@link ENQUEUE_DEADLINE_MS}, never a hang.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { DelayedError, Queue, QueueEvents, UnrecoverableError, Worker, type Job as BullJob, type RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { MotifError, isMotifError, type ErrorCode } from '../errors.js';
import { DEFAULT_AGING_PER_SECOND, DEFAULT_USAGE_HALF_LIFE_MS, type FairnessOptions } from './fairness.js';
import type { QueueLogger } from './in-process-queue.js';
import { JobAborted, type ProcessorRef } from './processor.js';
import { observe, reportFinished, type QueueObserver } from './queue-observer.js';
import type { QueueStats } from './queue.js';
import {
  LANES,
  cancelledError,
  cutOffError,
  handedOverError,
  jobCost,
  jobFailedError,
  jobNotFoundError,
  notYourJobError,
  queueFullError,
  restartingError,
  safeCall,
  subscribe,
  type EnqueueOptions,
  type JobHandle,
  type JobInfo,
  type JobQueue,
  type JobTypeMap,
  type Lane,
  type LaneMap,
  type LimitHit,
  type QueueLimits,
  type ShutdownReport,
} from './queue.js';
import { LaneGate } from './lane-gate.js';
import { RedisUsageLedger } from './redis-usage-ledger.js';
import { WorkerPool, type WorkerIsolation } from './worker-host.js';
import { safeJson } from '../util/safe-json.js';

/** Schemas that check each kind's data when a worker reads it back from Redis. */
export type JobDataSchemas<M extends JobTypeMap> = { readonly [K in keyof M]?: z.ZodType };

/**
 * Checks of each kind's result when it comes back from Redis to the process that enqueued it, given
 * the data it sent: a result names files the bot then reads and posts, so it must name the files
 * this job was asked to write, nothing else.
 * @throws Error when the result is not one this job could have produced.
 */
export type JobResultChecks<M extends JobTypeMap> = { readonly [K in keyof M]?: (result: unknown, data: M[K]['data']) => M[K]['result'] };

export interface BullQueueOptions<M extends JobTypeMap> {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Namespace of every key (QUEUE_PREFIX). */
  prefix: string;
  processors: { readonly [K in keyof M]: ProcessorRef };
  lanes: LaneMap<M>;
  limits: QueueLimits;
  logger?: QueueLogger;
  /** Tries per kind for failures that are not MotifErrors (default 1: no retry). */
  attempts?: Partial<Record<keyof M, number>>;
  schemas?: JobDataSchemas<M>;
  resultChecks?: JobResultChecks<M>;
  /**
   * Lanes whose jobs this process runs (BullMQ Workers here, processors in the lane's worker pool);
   * empty = a producer only (a bot whose jobs `npm run worker` processes run).
   */
  workerLanes: readonly Lane[];
  /** How the processors are isolated (default 'process': a crash or kill -9 takes one child, never this process). */
  isolation?: WorkerIsolation;
  /**
   * How long a job's lock lives without renewal before another worker may take the job over (BullMQ
   * lockDuration and stalledInterval), ms. Default 30 s; tests of a killed worker use less.
   */
  stalledMs?: number;
  /** Worker pools per lane (tests pass their own). */
  pools?: Partial<Record<Lane, WorkerPool>>;
  /**
   * Start taking jobs at once (default true). A worker process passes false and calls
   * `startWorkers()` once the model is loaded, so its first job does not wait for the loading.
   */
  autorun?: boolean;
  fairness?: Omit<FairnessOptions, 'now'>;
  /** Told when jobs are enqueued here and when they start and end in this process's workers (metrics). */
  observer?: QueueObserver;
}

/** The longest /compose waits on Redis before being told the queue is unavailable: inside Discord's 3 s. */
export const ENQUEUE_DEADLINE_MS = 2_000;
/** At most one warning per source this often while Redis is away. */
const WARN_EVERY_MS = 30_000;
/** Longest a stop waits for this process's aborted jobs to hand themselves back: the pool's abort grace (3 s) plus its terminate wait (5 s), with room. */
const HAND_BACK_WAIT_MS = 10_000;
/** How long each step of close() may take before its connection is dropped. */
const CLOSE_STEP_MS = 3_000;
/** BullMQ's largest priority (2^21 − 1). */
const MAX_PRIORITY = 2_097_151;
/** Past this, a lane with nothing in it restarts its base time, so priorities stay far from the maximum. */
const REBASE_AT = 1_000_000;
/** A failure reason that carries a MotifError across Redis. */
const MOTIF_REASON_PREFIX = 'motif-error:';

const laneSchema = z.enum(['interactive', 'batch']);
const metaSchema = z.object({
  kind: z.string().min(1).max(64),
  lane: laneSchema,
  label: z.string().max(200),
  guildId: z.string().min(1).max(32),
  userId: z.string().min(1).max(32),
  channelId: z.string().max(32).optional(),
  cost: z.number().positive(),
  enqueuedAt: z.number().int().nonnegative(),
  priority: z.number().int().min(1).max(MAX_PRIORITY),
});
type JobMeta = z.infer<typeof metaSchema>;
const envelopeSchema = z.object({ meta: metaSchema, data: z.unknown() });
const progressSchema = z.union([z.object({ k: z.literal('s') }), z.object({ k: z.literal('p'), v: z.unknown() })]);
const motifReasonSchema = z.object({ code: z.string().min(1).max(64), userMessage: z.string().max(4000) });

/**
 * Limits: refuses with the limit it hit, or takes a slot in all three sets and stores the metadata.
 * 'taken' when the random id is in use (BullMQ would answer an existing id with that old job).
 */
const ACQUIRE_LUA = `
if redis.call('EXISTS', KEYS[5]) == 1 or redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 'taken' end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 'total' end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 'guild' end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 'user' end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
return 'ok'`;

/** Gives a job's slot back (idempotent); returns 1 when this call released it. */
const RELEASE_LUA = `
local was = redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return was`;

interface LocalJob {
  meta: JobMeta;
  id: string;
  /** What was enqueued, to check the result against. */
  data: unknown;
  progress: Set<(p: unknown) => void>;
  positionListeners: Set<(p: number) => void>;
  position: number;
  settled: boolean;
  settle: { resolve: (value: unknown) => void; reject: (error: unknown) => void };
  result: Promise<unknown>;
}

export class BullQueue<M extends JobTypeMap> extends EventEmitter implements JobQueue<M> {
  private readonly opts: BullQueueOptions<M>;
  private readonly logger: QueueLogger;
  /** Fails fast (no offline queue, one retry): the bot's enqueue must never hang on a dead Redis. */
  private readonly producer: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, QueueEvents>();
  private readonly workers: Worker[] = [];
  private subscriber?: Redis;
  /** Connections this class made for BullMQ objects, ended last on close. */
  private readonly connections: Redis[] = [];
  private readonly pools: Record<Lane, WorkerPool>;
  private readonly gates: Record<Lane, LaneGate>;
  private readonly local = new Map<string, LocalJob>();
  /** Jobs running in this process's workers (settle-only promises), for the shutdown grace period. */
  private readonly running = new Set<Promise<unknown>>();
  /** Jobs running in this process's workers, by id. */
  private readonly controllers = new Map<string, { controller: AbortController; reason?: 'cancel' | 'restart' | 'handover' }>();
  private readonly aging: number;
  private readonly usage: RedisUsageLedger;
  private closed = false;
  private draining = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly lastWarned = new Map<string, number>();

  constructor(opts: BullQueueOptions<M>) {
    super();
    this.opts = opts;
    this.logger = opts.logger ?? { info: () => undefined, warn: () => undefined };
    this.aging = opts.fairness?.agingPerSecond ?? DEFAULT_AGING_PER_SECOND;
    this.producer = new Redis(opts.url, {
      enableOfflineQueue: false,
      connectTimeout: 1_500,
      maxRetriesPerRequest: 1,
      // Keep reconnecting while Redis is away, so service resumes by itself when it is back.
      retryStrategy: (times) => Math.min(times * 250, 2_000),
    });
    this.usage = new RedisUsageLedger(this.producer, (lane) => this.key('lane', lane, 'usage'), opts.fairness?.usageHalfLifeMs ?? DEFAULT_USAGE_HALF_LIFE_MS);
    this.producer.on('error', (error: unknown) => this.warnOnce('producer', 'queue: Redis connection error (retrying)', error));
    const connection = workerConnection(opts.url);
    for (const kind of Object.keys(opts.processors)) {
      // Our own connection, so close() can always end it, even one that never reached Redis.
      const eventsConnection = new Redis(opts.url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 500, 5_000) });
      eventsConnection.on('error', (error: unknown) => this.warnOnce('events-connection', 'queue: Redis connection error (retrying)', error));
      this.connections.push(eventsConnection);
      const events = new QueueEvents(kind, { connection: eventsConnection, prefix: opts.prefix });
      events.on('error', (error: unknown) => this.warnOnce(`events:${kind}`, 'queue events error', error));
      this.listen(events);
      this.events.set(kind, events);
    }
    const isolation = opts.isolation ?? 'process';
    this.pools = {
      interactive: opts.pools?.interactive ?? new WorkerPool({ isolation }),
      batch: opts.pools?.batch ?? new WorkerPool({ isolation }),
    };
    this.gates = { interactive: new LaneGate(opts.limits.concurrency.interactive), batch: new LaneGate(opts.limits.concurrency.batch) };
    const stalledMs = opts.stalledMs ?? 30_000;
    if (opts.workerLanes.length > 0) {
      for (const kind of Object.keys(opts.processors) as (keyof M & string)[]) {
        if (!opts.workerLanes.includes(opts.lanes[kind])) continue;
        const worker = new Worker(kind, (job: BullJob, token?: string) => this.process(kind, job, token), {
          connection,
          prefix: opts.prefix,
          concurrency: opts.limits.concurrency[opts.lanes[kind]],
          // A killed worker's job is taken over once its lock has lapsed; a second stall fails it.
          lockDuration: stalledMs,
          stalledInterval: stalledMs,
          maxStalledCount: 1,
          autorun: opts.autorun ?? true,
        });
        worker.on('error', (error: unknown) => this.warnOnce(`worker:${kind}`, 'queue worker error', error));
        this.workers.push(worker);
      }
      this.subscriber = new Redis(opts.url, { maxRetriesPerRequest: null });
      this.subscriber.on('error', (error: unknown) => this.warnOnce('subscriber', 'queue: Redis connection error (retrying)', error));
      this.subscriber.on('message', (_channel: string, jobId: string) => this.abortLocal(jobId, 'cancel'));
    }
  }

  /**
   * Waits until Redis answers and every listener is in place.
   * @throws MotifError QUEUE_UNAVAILABLE when Redis cannot be reached within a few seconds.
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    const work = (async () => {
      if (this.producer.status !== 'ready') await new Promise<void>((resolve) => this.producer.once('ready', () => resolve()));
      // Made once the producer is connected: BullMQ asks Redis for its version as a Queue starts,
      // and with no offline queue that question would fail (for good) on a connection still opening.
      for (const kind of Object.keys(this.opts.processors)) {
        if (this.queues.has(kind)) continue;
        const queue = new Queue(kind, { connection: this.producer, prefix: this.opts.prefix });
        queue.on('error', (error: unknown) => this.warnOnce(`queue:${kind}`, 'queue error', error));
        this.queues.set(kind, queue);
      }
      await Promise.all([...this.queues.values()].map((queue) => queue.waitUntilReady()));
      await Promise.all([...this.events.values()].map((events) => events.waitUntilReady()));
      await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
      if (this.subscriber) await this.subscriber.subscribe(this.key('cancel'));
    })();
    await withDeadline(work, timeoutMs).catch((cause: unknown) => {
      throw new MotifError('QUEUE_UNAVAILABLE', `The job queue's Redis (QUEUE_URL) cannot be reached; start Redis or unset QUEUE_URL.`, {
        cause,
        detail: cause instanceof Error ? cause.message : String(cause),
      });
    });
  }

  async enqueue<K extends keyof M & string>(kind: K, data: M[K]['data'], opts: EnqueueOptions): Promise<JobHandle<M[K]['result'], M[K]['progress']>> {
    if (this.closed || this.draining) throw restartingError();
    const lane = this.opts.lanes[kind];
    const attempt: { id?: string } = {};
    let job: LocalJob;
    try {
      job = await withDeadline(this.add(kind, lane, data, opts, attempt), ENQUEUE_DEADLINE_MS);
    } catch (error) {
      if (attempt.id !== undefined) this.local.delete(attempt.id);
      if (isMotifError(error)) throw error;
      // Timed out or refused by Redis: whatever half-happened is undone in the background.
      if (attempt.id !== undefined) void this.undoAdd(kind, attempt.id).catch(() => undefined);
      throw unavailableError(error);
    }
    return this.handleOf(job);
  }

  async attach<K extends keyof M & string>(kind: K, jobId: string): Promise<JobHandle<M[K]['result'], M[K]['progress']> | undefined> {
    const known = this.local.get(jobId);
    if (known) return known.meta.kind === kind ? this.handleOf(known) : undefined;
    try {
      return await withDeadline(this.reattach(kind, jobId), ENQUEUE_DEADLINE_MS * 2);
    } catch (error) {
      throw unavailableError(error);
    }
  }

  private async reattach(kind: string, jobId: string): Promise<JobHandle<never, never> | undefined> {
    const job = await this.queueOf(kind).getJob(jobId);
    if (!job) return undefined;
    const envelope = envelopeSchema.safeParse(job.data);
    if (!envelope.success || envelope.data.meta.kind !== kind) return undefined;
    // Registered before the state is read: an end between the two arrives as an event, one before as the state.
    const local = this.register(jobId, envelope.data.meta, envelope.data.data);
    const state = await job.getState();
    if (state === 'completed') this.settle(jobId, this.checkResult(jobId, job.returnvalue));
    else if (state === 'failed') this.settle(jobId, { error: decodeFailure(jobId, job.failedReason) });
    else if (state === 'unknown') this.settle(jobId, { error: cutOffError() });
    else {
      const position = (await this.snapshot().catch(() => [] as JobInfo[])).find((j) => j.id === jobId)?.position;
      if (position !== undefined) local.position = position;
      this.scheduleRefresh();
    }
    return this.handleOf(local);
  }

  private handleOf<R, P>(job: LocalJob): JobHandle<R, P> {
    const { id } = job;
    return {
      id,
      lane: job.meta.lane,
      position: () => (job.settled ? -1 : job.position),
      onProgress: (listener) => subscribe(job.progress, listener as (p: unknown) => void),
      onPosition: (listener) => subscribe(job.positionListeners, listener),
      result: job.result as Promise<R>,
      cancel: async () => {
        if (job.settled) return false;
        await this.cancelJob(id, job.meta, cancelledError(id));
        return true;
      },
    };
  }

  /** @param attempt receives the job id as soon as one is chosen, so a caller that gives up can undo. */
  private async add(kind: string, lane: Lane, data: unknown, opts: EnqueueOptions, attempt: { id?: string }): Promise<LocalJob> {
    const cost = jobCost(opts.cost);
    const now = Date.now();
    const priority = await this.priorityFor(lane, opts, cost, now);
    const meta: JobMeta = {
      kind,
      lane,
      label: opts.label.slice(0, 200),
      guildId: opts.guildId,
      userId: opts.userId,
      ...(opts.channelId ? { channelId: opts.channelId } : {}),
      cost,
      enqueuedAt: now,
      priority,
    };
    const perUser = opts.maxPerUser ?? this.opts.limits.maxPerUser;
    let id = newJobId();
    let hit = await this.acquire(id, meta, perUser);
    for (let tries = 1; hit === 'taken' && tries < 5; tries++) hit = await this.acquire((id = newJobId()), meta, perUser);
    // A limit may be held by jobs whose process died: release those and look once more.
    if (hit !== 'ok' && hit !== 'taken' && (await this.reconcile()) > 0) hit = await this.acquire(id, meta, perUser);
    if (hit === 'taken') throw new Error('no free job id');
    attempt.id = id;
    if (hit !== 'ok') throw queueFullError(hit, hit === 'total' ? this.opts.limits.maxPending : hit === 'guild' ? this.opts.limits.maxPerGuild : perUser);
    // Registered before the job exists, so none of its events can be missed.
    const local = this.register(id, meta, data);
    await this.queueOf(kind).add(kind, { meta, data }, {
      jobId: id,
      priority,
      attempts: Math.max(1, this.opts.attempts?.[kind] ?? 1),
      // Kept for a day (and at most 1,000 per kind), so a bot restarted meanwhile still delivers them.
      removeOnComplete: { age: 24 * 3600, count: 1_000 },
      removeOnFail: { age: 24 * 3600, count: 1_000 },
    });
    observe(this.opts.observer, (o) => o.jobEnqueued(kind, lane));
    // The job is in: a position that cannot be read now arrives with the next refresh.
    const position = (await this.snapshot().catch(() => [] as JobInfo[])).find((j) => j.id === id)?.position;
    if (position !== undefined) local.position = position;
    this.scheduleRefresh();
    return local;
  }

  private async undoAdd(kind: string, id: string): Promise<void> {
    await this.queueOf(kind).remove(id).catch(() => undefined);
    const meta = await this.meta(id);
    if (meta) await this.release(id, meta);
  }

  private register(id: string, meta: JobMeta, data: unknown): LocalJob {
    let settle!: LocalJob['settle'];
    const result = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    // Callers may never await a job they do not care about; that must not be an unhandled rejection.
    result.catch(() => undefined);
    const local: LocalJob = { meta, id, data, progress: new Set(), positionListeners: new Set(), position: 1, settled: false, settle, result };
    this.local.set(id, local);
    return local;
  }

  async list(filter: { guildId?: string } = {}): Promise<JobInfo[]> {
    const jobs = await this.snapshot().catch((error: unknown) => {
      throw unavailableError(error);
    });
    return filter.guildId === undefined ? jobs : jobs.filter((j) => j.guildId === filter.guildId);
  }

  async stats(): Promise<QueueStats> {
    const perKind = await Promise.all(
      Object.keys(this.opts.processors).map(async (kind) => ({ lane: this.opts.lanes[kind as keyof M], workers: await this.queueOf(kind).getWorkersCount() })),
    ).catch((error: unknown) => {
      throw unavailableError(error);
    });
    // Max, not sum: each process runs one BullMQ Worker per kind, so a sum would count it once per kind.
    const workersAlive: Record<Lane, number> = { interactive: 0, batch: 0 };
    for (const { lane, workers } of perKind) workersAlive[lane] = Math.max(workersAlive[lane], workers);
    return { workersAlive };
  }

  async position(jobId: string): Promise<number> {
    const jobs = await this.snapshot().catch((error: unknown) => {
      throw unavailableError(error);
    });
    return jobs.find((j) => j.id === jobId)?.position ?? -1;
  }

  async cancel(jobId: string, by: { guildId: string; userId: string; isAdmin?: boolean }): Promise<void> {
    const meta = await this.meta(jobId).catch((error: unknown) => {
      throw unavailableError(error);
    });
    if (!meta || meta.guildId !== by.guildId) throw jobNotFoundError(jobId);
    if (meta.userId !== by.userId && !by.isAdmin) throw notYourJobError();
    await this.cancelJob(jobId, meta, cancelledError(jobId));
  }

  /** Starts the workers of a queue made with `autorun: false` (idempotent). */
  startWorkers(): void {
    for (const worker of this.workers) {
      if (!worker.isRunning()) void worker.run().catch((error: unknown) => this.warnOnce('worker-run', 'queue worker stopped', error));
    }
  }

  async warmUp(ref: Extract<ProcessorRef, { kind: 'worker' }>, data: unknown): Promise<void> {
    if (!this.opts.workerLanes.includes('interactive')) return;
    await this.pools.interactive.prewarm(this.opts.limits.concurrency.interactive, ref.moduleUrl, ref.exportName, data);
  }

  async shutdown(graceMs: number): Promise<ShutdownReport> {
    this.draining = true;
    // Workers take nothing new; what runs here may finish within the grace period.
    await Promise.all(this.workers.map((worker) => worker.pause(true).catch(() => undefined)));
    const pending = [...this.local.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...pending.map((j) => j.result), ...this.running]),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    // Not cancelled: the jobs live in Redis, a worker finishes them and the restarted bot delivers them.
    let handedOver = 0;
    for (const job of pending) {
      if (job.settled) continue;
      handedOver++;
      this.settle(job.id, { error: handedOverError() });
    }
    // Jobs still running in this process's workers go back to the queue (closeAll aborts them as 'handover').
    await this.closeAll();
    return { finished: pending.length - handedOver, cutOff: 0, handedOver };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const job of [...this.local.values()]) {
      if (!job.settled) await this.cancelJob(job.id, job.meta, cancelledError(job.id)).catch(() => this.settle(job.id, { error: cancelledError(job.id) }));
    }
    await this.closeAll();
  }

  private async closeAll(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    for (const id of this.controllers.keys()) this.abortLocal(id, 'handover');
    // Each step is bounded: BullMQ waits for a connection that never opened (Redis away) forever.
    const bounded = (step: Promise<unknown>): Promise<unknown> => withDeadline(step, CLOSE_STEP_MS).catch(() => undefined);
    if (this.producer.status === 'ready') {
      // Jobs running here were just aborted: each stops within its abort grace (or its child is
      // terminated) and hands itself back through Redis; wait for that before any connection closes.
      await withDeadline(Promise.allSettled([...this.running]), HAND_BACK_WAIT_MS).catch(() => undefined);
      // Workers first, then what listens and what adds.
      await Promise.all(this.workers.map((worker) => bounded(worker.close())));
      await Promise.all(LANES.map((lane) => this.pools[lane].close()));
      await Promise.all([...this.events.values()].map((events) => bounded(events.close())));
      await Promise.all([...this.queues.values()].map((queue) => bounded(queue.close())));
    } else {
      // Redis away: nothing to close politely, so everything at once, without waiting on jobs.
      for (const connection of this.connections) connection.disconnect();
      await Promise.all([
        ...this.workers.map((worker) => bounded(worker.close(true))),
        ...LANES.map((lane) => this.pools[lane].close()),
        ...[...this.events.values()].map((events) => bounded(events.close())),
        ...[...this.queues.values()].map((queue) => bounded(queue.close())),
      ]);
    }
    for (const connection of this.connections) connection.disconnect();
    this.subscriber?.disconnect();
    this.producer.disconnect();
    for (const job of this.local.values()) if (!job.settled) this.settle(job.id, { error: cutOffError() });
  }

  /**
   * While Redis is away every connection reports each reconnect attempt; one line per source per
   * {@link WARN_EVERY_MS} says the same to the operator without flooding the log.
   */
  private warnOnce(source: string, message: string, error: unknown): void {
    const now = Date.now();
    if (now - (this.lastWarned.get(source) ?? 0) < WARN_EVERY_MS) return;
    this.lastWarned.set(source, now);
    this.logger.warn(message, { source, error: error instanceof Error ? error.message : String(error) });
  }

  // ---- bookkeeping in Redis ----

  private key(...parts: string[]): string {
    return [this.opts.prefix, '_q', ...parts].join(':');
  }

  private limitKeys(meta: Pick<JobMeta, 'guildId' | 'userId'>): string[] {
    return [this.key('active'), this.key('active', 'g', meta.guildId), this.key('active', 'u', meta.guildId, meta.userId), this.key('jobs')];
  }

  private async acquire(id: string, meta: JobMeta, perUser: number): Promise<'ok' | 'taken' | LimitHit> {
    const { maxPending, maxPerGuild } = this.opts.limits;
    const bullJobKey = `${this.opts.prefix}:${meta.kind}:${id}`;
    const answer = await this.producer.eval(ACQUIRE_LUA, 5, ...this.limitKeys(meta), bullJobKey, id, maxPending, maxPerGuild, perUser, JSON.stringify(meta));
    return answer === 'ok' || answer === 'taken' || answer === 'total' || answer === 'guild' || answer === 'user' ? answer : 'total';
  }

  private async release(id: string, meta: Pick<JobMeta, 'guildId' | 'userId'>): Promise<void> {
    await this.producer.eval(RELEASE_LUA, 5, ...this.limitKeys(meta), this.key('running'), id);
  }

  private async meta(id: string): Promise<JobMeta | undefined> {
    const raw = await this.producer.hget(this.key('jobs'), id);
    return raw === null ? undefined : this.parseMeta(id, raw);
  }

  private parseMeta(id: string, raw: string): JobMeta | undefined {
    const parsed = metaSchema.safeParse(safeJson(raw));
    if (parsed.success) return parsed.data;
    this.logger.warn('queue: malformed job metadata in Redis ignored', { jobId: id });
    return undefined;
  }

  /**
   * Releases the limit slots of jobs BullMQ no longer has waiting or running (their process died
   * before releasing them, or someone removed them by hand).
   * @returns how many slots were freed.
   */
  private async reconcile(): Promise<number> {
    const ids = await this.producer.smembers(this.key('active'));
    let freed = 0;
    for (const id of ids) {
      const raw = await this.producer.hget(this.key('jobs'), id);
      const meta = raw === null ? undefined : this.parseMeta(id, raw);
      const state = meta ? await this.queueOf(meta.kind).getJobState(id).catch(() => 'unknown') : 'unknown';
      if (['waiting', 'prioritized', 'active', 'delayed', 'waiting-children'].includes(state)) continue;
      // Just added by another process and not yet in BullMQ: leave it.
      if (meta && Date.now() - meta.enqueuedAt < 30_000) continue;
      await this.release(id, meta ?? { guildId: '?', userId: '?' });
      if (!meta) await this.producer.srem(this.key('active'), id);
      freed++;
    }
    return freed;
  }

  /** Every waiting and running job with its lane position: running first, then by priority. */
  private async snapshot(): Promise<JobInfo[]> {
    const ids = await this.producer.smembers(this.key('active'));
    if (ids.length === 0) return [];
    const [raws, running] = await Promise.all([this.producer.hmget(this.key('jobs'), ...ids), this.producer.smembers(this.key('running'))]);
    const runningSet = new Set(running);
    const jobs: { id: string; meta: JobMeta }[] = [];
    ids.forEach((id, i) => {
      const raw = raws[i];
      const meta = raw ? this.parseMeta(id, raw) : undefined;
      if (meta) jobs.push({ id, meta });
    });
    const infos: JobInfo[] = [];
    for (const lane of LANES) {
      const inLane = jobs.filter((j) => j.meta.lane === lane);
      const started = inLane.filter((j) => runningSet.has(j.id)).sort(byArrival);
      const waiting = inLane.filter((j) => !runningSet.has(j.id)).sort((a, b) => a.meta.priority - b.meta.priority || byArrival(a, b));
      started.forEach((j) => infos.push(info(j.id, j.meta, 'running', 0)));
      waiting.forEach((j, index) => infos.push(info(j.id, j.meta, 'waiting', index + 1)));
    }
    return infos;
  }

  /** See the file comment: the lane's fair order as a fixed BullMQ priority. */
  private async priorityFor(lane: Lane, owner: Pick<EnqueueOptions, 'guildId' | 'userId'>, cost: number, now: number): Promise<number> {
    const baseKey = this.key('lane', lane, 'base');
    await this.producer.set(baseKey, String(now), 'NX');
    // The member's load and their server's (fairness.ts): a server's burst from many members does not
    // hold another server's single request behind all of it.
    const [baseRaw, recent, ownJobs, guildJobs] = await Promise.all([
      this.producer.get(baseKey),
      this.usage.recent(lane, owner, now),
      this.producer.smembers(this.key('active', 'u', owner.guildId, owner.userId)),
      this.producer.smembers(this.key('active', 'g', owner.guildId)),
    ]);
    let load = recent.user + recent.guild;
    const own = new Set(ownJobs);
    if (guildJobs.length > 0) {
      const metas = await this.producer.hmget(this.key('jobs'), ...guildJobs);
      metas.forEach((raw, i) => {
        const meta = raw ? this.parseMeta(guildJobs[i]!, raw) : undefined;
        if (meta?.lane !== lane) return;
        // Counted for the server, and once more for the member whose job it is.
        load += meta.cost * (own.has(guildJobs[i]!) ? 2 : 1);
      });
    }
    const score = (base: number): number => 1 + Math.round(10 * (((now - base) / 1000) * this.aging + load + cost));
    let priority = score(Number(baseRaw ?? now));
    if (priority > REBASE_AT && !(await this.snapshot()).some((j) => j.lane === lane)) {
      await this.producer.set(baseKey, String(now));
      priority = score(now);
    }
    return Math.min(Math.max(priority, 1), MAX_PRIORITY);
  }

  // ---- cancellation ----

  private async cancelJob(id: string, meta: JobMeta, error: MotifError, reason: 'cancel' | 'restart' | 'handover' = 'cancel'): Promise<void> {
    // The handle settles at once, as in-process: the person asked, whatever the worker does next.
    this.settle(id, { error });
    await this.producer.set(this.key('cancelled', id), reason, 'EX', 3_600);
    const removed = await this.queueOf(meta.kind)
      .remove(id)
      .then((count) => count > 0)
      .catch(() => false);
    if (removed) await this.release(id, meta);
    // A job already taken by a worker (running, or held at its lane's gate) is aborted wherever it is.
    else await this.producer.publish(this.key('cancel'), id);
    this.abortLocal(id, reason);
    this.scheduleRefresh();
  }

  private abortLocal(id: string, reason: 'cancel' | 'restart' | 'handover'): void {
    const entry = this.controllers.get(id);
    if (!entry || entry.controller.signal.aborted) return;
    entry.reason = reason;
    entry.controller.abort(new JobAborted(reason === 'cancel' ? 'cancel' : 'stop'));
  }

  // ---- the worker side ----

  private process(kind: keyof M & string, job: BullJob, token: string | undefined): Promise<unknown> {
    const running = this.processJob(kind, job, token);
    const settled = running.catch(() => undefined);
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
    return running;
  }

  private async processJob(kind: keyof M & string, job: BullJob, token: string | undefined): Promise<unknown> {
    const id = job.id ?? '';
    const envelope = envelopeSchema.safeParse(job.data);
    if (!envelope.success) throw new UnrecoverableError(`malformed job in Redis: ${envelope.error.issues[0]?.message ?? ''}`);
    const { meta } = envelope.data;
    const schema = this.opts.schemas?.[kind];
    const checked = schema ? schema.safeParse(envelope.data.data) : { success: true as const, data: envelope.data.data };
    if (!checked.success) {
      await this.release(id, meta).catch(() => undefined);
      throw new UnrecoverableError(`malformed ${kind} job data in Redis: ${checked.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    }
    const lane = meta.lane;
    const entry: { controller: AbortController; reason?: 'cancel' | 'restart' | 'handover' } = { controller: new AbortController() };
    this.controllers.set(id, entry);
    const { signal } = entry.controller;
    let acquired = false;
    let final = true;
    let startedAt = 0;
    try {
      const cancelled = await this.producer.get(this.key('cancelled', id));
      if (cancelled) this.abortLocal(id, cancelled === 'restart' ? 'restart' : 'cancel');
      await this.gates[lane].acquire(meta.priority, signal);
      acquired = true;
      startedAt = Date.now();
      // Which process runs which job, for operators (and the tests that kill a worker mid-job).
      this.logger.info('job started', { jobId: id, kind, lane, attempt: job.attemptsMade + 1, pid: process.pid });
      await this.producer.sadd(this.key('running'), id);
      await job.updateProgress({ k: 's' });
      observe(this.opts.observer, (o) => o.jobStarted(kind, lane, startedAt - meta.enqueuedAt));
      const reportProgress = (p: unknown): void => void job.updateProgress({ k: 'p', v: p } as object).catch(() => undefined);
      const log = (message: string): void => this.logger.info(message, { jobId: id });
      const ref = this.opts.processors[kind];
      const result =
        ref.kind === 'inline'
          ? await ref.run(checked.data, { signal, reportProgress, log })
          : await this.pools[lane].run(id, ref.moduleUrl, ref.exportName, checked.data, { signal, onProgress: reportProgress, onLog: log });
      if (signal.aborted) throw new Error('cancelled');
      reportFinished(this.opts.observer, kind, lane, Date.now() - startedAt, { result }, false);
      return result;
    } catch (error) {
      if (signal.aborted && entry.reason === 'handover') {
        // This worker is stopping: the job goes back to the queue at once, without using an attempt.
        final = false;
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (signal.aborted) throw new UnrecoverableError(encodeMotifError(entry.reason === 'restart' ? cutOffError() : cancelledError(id)));
      if (acquired) reportFinished(this.opts.observer, kind, lane, Date.now() - startedAt, { error }, false);
      if (isMotifError(error)) throw new UnrecoverableError(encodeMotifError(error));
      final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.logger.warn(`job ${id} (${kind}) failed${final ? '' : '; it will be tried again'}`, { error });
      // EventEmitter throws on an unheard 'error'; a failed job must never take the process down.
      if (final && this.listenerCount('error') > 0) this.emit('error', error, info(id, meta, 'running', 0));
      throw error instanceof Error ? error : new Error(String(error));
    } finally {
      // Cancelled, cut off or handed back: reported here, once, whichever path threw.
      if (acquired && signal.aborted) reportFinished(this.opts.observer, kind, lane, Date.now() - startedAt, { error: undefined }, true);
      this.controllers.delete(id);
      if (acquired) this.gates[lane].release();
      if (acquired) await this.usage.add(meta.lane, meta, (Date.now() - startedAt) / 1000).catch(() => undefined);
      // Leaving `running` and the limits in one step: a list in between would show the job waiting.
      if (final) await this.release(id, meta).catch((error: unknown) => this.logger.warn('queue: could not release a job slot', { jobId: id, error: String(error) }));
      else await this.producer.srem(this.key('running'), id).catch(() => undefined);
    }
  }

  // ---- events back to handles ----

  private listen(events: QueueEvents): void {
    events.on('progress', ({ jobId, data }) => {
      const parsed = progressSchema.safeParse(data);
      if (!parsed.success) return;
      if (parsed.data.k === 's') {
        // Started: 0 at once, before a fast job's result can overtake the next refresh.
        const job = this.local.get(jobId);
        if (job) this.setPosition(job, 0);
        this.scheduleRefresh();
      } else {
        const progress = parsed.data.v;
        this.local.get(jobId)?.progress.forEach((listener) => safeCall(listener, progress));
      }
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      this.settle(jobId, this.checkResult(jobId, returnvalue));
      this.scheduleRefresh();
    });
    events.on('failed', ({ jobId, failedReason }) => {
      this.settle(jobId, { error: decodeFailure(jobId, failedReason) });
      this.scheduleRefresh();
    });
    events.on('removed', ({ jobId }) => {
      this.settle(jobId, { error: cancelledError(jobId) });
      this.scheduleRefresh();
    });
    for (const name of ['added', 'waiting', 'active'] as const) events.on(name, () => this.scheduleRefresh());
  }

  private checkResult(id: string, result: unknown): { result: unknown } | { error: unknown } {
    const job = this.local.get(id);
    const check = job ? this.opts.resultChecks?.[job.meta.kind as keyof M] : undefined;
    if (!job || !check) return { result };
    try {
      return { result: check(result, job.data as M[keyof M]['data']) };
    } catch (error) {
      this.logger.warn(`job ${id} (${job.meta.kind}) came back from Redis with a result it could not have produced`, { error: String(error) });
      if (this.listenerCount('error') > 0) this.emit('error', error, info(id, job.meta, 'running', 0));
      return { error: jobFailedError(id, error) };
    }
  }

  private settle(id: string, outcome: { result: unknown } | { error: unknown }): void {
    const job = this.local.get(id);
    if (!job || job.settled) return;
    job.settled = true;
    job.position = -1;
    this.local.delete(id);
    if ('result' in outcome) job.settle.resolve(outcome.result);
    else job.settle.reject(outcome.error);
  }

  /** Positions of this process's handles, recomputed once per burst of events. */
  private scheduleRefresh(): void {
    if (this.refreshTimer || this.closed || this.local.size === 0) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.snapshot()
        .then((jobs) => {
          const byId = new Map(jobs.map((j) => [j.id, j.position]));
          for (const job of this.local.values()) {
            const position = byId.get(job.id);
            // A started job stays at 0: a snapshot read before its start event must not move it back.
            if (position !== undefined && job.position !== 0) this.setPosition(job, position);
          }
        })
        .catch(() => undefined);
    }, 20);
  }

  private setPosition(job: LocalJob, position: number): void {
    if (job.settled || job.position === position) return;
    job.position = position;
    job.positionListeners.forEach((listener) => safeCall(listener, position));
  }

  private queueOf(kind: string): Queue {
    const queue = this.queues.get(kind);
    // Before ready() succeeded there are no queues: the same answer as Redis being away.
    if (!queue) throw new Error(`the queue for job kind ${kind} is not connected`);
    return queue;
  }
}

function info(id: string, meta: JobMeta, state: JobInfo['state'], position: number): JobInfo {
  return { id, kind: meta.kind, lane: meta.lane, label: meta.label, guildId: meta.guildId, userId: meta.userId, state, position, enqueuedAt: meta.enqueuedAt };
}

function byArrival(a: { id: string; meta: JobMeta }, b: { id: string; meta: JobMeta }): number {
  return a.meta.enqueuedAt - b.meta.enqueuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Short, typeable in /queue cancel, and never all digits (BullMQ refuses integer-like custom ids). */
function newJobId(): string {
  for (;;) {
    const id = randomBytes(5).toString('hex');
    if (!/^\d+$/.test(id)) return id;
  }
}

/** Blocking connections (workers, events, pub/sub) wait for Redis as long as it takes. */
function workerConnection(url: string): RedisOptions {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    // Back within seconds of Redis returning (BullMQ's default backs off to 20 s).
    retryStrategy: (times: number) => Math.min(times * 500, 5_000),
  };
}

function encodeMotifError(error: MotifError): string {
  return MOTIF_REASON_PREFIX + JSON.stringify({ code: error.code, userMessage: error.userMessage });
}

/** A failure as the handle's owner sees it: the processor's MotifError, or JOB_FAILED. */
function decodeFailure(jobId: string, reason: string): MotifError {
  if (reason.startsWith(MOTIF_REASON_PREFIX)) {
    const parsed = motifReasonSchema.safeParse(safeJson(reason.slice(MOTIF_REASON_PREFIX.length)));
    if (parsed.success) return new MotifError(parsed.data.code as ErrorCode, parsed.data.userMessage);
  }
  return jobFailedError(jobId, new Error(reason));
}

function unavailableError(cause: unknown): MotifError {
  return new MotifError('QUEUE_UNAVAILABLE', 'Motif is busy right now (its job queue cannot be reached). Try again in a minute.', {
    cause,
    detail: cause instanceof Error ? cause.message : String(cause),
  });
}


/** `promise`, or a rejection after `ms` (the promise itself runs on; callers undo what it did). */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
