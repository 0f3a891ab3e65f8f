/**
 * The default queue: jobs, limits and fair ordering in this process's memory, processors in this
 * process's worker threads. One waiting list, one concurrency and one pool of worker threads per
 * lane (queue.ts), so a /train occupying the batch lane's thread never takes the thread (and the
 * loaded model) a /compose needs.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { isMotifError } from '../errors.js';
import { DEFAULT_AGING_PER_SECOND, DEFAULT_USAGE_HALF_LIFE_MS, UsageLedger, type FairnessOptions } from './fairness.js';
import { JobAborted, type ProcessorRef } from './processor.js';
import { observe, reportFinished, type QueueObserver } from './queue-observer.js';
import type { QueueStats } from './queue.js';
import {
  LANES,
  cancelledError,
  cutOffError,
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
  type QueueLimits,
  type ShutdownReport,
} from './queue.js';
import { WorkerCrashError, WorkerPool } from './worker-host.js';

export interface QueueLogger {
  info: (msg: string, fields?: object) => void;
  warn: (msg: string, fields?: object) => void;
}

const SILENT: QueueLogger = { info: () => undefined, warn: () => undefined };

export interface InProcessQueueOptions<M extends JobTypeMap> {
  processors: { readonly [K in keyof M]: ProcessorRef };
  lanes: LaneMap<M>;
  limits: QueueLimits;
  logger?: QueueLogger;
  /** Worker pools per lane (tests pass their own); default a fresh pool each. */
  pools?: Partial<Record<Lane, WorkerPool>>;
  fairness?: FairnessOptions;
  /** Told when jobs are enqueued, start and end (metrics). */
  observer?: QueueObserver;
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

interface LaneState {
  waiting: Job[];
  running: Set<Job>;
  pool: WorkerPool;
  concurrency: number;
}

export class InProcessQueue<M extends JobTypeMap> extends EventEmitter implements JobQueue<M> {
  private readonly lanes: Record<Lane, LaneState>;
  private readonly processors: { readonly [K in keyof M]: ProcessorRef };
  private readonly laneOf: LaneMap<M>;
  private readonly limits: QueueLimits;
  private readonly logger: QueueLogger;
  private closed = false;
  private readonly usage: UsageLedger;
  private readonly now: () => number;
  private readonly agingPerSecond: number;
  /** Set by shutdown(): no new jobs, but queued ones may still start during the grace period. */
  private draining = false;
  private readonly observer: QueueObserver | undefined;

  constructor(opts: InProcessQueueOptions<M>) {
    super();
    this.observer = opts.observer;
    this.processors = opts.processors;
    this.laneOf = opts.lanes;
    this.limits = opts.limits;
    this.logger = opts.logger ?? SILENT;
    const lane = (name: Lane): LaneState => ({
      waiting: [],
      running: new Set(),
      pool: opts.pools?.[name] ?? new WorkerPool(),
      concurrency: opts.limits.concurrency[name],
    });
    this.lanes = { interactive: lane('interactive'), batch: lane('batch') };
    this.now = opts.fairness?.now ?? Date.now;
    this.usage = new UsageLedger(opts.fairness?.usageHalfLifeMs ?? DEFAULT_USAGE_HALF_LIFE_MS);
    this.agingPerSecond = opts.fairness?.agingPerSecond ?? DEFAULT_AGING_PER_SECOND;
  }

  async enqueue<K extends keyof M & string>(kind: K, data: M[K]['data'], opts: EnqueueOptions): Promise<JobHandle<M[K]['result'], M[K]['progress']>> {
    if (this.closed || this.draining) throw restartingError();
    this.checkLimits(opts);
    const laneName = this.laneOf[kind];
    const lane = this.lanes[laneName];
    let settle!: Job['settle'];
    const result = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    // Callers may never await a job they do not care about; that must not be an unhandled rejection.
    result.catch(() => undefined);
    const job: Job = {
      info: {
        id: randomBytes(3).toString('hex'),
        kind,
        lane: laneName,
        label: opts.label,
        guildId: opts.guildId,
        userId: opts.userId,
        state: 'waiting',
        position: 0,
        enqueuedAt: this.now(),
      },
      cost: jobCost(opts.cost),
      ref: this.processors[kind],
      data,
      controller: new AbortController(),
      progress: new Set(),
      position: new Set(),
      settle,
      settled: false,
      result,
    };
    lane.waiting.push(job);
    observe(this.observer, (o) => o.jobEnqueued(kind, laneName));
    job.info.position = lane.waiting.length;
    this.pump(lane);
    return this.handleOf(job);
  }

