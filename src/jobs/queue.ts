/**
 * The job queue behind every long-running request. Producers (commands) enqueue and get a
 * handle; processors are plain functions (see processor.ts) run inline or in worker threads.
 *
 * `JobQueue` is the interface commands see; `InProcessQueue` is the in-process implementation (a
 * weighted fair queue with a concurrency limit). A Redis-backed queue (BullMQ) can implement the
 * same interface.
 *
 * Order: not plain FIFO, because one person's heavy seeds (a minute of worker time each) would
 * then hold the worker while everyone else waits. Each waiting job scores
 *   (its owner's recent worker time + the expected cost of the owner's running jobs)
 *   + its own expected cost − (seconds waited × {@link DEFAULT_AGING_PER_SECOND})
 * and the lowest score starts next. So a light job overtakes heavy ones, a user who just used the
 * worker for minutes goes behind those who did not, and waiting always wins eventually (no job
 * starves). Recent worker time halves every {@link DEFAULT_USAGE_HALF_LIFE_MS}. Equal costs and
 * owners keep FIFO order.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { MotifError, isMotifError } from '../errors.js';
import type { ProcessorRef } from './processor.js';
import { WorkerCrashError, WorkerPool } from './worker-host.js';

/** Maps each job kind to its data, result and progress types. */
export type JobTypeMap = Record<string, { data: unknown; result: unknown; progress: unknown }>;

export interface JobOwner {
  guildId: string;
  userId: string;
  /** Where to report when the interaction token has expired. */
  channelId?: string;
}

export interface EnqueueOptions extends JobOwner {
  /** Shown in /queue, e.g. "compose length 100". */
  label: string;
  /** Expected worker time, seconds (default 1): heavier jobs let lighter ones go first. */
  cost?: number;
  /** Overrides the queue's per-user limit for this guild (guild setting). */
  maxPerUser?: number;
}

export interface JobInfo {
  id: string;
  kind: string;
  label: string;
  guildId: string;
  userId: string;
  state: 'waiting' | 'running';
  /** 0 while running; 1 = next in line. */
  position: number;
  /** Epoch milliseconds. */
  enqueuedAt: number;
}

export interface JobHandle<R, P> {
  readonly id: string;
  /** 0 while running, 1 = next to start, …; -1 once finished. */
  position(): number;
  /** Subscribes to progress; returns an unsubscribe function. */
  onProgress(listener: (progress: P) => void): () => void;
  /** Called whenever the position changes (0 = started). */
  onPosition(listener: (position: number) => void): () => void;
  /**
   * Settles when the job ends.
   * @throws MotifError from the processor, JOB_CANCELLED, or JOB_FAILED (processor bug or crashed worker).
   */
  readonly result: Promise<R>;
  /** @returns false when the job had already finished. */
  cancel(): boolean;
}

export interface JobQueue<M extends JobTypeMap> {
  /**
   * @throws MotifError QUEUE_FULL when the queue, the guild or the user is at its limit.
   */
  enqueue<K extends keyof M & string>(kind: K, data: M[K]['data'], opts: EnqueueOptions): JobHandle<M[K]['result'], M[K]['progress']>;
  /** Jobs of one guild (or all, for operators), running first then in order. */
  list(filter?: { guildId?: string }): JobInfo[];
  /**
   * Cancels a job of `by.guildId`. Members cancel their own jobs; `by.isAdmin` cancels any in the guild.
   * @throws MotifError NOT_FOUND (no such job in this guild), PERMISSION_DENIED.
   */
  cancel(jobId: string, by: { guildId: string; userId: string; isAdmin?: boolean }): void;
  /** 'error' events carry (error, JobInfo) for every failed job that was not a MotifError. */
  on(event: 'error', listener: (error: unknown, job: JobInfo) => void): this;
  /** Stops accepting jobs, cancels waiting ones and terminates workers. */
  close(): Promise<void>;
  /**
   * Graceful stop: refuses new jobs at once, lets queued and running ones finish for up to
   * `graceMs`, then settles whatever is left with BOT_RESTARTED and terminates the workers.
   * @returns how many jobs finished during the grace period and how many were cut off.
   */
  shutdown(graceMs: number): Promise<{ finished: number; cutOff: number }>;
}

