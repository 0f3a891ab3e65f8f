/**
 * What a process (the bot, or an `npm run worker`) calls to be seen by operators when METRICS_PORT is
 * set. Two steps, because the queue needs the observer when it is built:
 *
 *   const metrics = createMetrics();
 *   const queue = new BullQueue({ ...options, observer: metrics.observer });
 *   const ops = await startProcessMetrics(queue, { metrics, port: config.metricsPort });
 *   …on SIGTERM, after the queue has stopped: await ops.close();
 */
import { healthChecks, type HealthCheck } from './health.js';
import { startOpsServer, type OpsServer } from './http-server.js';
import type { MotifMetrics, WatchedQueue } from './metrics.js';

export interface ProcessMetricsOptions {
  /** 1–65535 (METRICS_PORT); 0 = any free port (tests). */
  port: number;
  /** The metrics whose observer `queue` was given. */
  metrics: MotifMetrics;
  /** Checks besides `queue` (which /healthz always runs): e.g. storage, the Discord gateway. */
  checks?: Record<string, HealthCheck>;
}

/**
 * Watches `queue` (depth, workers alive) and serves /metrics and /healthz on 127.0.0.1:`port`.
 * /healthz's `queue` check lists the queue: a Redis round trip on BullMQ.
 * @throws MotifError CONFIG_INVALID when the port is taken.
 */
export async function startProcessMetrics(queue: WatchedQueue, opts: ProcessMetricsOptions): Promise<OpsServer> {
  opts.metrics.watchQueue(queue);
  return startOpsServer({
    port: opts.port,
    registry: opts.metrics.registry,
    health: healthChecks({ queue: () => queue.list(), ...opts.checks }),
  });
}
