/**
 * What a job processor is: a plain async function of plain data, with no Discord objects, so the
 * same code runs inline, in a worker thread, or (later) in a BullMQ worker.
 */

export interface ProcessorContext<P> {
  /** Aborted when the job is cancelled; processors should stop soon after and throw. */
  signal: AbortSignal;
  /** Progress for the person waiting; cheap to call often (the host throttles nothing). */
  reportProgress: (progress: P) => void;
  log: (message: string) => void;
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
  | { type: 'abort'; jobId: string };

export type WorkerToHost =
  | { type: 'progress'; jobId: string; progress: unknown }
  | { type: 'log'; jobId: string; message: string }
  | { type: 'done'; jobId: string; result: unknown }
  | { type: 'failed'; jobId: string; error: SerializedError };
