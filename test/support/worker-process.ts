/**
 * `npm run worker` as a real child process, for tests of several processes on one queue: started
 * with its own environment (its own data folder when asked), its log lines kept, stopped or killed
 * the way an operator or a crash would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  readonly pid: number;
  /** JSON log lines so far (stdout and stderr). */
  readonly lines: string[];
  /** Ids of the jobs this worker started ("job started" lines), of one kind when given. */
  startedJobs(kind?: string): string[];
  /** Resolves with the exit code (128 + n for a signal). */
  readonly exited: Promise<number>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then waits for the exit; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number>;
}

/**
 * Starts a worker and waits for its "worker ready" line.
 * @throws Error with its output when it exits first or is not ready within `readyTimeoutMs`.
 */
export async function startWorkerProcess(env: Record<string, string>, readyTimeoutMs = 120_000): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: ROOT,
    // Only what the test names, plus what Node needs and the run's TMPDIR (see run-tmpdir.ts): no
    // .env file, no inherited settings.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(process.env.TMPDIR && { TMPDIR: process.env.TMPDIR }), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  // A chunk may end mid-line: keep the tail until its newline arrives.
  const collector = (): ((chunk: Buffer) => void) => {
    let partial = '';
    return (chunk) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line.trim() !== ''));
    };
  };
  child.stdout?.on('data', collector());
  child.stderr?.on('data', collector());
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGTERM' ? 143 : 1))));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready within ${readyTimeoutMs} ms:\n${lines.join('\n')}`)), readyTimeoutMs);
    const check = (): void => {
      if (lines.some((line) => line.includes('"worker ready"'))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before it was ready:\n${lines.join('\n')}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    // Never leave a worker behind: one that did not get ready would go on taking the test's jobs.
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
  return {
    pid: child.pid ?? -1,
    lines,
    startedJobs: (kind) =>
      lines
        .filter((line) => line.includes('"job started"'))
        .map((line) => JSON.parse(line) as { jobId: string; kind: string })
        .filter((line) => kind === undefined || line.kind === kind)
        .map((line) => line.jobId),
    exited,
    kill: (signal) => child.kill(signal),
    stop: async (timeoutMs = 30_000) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
