/**
 * Blobs as files under one root folder (DATA_DIR by default): key `guilds/1/corpus/ab.mid` is the
 * file `<root>/guilds/1/corpus/ab.mid`, so the layout of existing data folders (guild-paths.ts) is
 * the key space and old folders keep working.
 *
 * Every write goes to a temporary name in the target's folder and is renamed into place, so a
 * reader sees the old file or the new one, never half of one. Temporary names contain `~`, which no
 * key segment may, so listing never shows them.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { asDiskFull, DISK_FULL_MESSAGE } from '../../util/disk-full.js';
import {
  assertBlobKey,
  assertBlobPrefix,
  assertListPrefix,
  blobNotFound,
  isBlobKey,
  type BlobInfo,
  type BlobStore,
  type PutFileOptions,
} from './blob-store.js';

export class LocalBlobStore implements BlobStore {
  readonly backend = 'local';

  /** @param root absolute folder holding the blobs (created on first write). */
  constructor(readonly root: string) {}

  /**
   * The file (or, for a prefix ending in `/`, the folder) a key maps to. Only for code on the
   * machine of this store: callers that must also work with other stores use the BlobStore methods.
   * @throws Error for a string that is not a blob key or prefix.
   */
  pathOf(keyOrPrefix: string): string {
    if (keyOrPrefix.endsWith('/')) assertBlobPrefix(keyOrPrefix);
    return this.fileOf(keyOrPrefix.endsWith('/') ? keyOrPrefix.slice(0, -1) : keyOrPrefix);
  }

  /** The file of a key (never of a prefix: `a/` is not a blob). @throws Error for a non-key. */
  private fileOf(key: string): string {
    assertBlobKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** @throws MotifError DISK_FULL (nothing changed). */
  async put(key: string, body: Uint8Array): Promise<void> {
    await this.replace(key, (temp) => writeFile(temp, body));
  }

  /** @throws MotifError DISK_FULL (nothing changed); the source file's own read error. */
  async putFile(key: string, path: string, opts: PutFileOptions = {}): Promise<void> {
    if (opts.move) {
      const target = this.fileOf(key);
      await mkdir(dirname(target), { recursive: true });
      try {
        // Same disk: one rename, no second copy.
        await rename(path, target);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw asDiskFull(error, DISK_FULL_MESSAGE);
      }
      await this.replace(key, (temp) => copyFile(path, temp));
      await unlink(path);
      return;
    }
    await this.replace(key, (temp) => copyFile(path, temp));
  }

  /** @throws MotifError NOT_FOUND. */
  async get(key: string): Promise<Buffer> {
    const path = this.fileOf(key);
    try {
      return await readFile(path);
    } catch (error) {
      throw missingAs(error, key);
    }
  }

  /** @throws MotifError NOT_FOUND, DISK_FULL (the target is left as it was). */
  async getToFile(key: string, path: string): Promise<void> {
    const source = this.fileOf(key);
    const temp = tempNameFor(path);
    try {
      await mkdir(dirname(path), { recursive: true });
      await copyFile(source, temp);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw missingAs(asDiskFull(error, DISK_FULL_MESSAGE), key);
    }
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    const info = await stat(this.fileOf(key)).catch(() => undefined);
    return info?.isFile() ? { key, bytes: info.size } : undefined;
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertListPrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    const dirKey = prefix.slice(0, cut + 1);
    const namePrefix = prefix.slice(cut + 1);
    const found: BlobInfo[] = [];
    await this.walk(dirKey, namePrefix, found);
    // Code-point order, as PostgreSQL's "C" collation and S3 list: every store agrees.
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await rm(this.fileOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertBlobPrefix(prefix);
    const gone = (await this.list(prefix)).length;
    // The folder goes too (with any temporary file of a writer that lost the race): an emptied
    // version folder left behind would look like a model to people browsing DATA_DIR.
    await rm(this.pathOf(prefix), { recursive: true, force: true });
    return gone;
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  /** Writes through `fill(temp)` then renames onto the key's file; the temp file never outlives a failure. */
  private async replace(key: string, fill: (temp: string) => Promise<void>): Promise<void> {
    const target = this.fileOf(key);
    const temp = tempNameFor(target);
    try {
      await mkdir(dirname(target), { recursive: true });
      await fill(temp);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw asDiskFull(error, DISK_FULL_MESSAGE);
    }
  }

  /** Adds every blob under the folder `dirKey` whose first name starts with `namePrefix`. */
  private async walk(dirKey: string, namePrefix: string, found: BlobInfo[]): Promise<void> {
    const dir = dirKey === '' ? this.root : this.pathOf(dirKey);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix)) continue;
      const key = `${dirKey}${entry.name}`;
      // Temporary files and anything else no key can name (a stray file, `lost+found` is fine) are not blobs.
      if (!isBlobKey(key)) continue;
      if (entry.isDirectory()) await this.walk(`${key}/`, '', found);
      else if (entry.isFile()) {
        const info = await stat(join(dir, entry.name)).catch(() => undefined);
        if (info) found.push({ key, bytes: info.size });
      }
    }
  }
}

/** A name beside `path` that no key can name (`~`), so a crash mid-write leaves nothing listable. */
function tempNameFor(path: string): string {
  return `${path}.~tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function missingAs(error: unknown, key: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' ? blobNotFound(key) : error;
}
