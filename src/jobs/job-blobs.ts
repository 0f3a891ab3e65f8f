/**
 * How a job finds the blob store. A processor runs in a worker thread or process (possibly on another
 * machine, behind BullMQ) and cannot be handed an open connection, so job data carries these plain
 * settings, the way it carries the other operator settings (ComposeOperatorSettings). The processor
 * opens the store once per worker and keeps it for later jobs.
 *
 * A password never travels in job data that is stored in Redis: when the queue is BullMQ, the URL
 * goes without it, and workers authenticate the way every PostgreSQL client can (PGPASSWORD or
 * ~/.pgpass on the worker's machine, which `pg` reads). The in-process queue hands data to its own
 * threads only, so there the URL is kept whole.
 */
import { openBlobStore } from '../storage/blobs/index.js';
import type { BlobStore } from '../storage/blobs/blob-store.js';

export interface JobBlobSettings {
  /** BLOB_URL (postgresql://…), without a password when jobs travel through Redis; unset = files under dataDir. */
  url?: string;
  /** DATA_DIR: the local store's root (the worker shares this disk when `url` is unset). */
  dataDir: string;
  /** PostgreSQL schema of the blobs table (default `motif`; tests use one of their own). */
  schema?: string;
  /** Guild models a worker keeps loaded and cached (MODEL_CACHE_SIZE). */
  modelCacheSize?: number;
}

/**
 * The settings to put in job data.
 * @param opts.queueUrl set when jobs are stored in Redis (then the URL's password is dropped).
 */
export function jobBlobSettings(opts: { blobUrl?: string; schema?: string; dataDir: string; queueUrl?: string; modelCacheSize?: number }): JobBlobSettings {
  return {
    ...(opts.blobUrl ? { url: opts.queueUrl ? withoutPassword(opts.blobUrl) : opts.blobUrl } : {}),
    ...(opts.blobUrl && opts.schema ? { schema: opts.schema } : {}),
    dataDir: opts.dataDir,
    ...(opts.modelCacheSize !== undefined ? { modelCacheSize: opts.modelCacheSize } : {}),
  };
}

/** `url` with any password removed (user, host, port and database kept). */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

/** True when a URL in job data carries a password (job-schemas.ts refuses such data from Redis). */
export function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

const stores = new Map<string, Promise<BlobStore>>();

/**
 * The worker's store for these settings: opened on first use, then shared by every job in this
 * worker (a connection pool per job would exhaust PostgreSQL's connections). A failed open is not
 * kept, so the next job tries again.
 * @throws MotifError STORAGE_UNAVAILABLE when PostgreSQL cannot be reached.
 */
export function jobBlobStore(settings: JobBlobSettings): Promise<BlobStore> {
  const id = blobSourceId(settings);
  let pending = stores.get(id);
  if (!pending) {
    pending = openBlobStore(settings.url, { dataDir: settings.dataDir, schema: settings.schema });
    stores.set(id, pending);
    pending.catch(() => stores.delete(id));
  }
  return pending;
}

/** Names the store these settings open, without its password (one model cache folder per store). */
export function blobSourceId(settings: JobBlobSettings): string {
  return settings.url ? `${withoutPassword(settings.url)}#${settings.schema ?? ''}` : `local:${settings.dataDir}`;
}
