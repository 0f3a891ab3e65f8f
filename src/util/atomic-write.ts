import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { asDiskFull, DISK_FULL_MESSAGE } from './disk-full.js';

/**
 * Writes to a temp name in the same folder and renames: readers never see a half-written file.
 * @throws MotifError DISK_FULL when the disk is full (the temp file is removed; nothing changed).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw asDiskFull(error, DISK_FULL_MESSAGE);
  }
}

/**
 * Replaces the folder `dir` whole: `fill` writes the new content into a sibling temp folder (created
 * empty), which is renamed over `dir` only when complete. On any failure the temp folder is removed
 * and whatever was at `dir` stays; the error is passed on for the caller to word.
 */
export async function replaceDirAtomic(dir: string, fill: (temp: string) => Promise<void>): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const stamp = `${process.pid}-${Date.now()}`;
  const temp = join(parent, `.${basename(dir)}.tmp-${stamp}`);
  const old = join(parent, `.${basename(dir)}.old-${stamp}`);
  try {
    await mkdir(temp, { recursive: true });
    await fill(temp);
    if (existsSync(dir)) await rename(dir, old);
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (!existsSync(dir) && existsSync(old)) await rename(old, dir);
    throw error;
  }
  // The new folder is in place: failing to clear the old one away is no failure of the replace.
  await rm(old, { recursive: true, force: true }).catch(() => undefined);
}