  async attach<K extends keyof M & string>(kind: K, jobId: string): Promise<JobHandle<M[K]['result'], M[K]['progress']> | undefined> {
    const job = this.find(jobId);
    return job && job.info.kind === kind ? this.handleOf(job) : undefined;
  }

  private handleOf<R, P>(job: Job): JobHandle<R, P> {
    return {
      id: job.info.id,
      lane: job.info.lane,
      position: () => (job.settled ? -1 : job.info.position),
      onProgress: (listener) => subscribe(job.progress, listener as (p: unknown) => void),
      onPosition: (listener) => subscribe(job.position, listener),
      result: job.result as Promise<R>,
      cancel: async () => this.cancelJob(job),
    };
  }

  /** Runs `ref` once in each interactive worker (interactive concurrency of them), e.g. to load the model. */
  async warmUp(ref: Extract<ProcessorRef, { kind: 'worker' }>, data: unknown): Promise<void> {
    const lane = this.lanes.interactive;
    await lane.pool.prewarm(lane.concurrency, ref.moduleUrl, ref.exportName, data);
  }

  async list(filter: { guildId?: string } = {}): Promise<JobInfo[]> {
    const jobs = LANES.flatMap((name) => this.active(this.lanes[name])).map((j) => ({ ...j.info }));
    return filter.guildId === undefined ? jobs : jobs.filter((j) => j.guildId === filter.guildId);
  }

  async position(jobId: string): Promise<number> {
    return this.find(jobId)?.info.position ?? -1;
  }

  async stats(): Promise<QueueStats> {
    return { workersAlive: { interactive: this.lanes.interactive.pool.size, batch: this.lanes.batch.pool.size } };
  }

  async cancel(jobId: string, by: { guildId: string; userId: string; isAdmin?: boolean }): Promise<void> {
    const job = this.find(jobId);
    if (!job || job.info.guildId !== by.guildId) throw jobNotFoundError(jobId);
    if (job.info.userId !== by.userId && !by.isAdmin) throw notYourJobError();
    this.cancelJob(job);
  }

  async shutdown(graceMs: number): Promise<ShutdownReport> {
    this.draining = true;
    const pending = this.all();
    const allSettled = Promise.allSettled(pending.map((job) => job.result));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([allSettled, graceOver]);
    clearTimeout(timer);
    this.closed = true;
    let cutOff = 0;
    for (const job of this.all()) {
      if (job.settled) continue;
      cutOff++;
      const waiting = this.lanes[job.info.lane].waiting;
      const index = waiting.indexOf(job);
      if (index >= 0) waiting.splice(index, 1);
      job.controller.abort(new JobAborted('stop'));
      job.settled = true;
      job.info.position = -1;
      job.settle.reject(cutOffError());
    }
    await this.closePools();
    // In memory only: nothing survives this process to hand over.
    return { finished: pending.length - cutOff, cutOff, handedOver: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.all()) this.cancelJob(job);
    await this.closePools();
  }

  private async closePools(): Promise<void> {
    await Promise.all(LANES.map((name) => this.lanes[name].pool.close()));
  }

  /** Running first, then waiting in order. */
  private active(lane: LaneState): Job[] {
    return [...lane.running, ...lane.waiting];
  }

  private all(): Job[] {
    return LANES.flatMap((name) => this.active(this.lanes[name]));
  }

  private find(jobId: string): Job | undefined {
    return this.all().find((j) => j.info.id === jobId);
  }

  /** Limits count both lanes: they bound what one person or server may ask of the bot. */
  private checkLimits(opts: EnqueueOptions): void {
    const active = this.all();
    if (active.length >= this.limits.maxPending) throw queueFullError('total', this.limits.maxPending);
    if (active.filter((j) => j.info.guildId === opts.guildId).length >= this.limits.maxPerGuild) throw queueFullError('guild', this.limits.maxPerGuild);
    const perUser = opts.maxPerUser ?? this.limits.maxPerUser;
    if (active.filter((j) => j.info.guildId === opts.guildId && j.info.userId === opts.userId).length >= perUser) throw queueFullError('user', perUser);
  }

