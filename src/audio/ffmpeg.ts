/**
 * Where the ffmpeg binary comes from, and how its failures reach users.
 *
 * The binary ships inside the `@ffmpeg-installer/ffmpeg` npm package (per-platform optional
 * dependency), so rendering works offline on a fresh `npm install`. `src/config.ts` reads
 * `FFMPEG_PATH` and passes it in as `explicitPath`; nothing here reads the environment.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MotifError } from '../errors.js';

const require = createRequire(import.meta.url);

let cachedDefaultPath: string | undefined;

/**
 * Path of the ffmpeg binary bundled with `@ffmpeg-installer/ffmpeg`.
 * @throws MotifError FFMPEG_FAILED when the package has no binary for this platform.
 */
export function defaultFfmpegPath(): string {
  if (cachedDefaultPath !== undefined) return cachedDefaultPath;
  let path: string;
  try {
    path = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch (error) {
    throw new MotifError('FFMPEG_FAILED', 'The audio tool (ffmpeg) is not installed.', {
      cause: error,
      detail: 'no @ffmpeg-installer binary for this platform; set FFMPEG_PATH',
    });
  }
  cachedDefaultPath = path;
  return path;
}

/**
 * The ffmpeg to run: `explicitPath` when given (e.g. from FFMPEG_PATH), else the bundled one.
 * @throws MotifError FFMPEG_FAILED when the chosen file does not exist.
 */
export function resolveFfmpegPath(explicitPath?: string): string {
  const path = explicitPath && explicitPath.length > 0 ? explicitPath : defaultFfmpegPath();
  if (!existsSync(path)) {
    throw new MotifError('FFMPEG_FAILED', 'The audio tool (ffmpeg) could not be found.', { detail: path });
  }
  return path;
}

/**
 * Wraps an ffmpeg failure in the user-facing error. `stderr` is kept (last lines only) in the
 * technical detail for logs, never in the user message.
 */
export function ffmpegFailed(what: string, cause: unknown, stderr?: string): MotifError {
  const tail = (stderr ?? '').trim().split('\n').slice(-3).join(' | ');
  const detail = [cause instanceof Error ? cause.message : String(cause), tail].filter((s) => s.length > 0).join(' — ');
  return new MotifError('FFMPEG_FAILED', `The audio tool (ffmpeg) failed while ${what}. Please try again.`, {
    cause,
    detail,
  });
}
