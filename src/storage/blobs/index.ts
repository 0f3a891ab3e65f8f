/**
 * Opens the blob store BLOB_URL names: unset → files under DATA_DIR (the layout of every existing
 * data folder); postgres:// or postgresql:// → PostgreSQL (no disk shared between bot and workers).
 * An S3-compatible store would be one more scheme here and one more class beside these.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { MotifError } from '../../errors.js';
import { isBlobKey, type BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';
import { PostgresBlobStore } from './postgres-blob-store.js';

export interface OpenBlobStoreOptions {
  /** DATA_DIR: the local store's root. */
  dataDir: string;
  /** PostgreSQL schema of the blobs table (default `motif`). */
  schema?: string;
  /** A dropped idle connection (logged; the next call reconnects). */
  onError?: (error: unknown) => void;
}

/** URL schemes BLOB_URL accepts (config.ts validates against this). */
export const BLOB_URL_SCHEME = /^postgres(ql)?:\/\//;

/**
 * @throws MotifError STORAGE_UNAVAILABLE when PostgreSQL cannot be reached or its table not created;
 *   CONFIG_INVALID for a scheme no store speaks.
 */
export async function openBlobStore(url: string | undefined, opts: OpenBlobStoreOptions): Promise<BlobStore> {
  if (url === undefined || url === '') return new LocalBlobStore(resolve(opts.dataDir));
  if (BLOB_URL_SCHEME.test(url)) return PostgresBlobStore.open(url, { schema: opts.schema, onError: opts.onError });
  throw new MotifError('CONFIG_INVALID', 'BLOB_URL must be empty (files under DATA_DIR) or a postgres:// / postgresql:// URL.');
}

/**
 * The key of a path that older records stored (absolute, inside DATA_DIR): records now hold keys,
 * and old ones are converted when read.
 * @returns undefined for a path outside DATA_DIR or one no key can name (such a record is not trusted).
 */
export function keyFromDataPath(dataDir: string, path: string): string | undefined {
  if (!isAbsolute(path)) return undefined;
  const rel = relative(resolve(dataDir), resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  const key = rel.split(sep).join('/');
  return isBlobKey(key) ? key : undefined;
}

export { LocalBlobStore } from './local-blob-store.js';
export { PostgresBlobStore } from './postgres-blob-store.js';
export * from './blob-store.js';
