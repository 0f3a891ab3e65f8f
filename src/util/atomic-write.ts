import { rename, rm, writeFile } from 'node:fs/promises';
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
