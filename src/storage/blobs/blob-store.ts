/**
 * Files by key, not by path: composed results (mid, mp3, png, ogg), corpus uploads and guild models
 * go through this one interface, and records hold keys, never absolute paths. The process that
 * writes a file (a worker) and the one that reads it (the bot) then need no shared disk.
 *
 * Implementations: the local data folder (default, BLOB_URL unset) and PostgreSQL (BLOB_URL=postgres://…).
 * The operations are the ones S3-compatible storage offers (PutObject, GetObject, HeadObject,
 * ListObjectsV2 by prefix, DeleteObjects), so an S3 implementation is one more class.
 *
 * Keys are `/`-separated segments of letters, digits, `.`, `_` and `-` (never `.` or `..`), e.g.
 * `guilds/123/results/ab12cd34/motif-ab12cd34.mid`: the same string is a safe relative path, a
 * PostgreSQL text key and an S3 object key.
 */
import { MotifError } from '../../errors.js';

export interface BlobInfo {
  key: string;
  bytes: number;
}

export interface PutFileOptions {
  /** The source file may be consumed (renamed away or deleted) once stored. */
  move?: boolean;
}

export interface BlobStore {
  /** 'local' or 'postgres' (logged at start-up, shown to operators). */
  readonly backend: string;
  /** Stores `body` under `key`, replacing what was there; readers never see half a file. */
  put(key: string, body: Uint8Array): Promise<void>;
  /**
   * Stores a local file's bytes under `key` (same contract as put). With `move`, the caller is done
   * with the file: a store on the same disk renames it instead of copying (no second copy of a
   * 4 MB model on a nearly full disk); other stores upload it and delete it.
   */
  putFile(key: string, path: string, opts?: PutFileOptions): Promise<void>;
  /** @throws MotifError NOT_FOUND when there is no such blob. */
  get(key: string): Promise<Buffer>;
  /** Writes the blob to `path` (atomically: a temporary name, then rename). @throws MotifError NOT_FOUND. */
  getToFile(key: string, path: string): Promise<void>;
  /** Size of one blob, or undefined when absent. */
  stat(key: string): Promise<BlobInfo | undefined>;
  /**
   * Every blob whose key starts with `prefix` (a key prefix ending in `/` lists a "folder"; '' lists
   * all), sorted by key. A prefix matches literally: `guilds/1_/` never matches `guilds/12/`.
   */
  list(prefix: string): Promise<BlobInfo[]>;
  /** Removes one blob; absent is fine. */
  delete(key: string): Promise<void>;
  /** Removes every blob under `prefix` (which must end in `/`); returns how many went. */
  deletePrefix(prefix: string): Promise<number>;
  close(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9._-]{1,128}$/;
/** Longest key accepted: S3 allows 1,024 bytes; ours stay far shorter. */
export const MAX_BLOB_KEY_LENGTH = 512;

/** True for a key every implementation can store and that can never escape a folder. */
export function isBlobKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_BLOB_KEY_LENGTH) return false;
  return key.split('/').every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

/** @throws Error for a key that is not a blob key (a bug in the caller: keys are built, never typed by users). */
export function assertBlobKey(key: string): void {
  if (!isBlobKey(key)) throw new Error(`Not a blob key: ${JSON.stringify(key.slice(0, 200))}`);
}

const PARTIAL_SEGMENT = /^[A-Za-z0-9._-]{0,128}$/;

/**
 * @throws Error for a list prefix that is not '' or the start of a blob key (every segment but the
 *   last whole, the last a possibly empty start of a segment).
 */
export function assertListPrefix(prefix: string): void {
  if (prefix === '') return;
  const segments = prefix.split('/');
  const last = segments.pop() ?? '';
  const ok =
    prefix.length <= MAX_BLOB_KEY_LENGTH &&
    PARTIAL_SEGMENT.test(last) &&
    (segments.length === 0 || isBlobKey(segments.join('/')));
  if (!ok) throw new Error(`Not a blob list prefix: ${JSON.stringify(prefix.slice(0, 200))}`);
}

/** True for a key followed by `/` (a "folder" of blobs, e.g. a model version). */
export function isBlobPrefix(value: string): boolean {
  return value.endsWith('/') && isBlobKey(value.slice(0, -1));
}

/** @throws Error for a prefix that is not a key followed by `/`. */
export function assertBlobPrefix(prefix: string): void {
  if (!prefix.endsWith('/') || !isBlobKey(prefix.slice(0, -1))) throw new Error(`Not a blob prefix: ${JSON.stringify(prefix.slice(0, 200))}`);
}

/** The MotifError NOT_FOUND every store throws for a missing blob. */
export function blobNotFound(key: string): MotifError {
  return new MotifError('NOT_FOUND', 'That file is no longer stored; run the command again.', { detail: `no blob ${key}` });
}
