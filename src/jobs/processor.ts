/**
 * What a job processor is: a plain async function of plain data, with no Discord objects, so the
 * same code runs inline, in a worker thread, or (later) in a BullMQ worker.
 */

export interface ProcessorContext<P> {
  /**
   * Aborted when the job is cancelled or its process stops; processors should stop soon after and
   * throw. `wasCancelled(signal)` tells the two apart.
   */
  signal: AbortSignal;
  /** Progress for the person waiting; cheap to call often (the host throttles nothing). */
  reportProgress: (progress: P) => void;
  log: (message: string) => void;
}

/**
 * Why a running job is stopped: `cancel`, nobody wants its result (a person cancelled it); `stop`,
 * its process is stopping, and the job may run again elsewhere (handed back, or cut off by a restart).
 */
export type AbortCause = 'cancel' | 'stop';

/** The reason a job's signal aborts with; it crosses to worker threads and processes as its cause. */
export class JobAborted extends Error {
  constructor(readonly abortCause: AbortCause) {
    super(abortCause === 'cancel' ? 'cancelled' : 'stopping');
    this.name = 'JobAborted';
  }
}

/** What an aborted signal's reason says; `stop` for anything that is not a JobAborted (the safe reading: keep what a retry needs). */
export function abortCauseOf(signal: AbortSignal): AbortCause {
  return signal.reason instanceof JobAborted ? signal.reason.abortCause : 'stop';
}

/** True once the job was cancelled (not merely stopped): what it leaves for a retry can go. */
export function wasCancelled(signal: AbortSignal): boolean {
  return signal.aborted && abortCauseOf(signal) === 'cancel';
}

export type Processor<D, R, P> = (data: D, ctx: ProcessorContext<P>) => Promise<R>;

/**
 * Where a job kind's processor runs.
 * - `worker`: the named export of a module, run in a worker thread (CPU-heavy work). Data, progress
 *   and result must be structured-cloneable.
 * - `inline`: a function run on the main thread (light or I/O-bound work).
 */
export type ProcessorRef =
  | { kind: 'worker'; moduleUrl: string; exportName: string }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { kind: 'inline'; run: Processor<any, any, any> };

/** An error as it crosses the worker boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Present when the processor threw a MotifError. */
  code?: string;
  userMessage?: string;
}

export type HostToWorker =
  | { type: 'run'; jobId: string; moduleUrl: string; exportName: string; data: unknown }
  | { type: 'abort'; jobId: string; cause: AbortCause };

export type WorkerToHost =
  | { type: 'progress'; jobId: string; progress: unknown }
  | { type: 'log'; jobId: string; message: string }
  | { type: 'done'; jobId: string; result: unknown }
  | { type: 'failed'; jobId: string; error: SerializedError };
