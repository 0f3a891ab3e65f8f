/**
 * The models a compose worker has loaded, and the guild model versions it has fetched to its disk.
 *
 * A model reference is either a bundled model folder (an absolute path such as models/<name>,
 * shipped with the code, read in place and never evicted) or a guild model version, a blob prefix
 * such as `guilds/<g>/models/<version>/` (relative, ending in `/`).
 * A version is never changed once written (/train writes a new one), so the prefix is a cache key
 * that never goes stale: fetched once into a local folder, loaded once, reused by every later job.
 *
 * Both caches are bounded, because each /train adds a model: at most `maxLoaded` guild models in
 * memory (least recently used dropped and its tensors freed) and as many versions on disk (oldest
 * used removed). A dropped model is fetched and loaded again when a job asks for it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { MotifError } from '../errors.js';
import { disposeModel, loadModel, type LoadedModel } from '../ml/model-dir.js';
import { isBlobPrefix, type BlobStore } from '../storage/blobs/blob-store.js';
import { LocalBlobStore } from '../storage/blobs/local-blob-store.js';

export const DEFAULT_MODEL_CACHE_SIZE = 3;

export interface ModelCacheOptions {
  /** Guild models kept loaded, ≥ 1 (bundled models are kept besides them). */
  maxLoaded: number;
  /** Folder for fetched versions (default: a folder under os.tmpdir(), one per store). */
  cacheDir?: string;
  /** Loads a model folder (tests count calls; default loadModel). */
  load?: (dir: string) => Promise<LoadedModel>;
}

/** Where guild models come from. The store is opened only when one must be fetched (bundled models need none). */
export interface BlobSource {
  /** Names the store without secrets (e.g. its URL without password): one cache folder per store. */
  id: string;
  open(): Promise<BlobStore>;
}

export class ModelCache {
  private maxLoaded: number;
  private readonly load: (dir: string) => Promise<LoadedModel>;
  /** Insertion order is recency: a hit moves its entry to the end. */
  private readonly loaded = new Map<string, Promise<LoadedModel>>();

  constructor(private readonly opts: ModelCacheOptions) {
    this.maxLoaded = Math.max(1, opts.maxLoaded);
    this.load = opts.load ?? loadModel;
  }

  /** A new bound (MODEL_CACHE_SIZE from the job's settings); applies from the next load. */
  setMaxLoaded(maxLoaded: number): void {
    this.maxLoaded = Math.max(1, maxLoaded);
  }

  /**
   * The loaded model for `ref`, loading (and for a guild model, fetching) it when needed. A failed
   * load is not kept, so a repaired folder or a reachable store works on the next try.
   * @throws MotifError MODEL_NOT_FOUND / MODEL_CORRUPT / MODEL_MISMATCH, STORAGE_UNAVAILABLE.
   */
  get(ref: string, source?: BlobSource): Promise<LoadedModel> {
    const id = isBlobPrefix(ref) ? ref : resolve(ref);
    const hit = this.loaded.get(id);
    if (hit) {
      this.loaded.delete(id);
      this.loaded.set(id, hit);
      return hit;
    }
    const pending = this.resolveDir(ref, source).then((dir) => this.load(dir));
    this.loaded.set(id, pending);
    pending.catch(() => {
      if (this.loaded.get(id) === pending) this.loaded.delete(id);
    });
    this.evictLoaded();
    return pending;
  }

  /** Drops a loaded model and frees its tensors (it is loaded again if asked for). */
  forget(ref: string): void {
    const id = isBlobPrefix(ref) ? ref : resolve(ref);
    const pending = this.loaded.get(id);
    this.loaded.delete(id);
    void pending?.then(disposeModel).catch(() => undefined);
  }

  /** References of the models loaded or loading, least recently used first. */
  loadedRefs(): string[] {
    return [...this.loaded.keys()];
  }

  private evictLoaded(): void {
    const guildModels = [...this.loaded.keys()].filter(isBlobPrefix);
    // The newest entry is the one just asked for, never evicted.
    for (const id of guildModels.slice(0, Math.max(0, guildModels.length - this.maxLoaded))) this.forget(id);
  }

  /** The local folder holding `ref`'s files. */
  private async resolveDir(ref: string, source: BlobSource | undefined): Promise<string> {
    if (!isBlobPrefix(ref)) return resolve(ref);
    if (!source) throw new Error(`guild model ${ref} asked for without a blob store`);
    const store = await source.open();
    // On this machine's disk already (the default, BLOB_URL unset): read in place, as before blobs.
    if (store instanceof LocalBlobStore) return store.pathOf(ref);
    const cacheDir = this.opts.cacheDir ?? defaultCacheDir(source.id);
    return fetchVersion(store, ref, cacheDir, this.maxLoaded);
  }
}

/**
 * The folder holding version `prefix` under `cacheDir`, fetched when absent; afterwards at most
 * `maxOnDisk` versions stay (the least recently used go).
 * @throws MotifError MODEL_NOT_FOUND when the store has no such version; STORAGE_UNAVAILABLE, DISK_FULL.
 */
export async function fetchVersion(store: BlobStore, prefix: string, cacheDir: string, maxOnDisk: number): Promise<string> {
  // Flat, one folder per version: listing the cache folder is listing the versions.
  const dir = join(cacheDir, createHash('sha256').update(prefix).digest('hex').slice(0, 24));
  const now = new Date();
  if (await isDir(dir)) {
    // Its time is its recency for eviction.
    await utimes(dir, now, now).catch(() => undefined);
    return dir;
  }
  const blobs = await store.list(prefix);
  if (blobs.length === 0) {
    throw new MotifError('MODEL_NOT_FOUND', "This server's model is no longer stored. Train it again with /train start, or switch back with /model use default.", {
      detail: `no blobs under ${prefix}`,
    });
  }
  // Fetched beside its final place and renamed: a crash mid-fetch never leaves a folder that looks whole.
  const staging = `${dir}~staging-${randomBytes(4).toString('hex')}`;
  try {
    for (const blob of blobs) {
      const target = join(staging, ...blob.key.slice(prefix.length).split('/'));
      await mkdir(dirname(target), { recursive: true });
      await store.getToFile(blob.key, target);
    }
    await rename(staging, dir).catch(async (error: unknown) => {
      // Another worker on this machine fetched it first: theirs is as good as ours.
      if (!(await isDir(dir))) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await utimes(dir, now, now).catch(() => undefined);
  await evictVersions(cacheDir, maxOnDisk, dir);
  return dir;
}

/** Removes the least recently used version folders beyond `keepCount`, never `current`. */
async function evictVersions(cacheDir: string, keepCount: number, current: string): Promise<void> {
  const versions: { dir: string; usedMs: number }[] = [];
  for (const name of await readdir(cacheDir).catch(() => [] as string[])) {
    if (name.includes('~')) continue; // another worker's fetch in progress
    const dir = join(cacheDir, name);
    const info = await stat(dir).catch(() => undefined);
    if (info?.isDirectory()) versions.push({ dir, usedMs: info.mtimeMs });
  }
  const others = versions.filter((v) => v.dir !== current).sort((a, b) => b.usedMs - a.usedMs);
  for (const old of others.slice(Math.max(0, keepCount - 1))) await rm(old.dir, { recursive: true, force: true });
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** One folder per store, so two deployments on one machine never mix versions. */
function defaultCacheDir(sourceId: string): string {
  return join(tmpdir(), 'motif-model-cache', createHash('sha256').update(sourceId).digest('hex').slice(0, 12));
}
