/**
 * Picks the queue backend from the settings: the in-process queue unless QUEUE_URL names a Redis,
 * then BullMQ. bullmq and ioredis are imported only in the second case, so a newcomer's `npm start`
 * loads exactly what it loaded before there were two backends.
 */
import type { BullQueueOptions } from './bullmq-queue.js';
import { InProcessQueue } from './in-process-queue.js';
import type { JobQueue, JobTypeMap } from './queue.js';

/**
 * The BullMQ queue's options (its BullMQ-only fields are ignored in-process), with QUEUE_URL optional:
 * unset = in-process. Workers always run in the bot for now.
 */
export type CreateQueueOptions<M extends JobTypeMap> = Omit<BullQueueOptions<M>, 'url' | 'runWorkers' | 'pools' | 'fairness'> & {
  url?: string;
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
  // Part of the bot for now; `npm run worker` processes will run them on their own later.
  const queue = new BullQueue<M>({ ...rest, url, runWorkers: true });
  try {
    await queue.ready(opts.readyTimeoutMs);
  } catch (error) {
    await queue.close();
    throw error;
  }
  return queue;
}
