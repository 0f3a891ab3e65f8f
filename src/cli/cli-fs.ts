/**
 * Output folders for the CLIs, checked before any work starts so a bad `--out` costs one line, not a
 * stack trace after minutes of work.
 *
 * Why not `mkdir(path, { recursive: true })`: on Node ≤ 24 it spins forever at 100% CPU when the
 * parent refuses the new entry with ENOENT (e.g. `--out /proc/x`); creating one level at a time
 * fails cleanly on every Node.
 */
import { accessSync, constants, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './define-cli.js';

/** An output folder made ready by prepareOutDir. */
export interface OutDir {
  /** Absolute path. */
  path: string;
  /** After a failed run: removes the folders this run created, if they are still empty. */
  discardIfEmpty(): void;
}

/**
 * Makes sure `path` is a writable folder, creating it (and missing parents) when absent.
 * @throws UsageError naming `flag` when the path is a file, cannot be created or is not writable.
 */
export function prepareOutDir(flag: string, path: string): OutDir {
  const absolute = resolve(path);
  const missing: string[] = [];
  let existing = absolute;
  while (!exists(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (!isDirectory(existing)) {
    throw new UsageError(
      existing === absolute ? `${flag} must be a folder, but ${absolute} is a file` : `${flag} ${absolute}: ${existing} is a file, not a folder`,
    );
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      throw new UsageError(`${flag} ${absolute}: cannot create the folder (${describeFsError(error)})`);
    }
  }
  try {
    accessSync(absolute, constants.W_OK);
  } catch (error) {
    throw new UsageError(`${flag} ${absolute}: cannot write there (${describeFsError(error)})`);
  }
  return {
    path: absolute,
    discardIfEmpty: () => {
      // Deepest first; rmdir refuses a folder that has anything in it, which is what we want.
      for (const dir of [...missing].reverse()) {
        try {
          rmdirSync(dir);
        } catch {
          return;
        }
      }
    },
  };
}

/** True when `path` is a folder with at least one entry. */
export function isNonEmptyDir(path: string): boolean {
  return isDirectory(path) && readdirSync(path).length > 0;
}

export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'already exists',
  EISDIR: 'is a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
};

/** A filesystem error in plain words plus its code, e.g. "permission denied, EACCES". */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && FS_REASONS[code]) return `${FS_REASONS[code]}, ${code}`;
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** True for Node's filesystem errors (they carry an errno code and a syscall). */
export function isFsError(error: unknown): error is NodeJS.ErrnoException {
  const e = error as NodeJS.ErrnoException | undefined;
  return e instanceof Error && typeof e.code === 'string' && typeof e.syscall === 'string';
}
