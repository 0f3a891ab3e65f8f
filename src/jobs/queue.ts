/**
 * The job queue behind every long-running request, as commands see it. Producers enqueue and get a
 * handle; processors are plain functions (see processor.ts) run inline or in worker threads.
 *
 * Two implementations pass one behaviour suite (test/jobs/queue-behaviour.ts):
 * - `InProcessQueue` (in-process-queue.ts), the default: nothing to run besides the bot;
 * - `BullQueue` (bullmq-queue.ts), selected by QUEUE_URL=redis://…: jobs, limits and fairness live in
 *   Redis, so several bot processes share them and worker processes can be added later.
 *
 * Every call is async because the Redis one is: a producer must never assume the queue is in its
 * own memory.
 *
 * **Lanes.** Each job kind belongs to a lane with its own concurrency (and, in-process, its own
 * worker threads): `interactive` (someone is waiting for an answer: compose, voice audio, reading an
 * uploaded MIDI) and `batch` (minutes to an hour: train, transcribing corpus audio). A training run
 * then never holds a compose behind it. Fair ordering (see fairness.ts) applies within a lane; the
 * per-user, per-guild and total limits count jobs of both lanes together, because they bound what
 * one person or server may ask of the bot, whatever the kind.
 */
import { MotifError } from '../errors.js';
import type { ProcessorRef } from './processor.js';

/** Maps each job kind to its data, result and progress types. */
export type JobTypeMap = Record<string, { data: unknown; result: unknown; progress: unknown }>;

export const LANES = ['interactive', 'batch'] as const;
export type Lane = (typeof LANES)[number];

/** Jobs running at once, per lane. */
export type LaneConcurrency = Readonly<Record<Lane, number>>;

/** Which lane each job kind runs in. */
export type LaneMap<M extends JobTypeMap> = { readonly [K in keyof M]: Lane };

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
  lane: Lane;
  label: string;
  guildId: string;
  userId: string;
  state: 'waiting' | 'running';
  /** 0 while running; 1 = next in line in its lane. */
  position: number;
  /** Epoch milliseconds. */
  enqueuedAt: number;
}

export interface JobHandle<R, P> {
  readonly id: string;
  readonly lane: Lane;
  /**
   * The last position this handle heard of (0 running, 1 = next to start in its lane, …; -1 once
   * finished). A snapshot kept current by onPosition events; `JobQueue.position` asks the queue.
   */
  position(): number;
  /** Subscribes to progress; returns an unsubscribe function. */
  onProgress(listener: (progress: P) => void): () => void;
  /** Called whenever the position changes (0 = started). */
  onPosition(listener: (position: number) => void): () => void;
  /**
   * Settles when the job ends, as long as this process lives to see it (best effort: a bot that
   * restarts loses the handle, not necessarily the job).
   * @throws MotifError from the processor, JOB_CANCELLED, BOT_RESTARTED, or JOB_FAILED (processor bug or crashed worker).
   */
  readonly result: Promise<R>;
  /** @returns false when the job had already finished. */
  cancel(): Promise<boolean>;
}

/** What operators count, read when metrics are scraped. */
export interface QueueStats {
  /**
   * Workers able to run each lane's jobs now. In-process: the lane's worker threads alive (started by
   * the first job or the warm-up, so 0 before). BullMQ: BullMQ Workers connected from any process,
   * for the lane's best-served kind, i.e. how many processes run that lane.
   */
  workersAlive: Record<Lane, number>;
}

