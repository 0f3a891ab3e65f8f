/**
 * Builds a worker process from its settings: the BullMQ queue with workers for the configured lanes
 * and no producer role, processors in child processes, the model and SoundFont loaded before the
 * first interactive job. Injectable so tests start workers in-process or as real processes.
 */
import type { WorkerConfig } from '../config.js';
import { BullQueue } from '../jobs/bullmq-queue.js';
import { MOTIF_ATTEMPTS, MOTIF_JOB_SCHEMAS } from '../jobs/job-schemas.js';
import { MOTIF_LANES, MOTIF_PROCESSORS, WARM_UP_PROCESSOR, type MotifJobs } from '../jobs/motif-jobs.js';
import type { ProcessorRef } from '../jobs/processor.js';
import type { ShutdownReport } from '../jobs/queue.js';
import type { QueueLogger } from '../jobs/in-process-queue.js';
import { createMetrics } from '../ops/metrics.js';
import { startProcessMetrics } from '../ops/process-metrics.js';

export interface WorkerHandle {
  queue: BullQueue<MotifJobs>;
  /** Graceful stop (see main.ts); idempotent. */
  stop(opts?: { graceMs?: number }): Promise<ShutdownReport>;
}

export interface WorkerDeps {
  logger: QueueLogger;
  /** Replace processors (tests). */
  processors?: Partial<{ [K in keyof MotifJobs]: ProcessorRef }>;
  /** Load the model and SoundFont before taking jobs (default true). */
  warmUp?: boolean;
}

/** @throws MotifError QUEUE_UNAVAILABLE when Redis cannot be reached; a warm-up MotifError (MODEL_NOT_FOUND…). */
export async function startWorker(config: WorkerConfig, deps: WorkerDeps): Promise<WorkerHandle> {
  const metrics = config.metricsPort !== undefined ? createMetrics() : undefined;
  const queue = new BullQueue<MotifJobs>({
    observer: metrics?.observer,
    url: config.queueUrl,
    prefix: config.queuePrefix,
    processors: { ...MOTIF_PROCESSORS, ...deps.processors },
    lanes: MOTIF_LANES,
    // Limits are the producers' (the bot's) to enforce; a worker only runs what was admitted.
    limits: {
      concurrency: { interactive: config.queueConcurrency, batch: config.queueBatchConcurrency },
      maxPending: Number.MAX_SAFE_INTEGER,
      maxPerUser: Number.MAX_SAFE_INTEGER,
      maxPerGuild: Number.MAX_SAFE_INTEGER,
    },
    logger: deps.logger,
    attempts: MOTIF_ATTEMPTS,
    schemas: MOTIF_JOB_SCHEMAS,
    workerLanes: config.workerLanes,
    stalledMs: config.workerStalledMs,
    isolation: 'process',
    autorun: false,
  });
  queue.on('error', (error, job) => deps.logger.warn('job failed', { job, error: error instanceof Error ? error.message : String(error) }));
  try {
    await queue.ready();
    if (deps.warmUp ?? true) {
      await queue.warmUp(WARM_UP_PROCESSOR, { modelDir: config.defaultModelDir, soundfont: config.defaultSoundfont, soundfontDir: config.soundfontsDir });
    }
  } catch (error) {
    await queue.close();
    throw error;
  }
  const ops = metrics && config.metricsPort !== undefined ? await startProcessMetrics(queue, { metrics, port: config.metricsPort }).catch(async (error: unknown) => {
    await queue.close();
    throw error;
  }) : undefined;
  queue.startWorkers();
  deps.logger.info('worker ready', { lanes: config.workerLanes.join(','), interactive: config.queueConcurrency, batch: config.queueBatchConcurrency });
  let stopping: Promise<ShutdownReport> | undefined;
  const stop = async (graceMs: number): Promise<ShutdownReport> => {
    const report = await queue.shutdown(graceMs);
    await ops?.close();
    return report;
  };
  return { queue, stop: (opts = {}) => (stopping ??= stop(opts.graceMs ?? config.shutdownGraceSeconds * 1000)) };
}
