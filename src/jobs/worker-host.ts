/**
 * A pool of workers that run processors, so CPU-heavy jobs never stall the main thread (and with it
 * the Discord gateway heartbeat, or BullMQ's lock renewal). Workers are kept between jobs so a
 * processor's module-level caches (a loaded model) survive; a worker that crashes or is terminated
 * is replaced on the next job.
 *
 * Two isolations, one protocol (processor.ts):
 * - `thread` (default): worker threads, cheap to start; what the in-process queue uses.
 * - `process`: child processes (`child_process.fork`), what `npm run worker` uses: a native crash in
 *   TensorFlow.js, an out-of-memory or a `kill -9` takes down one child, never the process that
 *   holds the BullMQ locks, and the job is retried elsewhere.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MotifError, type ErrorCode } from '../errors.js';
import { abortCauseOf, type HostToWorker, type SerializedError, type WorkerToHost } from './processor.js';

/** How long close() waits for one worker to terminate. */
const TERMINATE_WAIT_MS = 5_000;
/** Running from TypeScript sources (tsx, vitest) the worker needs the tsx loader too. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const ENTRY_URL = new URL(FROM_SOURCES ? './worker-entry.ts' : './worker-entry.js', import.meta.url);
/** Resolved here, not in the worker, so the bot works whatever the current directory is. */
const TSX_API_URL = FROM_SOURCES ? tsxApiUrl() : '';

function tsxApiUrl(): string {
  // The CommonJS entry path sits next to the ESM one (dist/esm/api/index.{cjs,mjs}).
  const cjsPath = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(join(cjsPath, '..', 'index.mjs')).href;
}

export interface WorkerRunOptions {
  signal: AbortSignal;
  onProgress: (progress: unknown) => void;
  onLog: (message: string) => void;
  /** After an abort, how long the processor may take to stop before its worker is terminated. Default 3000. */
  abortGraceMs?: number;
}

/**
 * Sent once by worker-entry.ts when it listens for jobs. Until then a job's worker is still starting
 * (registering tsx, importing the entry); a worker that never gets there would leave the job
 * pending forever, so the host waits for this message only `startupTimeoutMs`.
 */
export interface WorkerReady {
  type: 'ready';
}

/** Default for `WorkerPool`'s `startupTimeoutMs`: generous, since a loaded 2-core CI box starts a worker in ~2 s. */
export const DEFAULT_WORKER_STARTUP_TIMEOUT_MS = 60_000;

/** Thrown (as its `cause`) when the worker thread itself died rather than the processor throwing. */
export class WorkerCrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashError';
  }
}

/** What the pool needs of a worker thread or a child process. */
interface WorkerChannel {
  postMessage(message: HostToWorker): void;
  // Events: 'message' (a WorkerToHost or WorkerReady), 'error' (Error), 'exit' (exit code).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'message' | 'error' | 'exit', listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  once(event: 'exit', listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: 'message' | 'error' | 'exit', listener: (...args: any[]) => void): unknown;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown>;
}

export type WorkerIsolation = 'thread' | 'process';

