/**
 * Picks the queue backend from the settings: the in-process queue unless QUEUE_URL names a Redis,
 * then BullMQ. bullmq and ioredis are imported only in the second case, so a newcomer's `npm start`
 * loads exactly what it loaded before there were two backends.
 */
import { InProcessQueue, type QueueLogger } from './in-process-queue.js';
import type { ProcessorRef } from './processor.js';
import type { JobQueue, JobTypeMap, LaneMap, QueueLimits } from './queue.js';
import type { JobDataSchemas, JobResultChecks } from './bullmq-queue.js';

export interface CreateQueueOptions<M extends JobTypeMap> {
  /** QUEUE_URL; unset = in-process. */
  url?: string;
  /** QUEUE_PREFIX (BullMQ only). */
  prefix: string;
  processors: { readonly [K in keyof M]: ProcessorRef };
  lanes: LaneMap<M>;
  limits: QueueLimits;
  logger?: QueueLogger;
  /** BullMQ only: how many times each kind is tried when it fails for a reason other than a MotifError. */
  attempts?: Partial<Record<keyof M, number>>;
  /** BullMQ only: schemas that check each kind's data when a worker reads it back from Redis. */
  schemas?: JobDataSchemas<M>;
  /** BullMQ only: checks of each kind's result against its data when it comes back from Redis. */
  resultChecks?: JobResultChecks<M>;
  /** BullMQ only: how long start-up waits for Redis (default 10 s). */
  readyTimeoutMs?: number;
}

/**
 * @throws MotifError QUEUE_UNAVAILABLE when QUEUE_URL is set and Redis cannot be reached at start-up.
 */
export async function createJobQueue<M extends JobTypeMap>(opts: CreateQueueOptions<M>): Promise<JobQueue<M>> {
  if (!opts.url) return new InProcessQueue<M>({ processors: opts.processors, lanes: opts.lanes, limits: opts.limits, logger: opts.logger });
  const { BullQueue } = await import('./bullmq-queue.js');
  const queue = new BullQueue<M>({
    url: opts.url,
    prefix: opts.prefix,
    processors: opts.processors,
    lanes: opts.lanes,
    limits: opts.limits,
    logger: opts.logger,
    attempts: opts.attempts,
    schemas: opts.schemas,
    resultChecks: opts.resultChecks,
    // Part of the bot for now; `npm run worker` processes will run them on their own later.
    runWorkers: true,
  });
  try {
    await queue.ready(opts.readyTimeoutMs);
  } catch (error) {
    await queue.close();
    throw error;
  }
  return queue;
}