export interface JobQueue<M extends JobTypeMap> {
  /**
   * @throws MotifError QUEUE_FULL when the queue, the guild or the user is at its limit;
   *   QUEUE_UNAVAILABLE when the queue's store cannot be reached; BOT_RESTARTED while shutting down.
   */
  enqueue<K extends keyof M & string>(kind: K, data: M[K]['data'], opts: EnqueueOptions): Promise<JobHandle<M[K]['result'], M[K]['progress']>>;
  /**
   * A handle on a job this process did not enqueue, or enqueued before it restarted (durable
   * delivery): for a waiting or running job a live handle; for a finished job the queue still
   * remembers, a handle already settled with its result or error; otherwise undefined (the
   * in-process queue remembers nothing across a restart).
   * @throws MotifError QUEUE_UNAVAILABLE when the queue's store cannot be reached.
   */
  attach<K extends keyof M & string>(kind: K, jobId: string): Promise<JobHandle<M[K]['result'], M[K]['progress']> | undefined>;
  /** Jobs of one guild (or all, for operators): per lane, running first then in order. */
  list(filter?: { guildId?: string }): Promise<JobInfo[]>;
  /** A job's position in its lane: 0 running, 1 = next, …; -1 when it is not waiting or running. */
  position(jobId: string): Promise<number>;
  /** @throws MotifError QUEUE_UNAVAILABLE when the queue's store cannot be reached. */
  stats?(): Promise<QueueStats>;
  /**
   * Cancels a job of `by.guildId`: a waiting job is removed, a running one is aborted. Members cancel
   * their own jobs; `by.isAdmin` cancels any in the guild.
   * @throws MotifError NOT_FOUND (no such job in this guild), PERMISSION_DENIED.
   */
  cancel(jobId: string, by: { guildId: string; userId: string; isAdmin?: boolean }): Promise<void>;
  /** 'error' events carry (error, JobInfo) for every failed job that was not a MotifError. */
  on(event: 'error', listener: (error: unknown, job: JobInfo) => void): this;
  /**
   * Loads what processors need (model, SoundFont) in every interactive worker of this process before
   * the first job. A no-op where this process runs no workers.
   */
  warmUp(ref: Extract<ProcessorRef, { kind: 'worker' }>, data: unknown): Promise<void>;
  /** Stops accepting jobs, cancels this process's waiting ones and terminates workers. */
  close(): Promise<void>;
  /**
   * Graceful stop: refuses new jobs at once, lets queued and running ones finish for up to
   * `graceMs`, then stops the workers. What is left is either cut off (in-process: the jobs die with
   * the process; handles settle with BOT_RESTARTED) or handed over (BullMQ: the jobs stay in Redis,
   * jobs running here go back to the queue for another worker, handles settle with JOB_HANDED_OVER).
   * @returns how many of this process's jobs finished during the grace period, were cut off, or were handed over.
   */
  shutdown(graceMs: number): Promise<ShutdownReport>;
}

export interface ShutdownReport {
  finished: number;
  cutOff: number;
  handedOver: number;
}

export interface QueueLimits {
  /** Jobs running at once, per lane. */
  concurrency: LaneConcurrency;
  /** Waiting + running, all guilds, both lanes. */
  maxPending: number;
  maxPerUser: number;
  maxPerGuild: number;
}

/** Which limit refused a job; both backends word it the same. */
export type LimitHit = 'total' | 'guild' | 'user';

export function queueFullError(hit: LimitHit, limit: number): MotifError {
  if (hit === 'total') return new MotifError('QUEUE_FULL', `The queue is full (${limit} jobs). Try again in a few minutes.`);
  if (hit === 'guild') return new MotifError('QUEUE_FULL', `This server already has ${limit} jobs queued. Try again when one finishes.`);
  return new MotifError('QUEUE_FULL', `You already have ${limit} job${limit === 1 ? '' : 's'} queued. Wait for one to finish or cancel it with /queue.`);
}

export function jobNotFoundError(jobId: string): MotifError {
  return new MotifError('NOT_FOUND', `No job \`${jobId.slice(0, 16)}\` is waiting or running in this server.`);
}

export function notYourJobError(): MotifError {
  return new MotifError('PERMISSION_DENIED', 'You can only cancel your own jobs.');
}

export function cancelledError(jobId: string): MotifError {
  return new MotifError('JOB_CANCELLED', `Job \`${jobId}\` was cancelled.`);
}

export function restartingError(): MotifError {
  return new MotifError('BOT_RESTARTED', 'Motif is restarting; try again in a minute.');
}

export function cutOffError(): MotifError {
  return new MotifError('BOT_RESTARTED', 'Motif restarted before this finished. Please run the command again.');
}

/**
 * The handle's answer when this process stops while its job lives on in a shared queue (BullMQ): the
 * job is not cancelled, a worker finishes it, and the restarted bot delivers it (durable delivery).
 */
export function handedOverError(): MotifError {
  return new MotifError('JOB_HANDED_OVER', 'Motif is restarting; your job stays in the queue and its result will be posted here when it is done.');
}

/** What a user sees for a job that failed for a reason that is not theirs. */
export function jobFailedError(jobId: string, cause: unknown): MotifError {
  return new MotifError('JOB_FAILED', `Sorry, that job failed (job \`${jobId}\`). The bot is still running; try again.`, {
    cause,
    detail: cause instanceof Error ? cause.message : String(cause),
  });
}

/** The weight a job is ordered by: positive and finite, 1 when unknown. */
export function jobCost(cost: number | undefined): number {
  return cost !== undefined && Number.isFinite(cost) && cost > 0 ? cost : 1;
}

export function subscribe<T>(set: Set<(value: T) => void>, listener: (value: T) => void): () => void {
  set.add(listener);
  return () => set.delete(listener);
}

/** A listener's bug must not break the queue. */
export function safeCall<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch {
    // deliberately ignored: listeners belong to callers (e.g. a failed Discord edit)
  }
}
