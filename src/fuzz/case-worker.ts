/**
 * Child process that runs fuzz cases one at a time for the runner (fork + IPC). A case that hangs
 * or eats memory is killed from outside with this whole process, so the runner survives it.
 */
import { isMotifError } from '../errors.js';
import { loadSeedTokenizer, runUploadCase, type UploadCase, type UploadLimits } from './upload-targets.js';

export type RunnerToWorker = { type: 'init'; limits: UploadLimits; modelDir: string } | ({ type: 'case'; index: number } & UploadCase);

export type CaseOutcome = 'ok' | 'typed' | 'crash';

export type WorkerToRunner =
  | { type: 'ready' }
  | { type: 'result'; index: number; outcome: CaseOutcome; code?: string; notes?: number; error?: string; ms: number; rssMb: number };

if (!process.send) throw new Error('case-worker.ts must be started with fork()');
const send = (message: WorkerToRunner): void => {
  process.send!(message);
};

let limits: UploadLimits | undefined;
let tokenizer: Awaited<ReturnType<typeof loadSeedTokenizer>> | undefined;

// The runner is gone (killed, crashed): nobody will read our answers.
process.on('disconnect', () => process.exit(0));
process.on('message', (message: RunnerToWorker) => {
  void handle(message);
});

async function handle(message: RunnerToWorker): Promise<void> {
  if (message.type === 'init') {
    limits = message.limits;
    tokenizer = await loadSeedTokenizer(message.modelDir);
    send({ type: 'ready' });
    return;
  }
  const start = performance.now();
  const done = (rest: Omit<Extract<WorkerToRunner, { type: 'result' }>, 'type' | 'index' | 'ms' | 'rssMb'>): void =>
    send({ type: 'result', index: message.index, ms: performance.now() - start, rssMb: process.memoryUsage().rss / (1024 * 1024), ...rest });
  try {
    const accepted = await runUploadCase(message, limits!, tokenizer!);
    done({ outcome: 'ok', notes: accepted.notes });
  } catch (error) {
    if (isMotifError(error)) done({ outcome: 'typed', code: error.code });
    else done({ outcome: 'crash', error: error instanceof Error ? `${error.name}: ${error.message}\n${(error.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(error) });
  }
}
