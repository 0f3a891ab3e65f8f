/**
 * What a queue tells whoever watches it (src/ops/metrics.ts turns it into Prometheus metrics). The
 * interface lives here, not in src/ops, so the queues depend on nothing above them.
 *
 * Calls happen where the job actually runs: in-process that is the bot; on BullMQ it is the process
 * that holds the Worker (the bot today, `npm run worker` processes later), so each process reports
 * the jobs it ran. `jobEnqueued` is reported by the process that enqueued.
 */
import { isMotifError } from '../errors.js';
import type { Lane } from './queue.js';

/** How a job that started ended: its processor returned, threw, or was aborted (cancel or restart). */
export type JobOutcome = 'completed' | 'failed' | 'cancelled';

export interface QueueObserver {
  jobEnqueued(kind: string, lane: Lane): void;
  /** @param waitMs enqueue → start, milliseconds (clocks of two machines may differ: may be < 0). */
  jobStarted(kind: string, lane: Lane, waitMs: number): void;
  /**
   * Once per started run (on BullMQ, per attempt: a retried failure is a failed run).
   * @param durationMs start → end, milliseconds.
   * @param reason for 'failed': the MotifError code, or 'crash' for anything else (a processor bug, a dead worker).
   */
  jobFinished(kind: string, lane: Lane, durationMs: number, outcome: JobOutcome, reason?: string): void;
}

/** Calls `observer` if there is one; its bug must never fail or stall a job. */
export function observe(observer: QueueObserver | undefined, call: (observer: QueueObserver) => void): void {
  if (!observer) return;
  try {
    call(observer);
  } catch {
    // deliberately ignored: metrics are the operator's view, never the user's job
  }
}

/**
 * Reports how a started job ended.
 * @param ended what the processor gave: its result or the error it threw.
 * @param aborted whether the job's signal was aborted (cancelled or cut off by a restart): that wins
 *   over whatever the processor did after.
 */
export function reportFinished(
  observer: QueueObserver | undefined,
  kind: string,
  lane: Lane,
  durationMs: number,
  ended: { result: unknown } | { error: unknown },
  aborted: boolean,
): void {
  if (aborted) observe(observer, (o) => o.jobFinished(kind, lane, durationMs, 'cancelled'));
  else if ('result' in ended) observe(observer, (o) => o.jobFinished(kind, lane, durationMs, 'completed'));
  else observe(observer, (o) => o.jobFinished(kind, lane, durationMs, 'failed', isMotifError(ended.error) ? ended.error.code : 'crash'));
}
