/**
 * Runs inside a worker thread or a forked child process (worker-host.ts): imports the requested
 * processor module (once; later jobs reuse the loaded module and whatever it caches, e.g. a model)
 * and runs one job at a time.
 */
import { parentPort } from 'node:worker_threads';
import { isMotifError } from '../errors.js';
import { JobAborted, type HostToWorker, type Processor, type SerializedError, type WorkerToHost } from './processor.js';
import type { WorkerReady } from './worker-host.js';

interface Port {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: HostToWorker) => void): void;
}

const port: Port | undefined = parentPort ?? (process.send ? childPort() : undefined);
if (!port) throw new Error('worker-entry.ts must run in a worker thread or a forked child process');

/** The IPC channel to the parent, for a forked child. */
function childPort(): Port {
  // The parent is gone (kill -9, a crash): its jobs go back to the queue, so this child must not
  // keep computing nor linger as an orphan.
  process.on('disconnect', () => process.exit(1));
  return {
    postMessage: (message) => process.send?.(message),
    on: (_event, listener) => process.on('message', (message) => listener(message as HostToWorker)),
  };
}

const controllers = new Map<string, AbortController>();
const post = (message: WorkerToHost): void => port.postMessage(message);

port.on('message', (message: HostToWorker) => {
  if (message.type === 'abort') {
    controllers.get(message.jobId)?.abort(new JobAborted(message.cause));
    return;
  }
  void run(message);
});
// Ends the host's start-up wait: from here on every job gets a 'done' or 'failed' answer.
port.postMessage({ type: 'ready' } satisfies WorkerReady);

async function run(message: Extract<HostToWorker, { type: 'run' }>): Promise<void> {
  const { jobId } = message;
  const controller = new AbortController();
  controllers.set(jobId, controller);
  try {
    const module = (await import(message.moduleUrl)) as Record<string, unknown>;
    const processor = module[message.exportName];
    if (typeof processor !== 'function') throw new Error(`${message.moduleUrl} has no function export ${message.exportName}`);
    // Cancelled while the module was loading: do not start work nobody wants.
    if (controller.signal.aborted) throw new Error('cancelled before start');
    const result = await (processor as Processor<unknown, unknown, unknown>)(message.data, {
      signal: controller.signal,
      reportProgress: (progress) => post({ type: 'progress', jobId, progress }),
      log: (text) => post({ type: 'log', jobId, message: text }),
    });
    post({ type: 'done', jobId, result });
  } catch (error) {
    post({ type: 'failed', jobId, error: serializeError(error) });
  } finally {
    controllers.delete(jobId);
  }
}

function serializeError(error: unknown): SerializedError {
  if (isMotifError(error)) {
    return { name: error.name, message: error.message, stack: error.stack, code: error.code, userMessage: error.userMessage };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}
