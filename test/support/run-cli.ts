/** Runs one of our CLIs (src/cli/*.ts) as a real child process, the way `npm run <name>` does. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * @param env extra environment variables on top of this process's.
 * @param opts.killAfterMs a safety net for a CLI that would hang: the child is killed (code null)
 *   so the test fails instead of leaving a spinning process behind.
 */
export function runCli(name: string, args: string[], env: Record<string, string> = {}, opts: { killAfterMs?: number; cwd?: string } = {}): Promise<CliRun> {
  const entry = fileURLToPath(new URL(`../../src/cli/${name}.ts`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    const timer = opts.killAfterMs ? setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs) : undefined;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
