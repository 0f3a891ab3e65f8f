/**
 * What every long-running entry point (`npm start`, `npm run start:sharded`, `npm run worker`) does the
 * same way: an expected start-up problem is one line on stderr and exit code 1, and stop signals are
 * counted so that a second one does not cut the grace period short and a third one does.
 */
import { isMotifError } from '../errors.js';

/** One line on stderr, exit code 1. */
export function exitWithMessage(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** Runs `load` (settings parsing); a failure is its user message on one line, exit code 1. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    exitWithMessage(isMotifError(error) ? error.userMessage : String(error));
  }
}

/**
 * Installs SIGTERM and SIGINT handlers. The first signal calls `onFirst` (a graceful stop); a second
 * one (an impatient operator, or npm relaying the terminal's Ctrl-C twice) is ignored; a third calls
 * `onThird` and exits 130.
 * @returns the handler, for other reasons to stop the same way (e.g. a sharding manager gone).
 */
export function onStopSignals(opts: { onFirst: (reason: string) => void; onThird?: () => void }): (reason: string) => void {
  let signals = 0;
  const handler = (reason: string): void => {
    signals++;
    if (signals >= 3) {
      opts.onThird?.();
      process.exit(130);
    }
    if (signals === 1) opts.onFirst(reason);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return handler;
}
