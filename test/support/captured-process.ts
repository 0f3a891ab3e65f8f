/**
 * A child process started from the project root with its stdout and stderr captured together: what
 * the e2e tests that start the bot as a real process (`npm start`, `src/bot/main.ts`, the sharded
 * entry) read its log lines and exit code from.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CapturedProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far, interleaved as it arrived. */
  output: () => string;
  /** Resolves with the exit code (null when killed by a signal) once the streams have closed. */
  exited: Promise<number | null>;
}

/** `env` is the whole environment (pass `{ ...process.env, ... }` to inherit). */
export function startCaptured(command: string, args: string[], env: NodeJS.ProcessEnv): CapturedProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