/** Recent worker time per user halves every 10 minutes. */
export const DEFAULT_USAGE_HALF_LIFE_MS = 10 * 60 * 1000;
/** A waiting job gains 0.5 s of priority per second waited: a 60 s job waits at most ~2 min behind light ones. */
export const DEFAULT_AGING_PER_SECOND = 0.5;

export interface FairnessOptions {
  usageHalfLifeMs?: number;
  agingPerSecond?: number;
  /** Clock in ms (tests pass their own). */
  now?: () => number;
}

export interface QueueLimits {
  /** Jobs running at once. */
  concurrency: number;
  /** Waiting + running, all guilds. */
  maxPending: number;
  maxPerUser: number;
  maxPerGuild: number;
}

interface Job {
  info: JobInfo;
  /** Expected worker seconds. */
  cost: number;
  /** Clock time the job started, for its owner's usage. */
  startedAt?: number;
  ref: ProcessorRef;
  data: unknown;
  controller: AbortController;
  progress: Set<(p: unknown) => void>;
  position: Set<(p: number) => void>;
  settle: { resolve: (value: unknown) => void; reject: (error: unknown) => void };
  settled: boolean;
  /** Settles with the job (what shutdown waits on). */
  result: Promise<unknown>;
}

export class InProcessQueue<M extends JobTypeMap> extends EventEmitter implements JobQueue<M> {
  private readonly waiting: Job[] = [];
  private readonly running = new Set<Job>();
  private readonly pool: WorkerPool;
  private closed = false;
  /** Worker seconds per owner (`guild:user`), decayed from `at`. */
  private readonly usage = new Map<string, { seconds: number; at: number }>();
  private readonly now: () => number;
  private readonly halfLifeMs: number;
  private readonly agingPerSecond: number;
  /** Set by shutdown(): no new jobs, but queued ones may still start during the grace period. */
  private draining = false;

  constructor(
    private readonly processors: { [K in keyof M]: ProcessorRef },
    private readonly limits: QueueLimits,
    private readonly logger: { info: (msg: string, fields?: object) => void; warn: (msg: string, fields?: object) => void } = {
      info: () => undefined,
      warn: () => undefined,
    },
    pool?: WorkerPool,
    fairness: FairnessOptions = {},
  ) {
    super();
    this.pool = pool ?? new WorkerPool();
    this.now = fairness.now ?? Date.now;
    this.halfLifeMs = fairness.usageHalfLifeMs ?? DEFAULT_USAGE_HALF_LIFE_MS;
    this.agingPerSecond = fairness.agingPerSecond ?? DEFAULT_AGING_PER_SECOND;
  }

  enqueue<K extends keyof M & string>(kind: K, data: M[K]['data'], opts: EnqueueOptions): JobHandle<M[K]['result'], M[K]['progress']> {
    if (this.closed || this.draining) throw new MotifError('BOT_RESTARTED', 'Motif is restarting; try again in a minute.');
    this.checkLimits(opts);
    const ref = this.processors[kind];
    let settle!: Job['settle'];
    const result = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    // Callers may never await a job they do not care about; that must not be an unhandled rejection.
    result.catch(() => undefined);
    const job: Job = {
      info: {
        id: randomBytes(3).toString('hex'),
        kind,
        label: opts.label,
        guildId: opts.guildId,
        userId: opts.userId,
        state: 'waiting',
        position: 0,
        enqueuedAt: this.now(),
      },
      cost: Number.isFinite(opts.cost) && (opts.cost ?? 0) > 0 ? opts.cost! : 1,
      ref,
      data,
      controller: new AbortController(),
      progress: new Set(),
      position: new Set(),
      settle,
      settled: false,
      result,
    };
    this.waiting.push(job);
    job.info.position = this.waiting.length;
    this.pump();
    return {
      id: job.info.id,
      position: () => (job.settled ? -1 : job.info.position),
      onProgress: (listener) => subscribe(job.progress, listener as (p: unknown) => void),
      onPosition: (listener) => subscribe(job.position, listener),
      result: result as Promise<M[K]['result']>,
      cancel: () => this.cancelJob(job),
    };
  }