  private pump(lane: LaneState): void {
    while (!this.closed && lane.running.size < lane.concurrency && lane.waiting.length > 0) {
      this.orderWaiting(lane);
      const job = lane.waiting.shift()!;
      lane.running.add(job);
      job.info.state = 'running';
      job.startedAt = this.now();
      const waitMs = job.startedAt - job.info.enqueuedAt;
      observe(this.observer, (o) => o.jobStarted(job.info.kind, job.info.lane, waitMs));
      this.setPosition(job, 0);
      void this.execute(lane, job);
    }
    this.orderWaiting(lane);
    lane.waiting.forEach((job, index) => this.setPosition(job, index + 1));
  }

  /** Sorts the lane's waiting jobs by score (see fairness.ts); stable, so ties keep arrival order. */
  private orderWaiting(lane: LaneState): void {
    const now = this.now();
    const loads = new Map<string, number>();
    // A member's load and their server's (fairness.ts): one server's burst from many members does not
    // hold another server's single request behind all of it.
    const loadOf = (key: string, same: (info: JobInfo) => boolean): number => {
      let value = loads.get(key);
      if (value === undefined) {
        value = this.usage.recent(key, now);
        for (const r of lane.running) if (same(r.info)) value += r.cost;
        loads.set(key, value);
      }
      return value;
    };
    const load = (job: Job): number => {
      const user = ownerKey(job.info);
      const guild = guildKey(job.info);
      return loadOf(user, (info) => ownerKey(info) === user) + loadOf(guild, (info) => guildKey(info) === guild);
    };
    const score = new Map(lane.waiting.map((job) => [job, load(job) + job.cost - ((now - job.info.enqueuedAt) / 1000) * this.agingPerSecond]));
    lane.waiting.sort((a, b) => score.get(a)! - score.get(b)!);
  }

  private async execute(lane: LaneState, job: Job): Promise<void> {
    const { signal } = job.controller;
    const onProgress = (p: unknown): void => job.progress.forEach((listener) => safeCall(listener, p));
    try {
      const result =
        job.ref.kind === 'inline'
          ? await job.ref.run(job.data, { signal, reportProgress: onProgress, log: (m: string) => this.logger.info(m, { jobId: job.info.id }) })
          : await lane.pool.run(job.info.id, job.ref.moduleUrl, job.ref.exportName, job.data, {
              signal,
              onProgress,
              onLog: (m) => this.logger.info(m, { jobId: job.info.id }),
            });
      this.finish(job, { result });
    } catch (error) {
      this.finish(job, { error });
    } finally {
      lane.running.delete(job);
      if (job.startedAt !== undefined) {
        const seconds = (this.now() - job.startedAt) / 1000;
        this.usage.add(ownerKey(job.info), seconds, this.now());
        this.usage.add(guildKey(job.info), seconds, this.now());
      }
      this.pump(lane);
    }
  }

  private finish(job: Job, outcome: { result: unknown } | { error: unknown }): void {
    reportFinished(this.observer, job.info.kind, job.info.lane, this.now() - (job.startedAt ?? this.now()), outcome, job.controller.signal.aborted);
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
    job.settle.reject(jobFailedError(job.info.id, error));
  }

  private cancelJob(job: Job): boolean {
    if (job.settled) return false;
    const lane = this.lanes[job.info.lane];
    const index = lane.waiting.indexOf(job);
    if (index >= 0) lane.waiting.splice(index, 1);
    // A running job keeps its slot until its processor (or worker) actually stops.
    job.controller.abort(new JobAborted('cancel'));
    job.settled = true;
    job.info.position = -1;
    job.settle.reject(cancelledError(job.info.id));
    if (index >= 0) this.pump(lane);
    return true;
  }

  private setPosition(job: Job, position: number): void {
    if (job.info.position === position) return;
    job.info.position = position;
    job.position.forEach((listener) => safeCall(listener, position));
  }
}

/** A server's share of a lane (fairness.ts), kept in the same ledger as its members'. */
function guildKey(info: Pick<JobInfo, 'guildId' | 'lane'>): string {
  return `${info.lane}:guild:${info.guildId}`;
}

/** Fairness is per lane, so the lane is part of the owner's key. */
function ownerKey(info: Pick<JobInfo, 'guildId' | 'userId' | 'lane'>): string {
  return `${info.lane}:${info.guildId}:${info.userId}`;
}
