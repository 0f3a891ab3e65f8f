/**
 * Runs a bench module again in a fresh Node process and reads its result: the last line it prints on
 * stdout, as JSON. Memory figures need this (a process that already ran other benches never gives
 * its memory back), and so do load figures (earlier benches' threads and caches slow this one).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * @param what names the bench in errors.
 * @param moduleUrl the bench module (`import.meta.url`); `args` tell it to measure and print.
 * @throws when the child exits non-zero or prints no JSON last line.
 */
export function runInChild<T>(what: string, moduleUrl: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(moduleUrl), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${what} child exited ${String(code)}: ${out.slice(-500)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${what} child printed no JSON result: ${out.slice(-500)}`));
      }
    });
  });
}
