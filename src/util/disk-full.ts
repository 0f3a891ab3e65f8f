/**
 * A full disk (or a full quota) is an operator's problem, not a bug: it becomes the typed DISK_FULL
 * error with words for the user, never an incident. Node reports it as `code: 'ENOSPC'`/`'EDQUOT'`
 * (possibly wrapped as a `cause`); ffmpeg only says it in its stderr, which ends up in the message.
 */
import { statfs } from 'node:fs/promises';
import { MotifError, isMotifError } from '../errors.js';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const FULL_TEXT = /no space left on device|disk quota exceeded/i;

/** True when `error`, or an error in its `cause` chain, says the disk is full. */
export function isDiskFull(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (isMotifError(e) && e.code === 'DISK_FULL') return true;
    if (typeof e === 'object' && FULL_CODES.has(String((e as { code?: unknown }).code))) return true;
    if (e instanceof Error && FULL_TEXT.test(e.message)) return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/** `error` as DISK_FULL with `userMessage` when it is a full disk; otherwise `error` unchanged. */
export function asDiskFull(error: unknown, userMessage: string): unknown {
  if (!isDiskFull(error)) return error;
  if (isMotifError(error) && error.code === 'DISK_FULL' && error.userMessage === userMessage) return error;
  // The detail is the code only: the system's message names a path, which is for no one's eyes.
  return new MotifError('DISK_FULL', userMessage, { cause: error, detail: 'ENOSPC' });
}

export const DISK_FULL_MESSAGE = "The server's disk is full, so nothing was saved. Tell the bot's operator, and try again once space is freed.";

/** Bytes an unprivileged writer may still use on the file system holding `dir`; undefined when unknown. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  const info = await statfs(dir).catch(() => undefined);
  return info ? Number(info.bavail) * Number(info.bsize) : undefined;
}