  /**
   * Loads what processors need (model, SoundFont) in every worker before the first job, by running
   * `ref` once per worker (concurrency workers).
   */
  async warmUp(ref: Extract<ProcessorRef, { kind: 'worker' }>, data: unknown): Promise<void> {
    await this.pool.prewarm(this.limits.concurrency, ref.moduleUrl, ref.exportName, data);
  }

  list(filter: { guildId?: string } = {}): JobInfo[] {
    const jobs = [...this.running, ...this.waiting].map((j) => ({ ...j.info }));
    return filter.guildId === undefined ? jobs : jobs.filter((j) => j.guildId === filter.guildId);
  }

  cancel(jobId: string, by: { guildId: string; userId: string; isAdmin?: boolean }): void {
    const job = [...this.running, ...this.waiting].find((j) => j.info.id === jobId && j.info.guildId === by.guildId);
    if (!job) throw new MotifError('NOT_FOUND', `No job \`${jobId.slice(0, 16)}\` is waiting or running in this server.`);
    if (job.info.userId !== by.userId && !by.isAdmin) {
      throw new MotifError('PERMISSION_DENIED', 'You can only cancel your own jobs.');
    }
    this.cancelJob(job);
  }

  async shutdown(graceMs: number): Promise<{ finished: number; cutOff: number }> {
    this.draining = true;
    const pending = [...this.waiting, ...this.running];
    const allSettled = Promise.allSettled(pending.map((job) => job.result));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([allSettled, graceOver]);
    clearTimeout(timer);
    this.closed = true;
    let cutOff = 0;
    for (const job of [...this.waiting, ...this.running]) {
      if (job.settled) continue;
      cutOff++;
      const index = this.waiting.indexOf(job);
      if (index >= 0) this.waiting.splice(index, 1);
      job.controller.abort(new Error('restart'));
      job.settled = true;
      job.info.position = -1;
      job.settle.reject(new MotifError('BOT_RESTARTED', 'Motif restarted before this finished. Please run the command again.'));
    }
    await this.pool.close();
    return { finished: pending.length - cutOff, cutOff };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of [...this.waiting, ...this.running]) this.cancelJob(job);
    await this.pool.close();
  }

  private checkLimits(opts: EnqueueOptions): void {
    const active = [...this.running, ...this.waiting];
    if (active.length >= this.limits.maxPending) {
      throw new MotifError('QUEUE_FULL', `The queue is full (${this.limits.maxPending} jobs). Try again in a few minutes.`);
    }
    if (active.filter((j) => j.info.guildId === opts.guildId).length >= this.limits.maxPerGuild) {
      throw new MotifError('QUEUE_FULL', `This server already has ${this.limits.maxPerGuild} jobs queued. Try again when one finishes.`);
    }
    const perUser = opts.maxPerUser ?? this.limits.maxPerUser;
    if (active.filter((j) => j.info.guildId === opts.guildId && j.info.userId === opts.userId).length >= perUser) {
      throw new MotifError('QUEUE_FULL', `You already have ${perUser} job${perUser === 1 ? '' : 's'} queued. Wait for one to finish or cancel it with /queue.`);
    }
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.limits.concurrency && this.waiting.length > 0) {
      this.orderWaiting();
      const job = this.waiting.shift()!;
      this.running.add(job);
      job.info.state = 'running';
      job.startedAt = this.now();
      this.setPosition(job, 0);
      void this.execute(job);
    }
    this.orderWaiting();
    this.waiting.forEach((job, index) => this.setPosition(job, index + 1));
  }

  /** Sorts `waiting` by score (see the file comment); stable, so ties keep arrival order. */
  private orderWaiting(): void {
    const now = this.now();
    const ownerLoad = new Map<string, number>();
    const load = (job: Job): number => {
      const key = ownerKey(job.info);
      let value = ownerLoad.get(key);
      if (value === undefined) {
        value = this.recentUsage(key, now);
        for (const r of this.running) if (ownerKey(r.info) === key) value += r.cost;
        ownerLoad.set(key, value);
      }
      return value;
    };
    const score = new Map(this.waiting.map((job) => [job, load(job) + job.cost - ((now - job.info.enqueuedAt) / 1000) * this.agingPerSecond]));
    this.waiting.sort((a, b) => score.get(a)! - score.get(b)!);
  }

  private recentUsage(key: string, now: number): number {
    const entry = this.usage.get(key);
    return entry ? entry.seconds * 0.5 ** ((now - entry.at) / this.halfLifeMs) : 0;
  }

  private recordUsage(job: Job): void {
    if (job.startedAt === undefined) return;
    const now = this.now();
    const key = ownerKey(job.info);
    this.usage.set(key, { seconds: this.recentUsage(key, now) + Math.max(0, now - job.startedAt) / 1000, at: now });
    if (this.usage.size > 1000) {
      for (const [k] of this.usage) if (this.recentUsage(k, now) < 0.01) this.usage.delete(k);
    }
  }

  private async execute(job: Job): Promise<void> {
    const { signal } = job.controller;
    const onProgress = (p: unknown): void => job.progress.forEach((listener) => safeCall(listener, p));
    try {
      const result =
        job.ref.kind === 'inline'
          ? await job.ref.run(job.data, { signal, reportProgress: onProgress, log: (m: string) => this.logger.info(m, { jobId: job.info.id }) })
          : await this.pool.run(job.info.id, job.ref.moduleUrl, job.ref.exportName, job.data, {
              signal,
              onProgress,
              onLog: (m) => this.logger.info(m, { jobId: job.info.id }),
            });
      this.finish(job, { result });
    } catch (error) {
      this.finish(job, { error });
    } finally {
      this.running.delete(job);
      this.recordUsage(job);
      this.pump();
    }
  }

  private finish(job: Job, outcome: { result: unknown } | { error: unknown }): void {
    if (job.settled) return;
    job.settled = true;
    job.info.position = -1;
    if ('result' in outcome) {
      job.settle.resolve(outcome.result);
      return;
    }
    const { error } = outcome;
    if (isMotifError(error)) {
      job.settle.reject(error);
      return;
    }
    const crashed = error instanceof WorkerCrashError;
    this.logger.warn(`job ${job.info.id} (${job.info.kind}) ${crashed ? 'crashed its worker' : 'failed'}`, { error });
    // EventEmitter throws on an unheard 'error'; a failed job must never take the bot down.
    if (this.listenerCount('error') > 0) this.emit('error', error, { ...job.info });
    job.settle.reject(
      new MotifError('JOB_FAILED', `Sorry, that job failed (job \`${job.info.id}\`). The bot is still running; try again.`, {
        cause: error,
        detail: error instanceof Error ? error.message : String(error),
      }),
    );
  }

  private cancelJob(job: Job): boolean {
    if (job.settled) return false;
    const index = this.waiting.indexOf(job);
    if (index >= 0) this.waiting.splice(index, 1);
    // A running job keeps its slot until its processor (or worker) actually stops.
    job.controller.abort(new Error('cancelled'));
    job.settled = true;
    job.info.position = -1;
    job.settle.reject(new MotifError('JOB_CANCELLED', `Job \`${job.info.id}\` was cancelled.`));
    if (index >= 0) this.pump();
    return true;
  }

  private setPosition(job: Job, position: number): void {
    if (job.info.position === position) return;
    job.info.position = position;
    job.position.forEach((listener) => safeCall(listener, position));
  }
}

function ownerKey(info: Pick<JobInfo, 'guildId' | 'userId'>): string {
  return `${info.guildId}:${info.userId}`;
}

function subscribe<T>(set: Set<(value: T) => void>, listener: (value: T) => void): () => void {
  set.add(listener);
  return () => set.delete(listener);
}

/** A listener's bug must not break the queue. */
function safeCall<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch {
    // deliberately ignored: listeners belong to callers (e.g. a failed Discord edit)
  }
}
