/**
 * Picks the queue backend from the settings: the in-process queue unless QUEUE_URL names a Redis,
 * then BullMQ. bullmq and ioredis are imported only in the second case, so a newcomer's `npm start`
 * loads exactly what it loaded before there were two backends.
 */
import type { BullQueueOptions } from './bullmq-queue.js';
import { InProcessQueue } from './in-process-queue.js';
import { LANES, type JobQueue, type JobTypeMap, type Lane } from './queue.js';

/**
 * The BullMQ queue's options (its BullMQ-only fields are ignored in-process), with QUEUE_URL optional:
 * unset = in-process.
 */
export type CreateQueueOptions<M extends JobTypeMap> = Omit<BullQueueOptions<M>, 'url' | 'workerLanes' | 'pools' | 'fairness'> & {
  url?: string;
  /** BullMQ only: lanes this process runs (WORKER_LANES; default both). The in-process queue runs both. */
  workerLanes?: readonly Lane[];
  /** BullMQ only: how long start-up waits for Redis (default 10 s). */
  readyTimeoutMs?: number;
};

/**
 * @throws MotifError QUEUE_UNAVAILABLE when QUEUE_URL is set and Redis cannot be reached at start-up.
 */
export async function createJobQueue<M extends JobTypeMap>(opts: CreateQueueOptions<M>): Promise<JobQueue<M>> {
  if (!opts.url) return new InProcessQueue<M>({ processors: opts.processors, lanes: opts.lanes, limits: opts.limits, logger: opts.logger, observer: opts.observer });
  const { BullQueue } = await import('./bullmq-queue.js');
  const { readyTimeoutMs: _readyTimeout, url, ...rest } = opts;
  const queue = new BullQueue<M>({ ...rest, url, workerLanes: opts.workerLanes ?? LANES });
  try {
    await queue.ready(opts.readyTimeoutMs);
  } catch (error) {
    await queue.close();
    throw error;
  }
  return queue;
}