/** A child process behind the same surface as a Worker. */
class ChildChannel extends EventEmitter implements WorkerChannel {
  private readonly exited: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    super();
    child.on('message', (message) => this.emit('message', message));
    child.on('error', (error) => this.emit('error', error));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        // A signal (kill -9, the OOM killer) is an exit code like a shell's: 128 + its number.
        this.emit('exit', code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
        resolve();
      }),
    );
  }

  postMessage(message: HostToWorker): void {
    if (!this.child.connected) throw new WorkerCrashError('the worker process is gone');
    this.child.send(message);
  }

  ref(): void {
    this.child.ref();
    this.child.channel?.ref();
  }

  unref(): void {
    this.child.unref();
    this.child.channel?.unref();
  }

  async terminate(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

interface PoolWorker {
  worker: WorkerChannel;
  busy: boolean;
  /** Set once worker-entry.ts has said it listens for jobs. */
  ready: boolean;
  /** Set once the thread has exited: its 'exit' event will not come again. */
  exitCode: number | undefined;
}

/** Why a job's worker never started; the pool retries such a job once on a fresh worker. */
class WorkerStartupError extends WorkerCrashError {}

export class WorkerPool {
  private readonly idle: PoolWorker[] = [];
  private readonly all = new Set<PoolWorker>();
  private closed = false;

  /**
   * @param opts.resourceLimits optional per-worker heap limits (MB).
   * @param opts.startupTimeoutMs how long a new worker may take to start listening for jobs before it
   *   is terminated (default {@link DEFAULT_WORKER_STARTUP_TIMEOUT_MS}).
   */
  constructor(
    private readonly opts: { resourceLimits?: { maxOldGenerationSizeMb?: number }; startupTimeoutMs?: number; isolation?: WorkerIsolation } = {},
  ) {}

  /** Workers alive right now (idle or busy). */
  get size(): number {
    return this.all.size;
  }

  /**
   * Runs `moduleUrl#exportName(data, ctx)` in a worker.
   * A worker that does not start within the start-up timeout is terminated and the job is tried once
   * more on a fresh worker, so the returned promise always settles.
   * @throws MotifError re-created from the processor's MotifError; an Error from the processor
   *   (message and stack kept); WorkerCrashError when the thread died or twice did not start.
   */
  async run(jobId: string, moduleUrl: string, exportName: string, data: unknown, opts: WorkerRunOptions): Promise<unknown> {
    if (this.closed) throw new Error('WorkerPool is closed');
    try {
      return await this.runOn(this.idle.pop() ?? this.spawn(), jobId, moduleUrl, exportName, data, opts);
    } catch (error) {
      if (!(error instanceof WorkerStartupError) || this.closed || opts.signal.aborted) throw error;
      opts.onLog(`${error.message}; retrying on a new worker`);
      return await this.runOn(this.spawn(), jobId, moduleUrl, exportName, data, opts);
    }
  }

  /**
   * Starts `count` workers (beyond those alive) and runs `moduleUrl#exportName(data)` in each, e.g. to
   * load the model and SoundFont before the first job. The workers then wait idle for jobs.
   * @throws the first warm-up failure.
   */
  async prewarm(count: number, moduleUrl: string, exportName: string, data: unknown): Promise<void> {
    const fresh = Array.from({ length: Math.max(0, count - this.all.size) }, () => this.spawn());
    const never = new AbortController().signal;
    await Promise.all(
      fresh.map((slot, i) => this.runOn(slot, `warm-${i}`, moduleUrl, exportName, data, { signal: never, onProgress: () => undefined, onLog: () => undefined })),
    );
  }

  private runOn(slot: PoolWorker, jobId: string, moduleUrl: string, exportName: string, data: unknown, opts: WorkerRunOptions): Promise<unknown> {
    slot.busy = true;
    const { worker } = slot;
    // A busy worker keeps the process alive (its job's promise is pending); an idle one must not.
    worker.ref();
    return new Promise<unknown>((resolve, reject) => {
      let graceTimer: NodeJS.Timeout | undefined;
      let startupTimer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        opts.signal.removeEventListener('abort', onAbort);
        if (graceTimer) clearTimeout(graceTimer);
        if (startupTimer) clearTimeout(startupTimer);
      };
      const release = (): void => {
        cleanup();
        slot.busy = false;
        worker.unref();
        if (this.closed) void this.discard(slot);
        else this.idle.push(slot);
      };
      const onMessage = (message: WorkerToHost | WorkerReady): void => {
        // A child process's messages arrive after a deserialisation that trusts nothing: ignore non-objects.
        if (typeof message !== 'object' || message === null) return;
        if (message.type === 'ready') {
          if (startupTimer) clearTimeout(startupTimer);
          return;
        }
        if (message.jobId !== jobId) return;
        if (message.type === 'progress') opts.onProgress(message.progress);
        else if (message.type === 'log') opts.onLog(message.message);
        else if (message.type === 'done') {
          release();
          resolve(message.result);
        } else {
          release();
          reject(deserializeError(message.error));
        }
      };
      const onError = (error: Error): void => {
        cleanup();
        void this.discard(slot);
        reject(Object.assign(new WorkerCrashError(`worker crashed: ${error.message}`), { cause: error }));
      };
      const onExit = (code: number): void => {
        cleanup();
        this.forget(slot);
        reject(new WorkerCrashError(`worker exited with code ${code}`));
      };
      const onAbort = (): void => {
        worker.postMessage({ type: 'abort', jobId, cause: abortCauseOf(opts.signal) } satisfies HostToWorker);
        // A processor that ignores its signal is stopped the hard way; its worker is replaced.
        graceTimer = setTimeout(() => void this.discard(slot), opts.abortGraceMs ?? 3000);
        graceTimer.unref();
      };
      // The thread died while idle: its 'exit' event is gone, so waiting for one would hang the job.
      if (slot.exitCode !== undefined) {
        slot.busy = false;
        reject(new WorkerCrashError(`worker exited with code ${slot.exitCode} before the job started`));
        return;
      }
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (!slot.ready) {
        const startupTimeoutMs = this.opts.startupTimeoutMs ?? DEFAULT_WORKER_STARTUP_TIMEOUT_MS;
        startupTimer = setTimeout(() => {
          cleanup();
          void this.discard(slot);
          reject(new WorkerStartupError(`worker did not start within ${startupTimeoutMs} ms (stuck loading tsx or worker-entry)`));
        }, startupTimeoutMs);
      }
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });
      try {
        // Queued by the port until worker-entry.ts listens, so it is safe before 'ready'.
        worker.postMessage({ type: 'run', jobId, moduleUrl, exportName, data } satisfies HostToWorker);
      } catch (error) {
        // e.g. data that cannot be cloned: the worker is fine, the job is not.
        release();
        reject(error);
      }
    });
  }

  /** Terminates every worker (running jobs fail with WorkerCrashError). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((slot) => this.discard(slot)));
  }

  private spawn(): PoolWorker {
    const worker = this.opts.isolation === 'process' ? spawnChild(this.opts.resourceLimits) : spawnThread(this.opts.resourceLimits);
    // An idle worker must not keep the process alive on shutdown.
    worker.unref();
    const slot: PoolWorker = { worker, busy: false, ready: false, exitCode: undefined };
    this.all.add(slot);
    worker.on('message', (message: { type?: string } | null) => {
      if (message?.type === 'ready') slot.ready = true;
    });
    worker.once('exit', (code) => {
      slot.exitCode = code;
      this.forget(slot);
    });
    // An 'error' with no job attached must not become an uncaught exception in the bot.
    worker.on('error', () => this.forget(slot));
    return slot;
  }

  private forget(slot: PoolWorker): void {
    this.all.delete(slot);
    const index = this.idle.indexOf(slot);
    if (index >= 0) this.idle.splice(index, 1);
  }

  private async discard(slot: PoolWorker): Promise<void> {
    this.forget(slot);
    // A thread stuck inside a native wait may not stop promptly; close() must still return.
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, TERMINATE_WAIT_MS);
      timer.unref();
    });
    await Promise.race([slot.worker.terminate().catch(() => undefined), giveUp]);
    clearTimeout(timer);
  }
}

function spawnThread(resourceLimits: { maxOldGenerationSizeMb?: number } | undefined): WorkerChannel {
  // Node 20 does not apply `--import tsx` from a worker's execArgv to the worker's own entry
  // module, so from sources a small bootstrap registers tsx first and then imports the entry.
  const worker = FROM_SOURCES
    ? new Worker(
        `import(${JSON.stringify(TSX_API_URL)}).then(({ register }) => { register(); return import(${JSON.stringify(ENTRY_URL.href)}); });`,
        { eval: true, resourceLimits },
      )
    : new Worker(ENTRY_URL, { resourceLimits });
  return worker;
}

function spawnChild(resourceLimits: { maxOldGenerationSizeMb?: number } | undefined): WorkerChannel {
  const execArgv = [
    // tsx by its resolved URL, so the child starts whatever the current directory is.
    ...(FROM_SOURCES ? ['--import', import.meta.resolve('tsx')] : []),
    ...(resourceLimits?.maxOldGenerationSizeMb ? [`--max-old-space-size=${resourceLimits.maxOldGenerationSizeMb}`] : []),
  ];
  const child = fork(fileURLToPath(ENTRY_URL), [], {
    execArgv,
    // Structured clone, as between threads: typed arrays and Maps survive the trip.
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new ChildChannel(child);
}

function deserializeError(error: SerializedError): Error {
  if (error.code && error.userMessage !== undefined) {
    const restored = new MotifError(error.code as ErrorCode, error.userMessage);
    restored.message = error.message;
    restored.stack = error.stack;
    return restored;
  }
  const restored = new Error(error.message);
  restored.name = error.name;
  restored.stack = error.stack;
  return restored;
}
