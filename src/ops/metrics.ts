/**
 * Prometheus metrics of one process (a bot or a worker), for operators (METRICS_PORT). Each call of
 * createMetrics makes its own Registry, never prom-client's global one, so tests can run several.
 *
 * - `motif_queue_depth{lane,state}` jobs waiting / running, read from the queue at each scrape (on
 *   BullMQ that is the whole shared queue, the same number from every process: aggregate with max);
 * - `motif_queue_wait_seconds{lane}` enqueue → start, `motif_job_duration_seconds{kind,outcome}`
 *   start → end, `motif_job_failures_total{kind,reason}` (reason: the MotifError code, or 'crash'):
 *   recorded by the process that ran the job, so on BullMQ sum them over processes;
 * - `motif_jobs_enqueued_total{kind,lane}` counted by the process that enqueued;
 * - `motif_workers_alive{lane}` (see QueueStats: threads in-process, processes on BullMQ);
 * - prom-client's default process metrics (CPU, memory, event-loop lag, GC), prefixed `motif_`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LANES, type JobInfo, type QueueStats } from '../jobs/queue.js';
import type { QueueObserver } from '../jobs/queue-observer.js';

/**
 * Seconds. Interactive jobs (a compose: ~1–30 s) and batch ones (a training run: up to
 * TRAIN_MAX_MINUTES, an hour by default) share one histogram, so the buckets span both.
 */
export const JOB_DURATION_BUCKETS_SECONDS: readonly number[] = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 5400];
/** Seconds. Next to nothing when idle; minutes behind a busy lane or a training run. */
export const QUEUE_WAIT_BUCKETS_SECONDS: readonly number[] = [0.05, 0.25, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** What metrics read from a queue at scrape time (any JobQueue). */
export interface WatchedQueue {
  list(): Promise<JobInfo[]>;
  stats?(): Promise<QueueStats>;
}

export interface MotifMetrics {
  readonly registry: Registry;
  /** Pass to the queue's options (`observer`), so it reports jobs as they start and end. */
  readonly observer: QueueObserver;
  /** Reads depth and workers alive from `queue` at every scrape; call once the queue exists (again to replace it). */
  watchQueue(queue: WatchedQueue): void;
}

export function createMetrics(): MotifMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'motif_' });
  let watched: WatchedQueue | undefined;

  new Gauge({
    name: 'motif_queue_depth',
    help: 'Jobs waiting or running, per lane (the whole queue, read at scrape).',
    labelNames: ['lane', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      // Unreadable (Redis away): no series rather than stale ones; /healthz says why.
      const jobs = await watched?.list().catch(() => undefined);
      if (!jobs) return;
      for (const lane of LANES) {
        for (const state of ['waiting', 'running'] as const) this.set({ lane, state }, jobs.filter((j) => j.lane === lane && j.state === state).length);
      }
    },
  });
  new Gauge({
    name: 'motif_workers_alive',
    help: 'Workers able to run each lane: worker threads in-process, worker processes on BullMQ.',
    labelNames: ['lane'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const stats = await watched?.stats?.().catch(() => undefined);
      if (!stats) return;
      for (const lane of LANES) this.set({ lane }, stats.workersAlive[lane]);
    },
  });
  const enqueued = new Counter({
    name: 'motif_jobs_enqueued_total',
    help: 'Jobs this process enqueued.',
    labelNames: ['kind', 'lane'] as const,
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'motif_queue_wait_seconds',
    help: 'Enqueue to start, per lane, of jobs this process ran.',
    labelNames: ['lane'] as const,
    buckets: [...QUEUE_WAIT_BUCKETS_SECONDS],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'motif_job_duration_seconds',
    help: 'Start to end of jobs this process ran; outcome completed, failed or cancelled (also cut off or handed back at shutdown).',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [...JOB_DURATION_BUCKETS_SECONDS],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'motif_job_failures_total',
    help: "Failed runs of jobs this process ran; reason is the MotifError code, or 'crash' (a bug or a dead worker).",
    labelNames: ['kind', 'reason'] as const,
    registers: [registry],
  });

  const observer: QueueObserver = {
    jobEnqueued: (kind, lane) => enqueued.inc({ kind, lane }),
    // Two machines' clocks may disagree (BullMQ): a negative wait is recorded as none.
    jobStarted: (_kind, lane, waitMs) => wait.observe({ lane }, Math.max(0, waitMs) / 1000),
    jobFinished: (kind, _lane, durationMs, outcome, reason) => {
      duration.observe({ kind, outcome }, Math.max(0, durationMs) / 1000);
      if (outcome === 'failed') failures.inc({ kind, reason: reason ?? 'crash' });
    },
  };
  return {
    registry,
    observer,
    watchQueue: (queue) => {
      watched = queue;
    },
  };
}
