/**
 * Shared CLI plumbing: a progress bar on stderr, the `--json` last-line result, and error → exit code.
 *
 * Conventions for every Motif CLI: human output goes to stderr; with `--json` the LAST line of
 * stdout is one JSON object (scripts read `tail -n 1`). Exit codes: 0 ok, 1 user error (a
 * MotifError or a filesystem error: one line), 2 bad option (see define-cli.ts), 3 bug (stack printed).
 */
import { isMotifError } from '../errors.js';
import { describeFsError, isFsError } from './cli-fs.js';

export interface ProgressBar {
  /** @param fraction 0–1 (clamped); `label` replaces the current stage text. */
  update(fraction: number, label?: string): void;
  /** Clears the bar's line (if it was ever drawn). Call once, before printing results. */
  finish(): void;
}

export interface ProgressBarOptions {
  /** Text after the percentage, e.g. "rendering". */
  label?: string;
  /** Draw at all; default: only when stdout is a terminal (piped/`--json` runs stay quiet). */
  enabled?: boolean;
  /** Stay hidden for work shorter than this, ms (default 2000): quick jobs don't flicker a bar. */
  showAfterMs?: number;
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WritableStream;
  /** Bar width in characters (default 28). */
  widthChars?: number;
}

const REDRAW_INTERVAL_MS = 100;

/** Creates a progress bar; safe to call update() often (redraws are throttled to ~10 Hz). */
export function createProgressBar(opts: ProgressBarOptions = {}): ProgressBar {
  const enabled = opts.enabled ?? Boolean(process.stdout.isTTY);
  const stream = opts.stream ?? process.stderr;
  const showAfterMs = opts.showAfterMs ?? 2000;
  const width = opts.widthChars ?? 28;
  const started = Date.now();
  let label = opts.label ?? '';
  let lastDraw = 0;
  let drawn = false;
  let finished = false;

  return {
    update(fraction: number, newLabel?: string): void {
      if (newLabel !== undefined) label = newLabel;
      if (!enabled || finished) return;
      const now = Date.now();
      if (now - started < showAfterMs || now - lastDraw < REDRAW_INTERVAL_MS) return;
      lastDraw = now;
      const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
      const filled = Math.round(f * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const seconds = ((now - started) / 1000).toFixed(1);
      stream.write(`\r\x1b[2K${bar} ${String(Math.round(f * 100)).padStart(3)}% ${label} ${seconds}s`);
      drawn = true;
    },
    finish(): void {
      if (finished) return;
      finished = true;
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}

/** Prints `result` as the final stdout line (one JSON object, no pretty-printing). */
export function writeJsonResult(result: object, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(`${JSON.stringify(result)}\n`);
}

/**
 * Prints an error for a CLI user and returns the exit code: 1 with the userMessage for a
 * MotifError, 1 with one line for a filesystem error (disk full, permission denied…), 3 with the
 * stack for anything else (a bug).
 */
export function reportCliError(error: unknown, stream: NodeJS.WritableStream = process.stderr): number {
  if (isMotifError(error)) {
    stream.write(`${error.userMessage}\n`);
    return 1;
  }
  if (isFsError(error)) {
    stream.write(`cannot ${error.syscall} ${error.path ?? ''}: ${describeFsError(error)}\n`);
    return 1;
  }
  stream.write(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 3;
}
