/**
 * A pool of worker threads that run processors, so CPU-heavy jobs never stall the main thread
 * (and with it the Discord gateway heartbeat). Workers are kept between jobs so a processor's
 * module-level caches (a loaded model) survive; a worker that crashes or is terminated is replaced
 * on the next job.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MotifError, type ErrorCode } from '../errors.js';
import type { HostToWorker, SerializedError, WorkerToHost } from './processor.js';

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

/** Thrown (as its `cause`) when the worker thread itself died rather than the processor throwing. */
export class WorkerCrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashError';
  }
}

interface PoolWorker {
  worker: Worker;
  busy: boolean;
}

export class WorkerPool {
  private readonly idle: PoolWorker[] = [];
  private readonly all = new Set<PoolWorker>();
  private closed = false;

  /** @param resourceLimits optional per-worker heap limits (MB). */
  constructor(private readonly opts: { resourceLimits?: { maxOldGenerationSizeMb?: number } } = {}) {}

  /** Workers alive right now (idle or busy). */
  get size(): number {
    return this.all.size;
  }

  /**
   * Runs `moduleUrl#exportName(data, ctx)` in a worker.
   * @throws MotifError re-created from the processor's MotifError; an Error from the processor
   *   (message and stack kept); WorkerCrashError when the thread died.
   */
  run(jobId: string, moduleUrl: string, exportName: string, data: unknown, opts: WorkerRunOptions): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    return this.runOn(this.idle.pop() ?? this.spawn(), jobId, moduleUrl, exportName, data, opts);
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
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        opts.signal.removeEventListener('abort', onAbort);
        if (graceTimer) clearTimeout(graceTimer);
      };
      const release = (): void => {
        cleanup();
        slot.busy = false;
        worker.unref();
        if (this.closed) void this.discard(slot);
        else this.idle.push(slot);
      };
      const onMessage = (message: WorkerToHost): void => {
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
        worker.postMessage({ type: 'abort', jobId } satisfies HostToWorker);
        // A processor that ignores its signal is stopped the hard way; its worker is replaced.
        graceTimer = setTimeout(() => void this.discard(slot), opts.abortGraceMs ?? 3000);
        graceTimer.unref();
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({ type: 'run', jobId, moduleUrl, exportName, data } satisfies HostToWorker);
    });
  }

  /** Terminates every worker (running jobs fail with WorkerCrashError). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((slot) => this.discard(slot)));
  }

  private spawn(): PoolWorker {
    // Node 20 does not apply `--import tsx` from a worker's execArgv to the worker's own entry
    // module, so from sources a small bootstrap registers tsx first and then imports the entry.
    const worker = FROM_SOURCES
      ? new Worker(
          `import(${JSON.stringify(TSX_API_URL)}).then(({ register }) => { register(); return import(${JSON.stringify(ENTRY_URL.href)}); });`,
          { eval: true, resourceLimits: this.opts.resourceLimits },
        )
      : new Worker(ENTRY_URL, { resourceLimits: this.opts.resourceLimits });
    // An idle worker must not keep the process alive on shutdown.
    worker.unref();
    const slot: PoolWorker = { worker, busy: false };
    this.all.add(slot);
    worker.once('exit', () => this.forget(slot));
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
    await slot.worker.terminate().catch(() => undefined);
  }
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
