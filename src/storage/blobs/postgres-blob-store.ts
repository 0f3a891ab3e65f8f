/**
 * Blobs in PostgreSQL, for a bot and workers that share no disk (BLOB_URL=postgres://…).
 *
 * Why PostgreSQL and not Redis, the other engine on this machine: Redis here runs with no
 * persistence (`--save "" --appendonly no`) and is the job queue's memory; results, corpus uploads
 * and guild models are files of kilobytes to ~50 MB that must survive a restart and must not
 * compete with the queue for RAM. PostgreSQL keeps them durably on disk, replaces a row in one
 * transaction (a reader sees the old file or the new one, never half), and backs up with the
 * operator's usual pg_dump.
 *
 * One table `<schema>.blobs(key, bytes, size, updated_at)`, created if absent when the store
 * opens. Keys use the "C" collation, so a folder is a key range (`prefix` ≤ key < `prefix~`, since
 * `~` sorts after every character a key may hold): listing needs no LIKE and no escaping of `_`/`%`,
 * and uses the primary key's index. A blob is held in memory once while it is read or written,
 * which is fine for the sizes Motif stores (checked: at most MAX_POSTGRES_BLOB_BYTES).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import pg from 'pg';
import { MotifError } from '../../errors.js';
import { asDiskFull, DISK_FULL_MESSAGE } from '../../util/disk-full.js';
import {
  assertBlobKey,
  assertBlobPrefix,
  assertListPrefix,
  blobNotFound,
  type BlobInfo,
  type BlobStore,
  type PutFileOptions,
} from './blob-store.js';

/** Largest blob accepted, bytes: PostgreSQL's bytea allows 1 GB, but each one is held in memory. */
export const MAX_POSTGRES_BLOB_BYTES = 64 * 1024 * 1024;
export const DEFAULT_BLOB_SCHEMA = 'motif';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Sorts after every character of a key (see the file comment). */
const AFTER_ANY_KEY_CHAR = '~';

export interface PostgresBlobStoreOptions {
  /** Schema of the `blobs` table (lower-case letters, digits, `_`); default `motif`. */
  schema?: string;
  /** Connections kept open; default 4 (a few blobs move at once, each a large single statement). */
  maxConnections?: number;
  /** A connection that dropped while idle (the pool replaces it on next use). */
  onError?: (error: unknown) => void;
}

export const STORAGE_UNAVAILABLE_MESSAGE =
  "The bot cannot reach its file storage right now, so nothing was saved or read. Try again in a moment, and tell the bot's operator if it keeps happening.";

export class PostgresBlobStore implements BlobStore {
  readonly backend = 'postgres';
  private readonly table: string;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly where: string,
    schema: string,
  ) {
    this.table = `"${schema}".blobs`;
  }

  /**
   * Connects, creates the schema and table when absent, and checks they answer.
   * @param url postgres:// or postgresql:// URL (a password may come from it, PGPASSWORD or ~/.pgpass).
   * @throws MotifError STORAGE_UNAVAILABLE naming the server (not the password) when it cannot be used;
   *   CONFIG_INVALID for a bad schema name.
   */
  static async open(url: string, opts: PostgresBlobStoreOptions = {}): Promise<PostgresBlobStore> {
    const schema = opts.schema ?? DEFAULT_BLOB_SCHEMA;
    if (!SCHEMA_NAME.test(schema)) {
      throw new MotifError('CONFIG_INVALID', `Blob store schema ${JSON.stringify(schema.slice(0, 80))} must be lower-case letters, digits and "_".`);
    }
    const where = describeServer(url);
    const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 4, connectionTimeoutMillis: 10_000 });
    // Without a listener an idle connection that drops would crash the process.
    pool.on('error', (error) => opts.onError?.(error));
    const store = new PostgresBlobStore(pool, where, schema);
    try {
      const client = await pool.connect().catch((error: unknown) => {
        throw unavailable(error, where);
      });
      try {
        // One connection for the transaction (pool.query may use a different one per statement).
        await client.query('BEGIN');
        // Two processes opening at once would race on CREATE … IF NOT EXISTS (a unique violation in
        // the catalog): one lock per schema name serializes them.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`motif-blobs:${schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${store.table} (
             key text COLLATE "C" PRIMARY KEY,
             bytes bytea NOT NULL,
             size integer NOT NULL,
             updated_at timestamptz NOT NULL DEFAULT now()
           )`,
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw unavailable(error, where);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return store;
  }

  /** @throws MotifError STORAGE_UNAVAILABLE; Error for a blob over MAX_POSTGRES_BLOB_BYTES. */
  async put(key: string, body: Uint8Array): Promise<void> {
    assertBlobKey(key);
    if (body.byteLength > MAX_POSTGRES_BLOB_BYTES) throw new Error(`blob ${key} is ${body.byteLength} bytes, over ${MAX_POSTGRES_BLOB_BYTES}`);
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // One statement: the row changes in one transaction, so a reader gets the old bytes or the new.
    await this.query(
      `INSERT INTO ${this.table} (key, bytes, size, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (key) DO UPDATE SET bytes = EXCLUDED.bytes, size = EXCLUDED.size, updated_at = EXCLUDED.updated_at`,
      [key, bytes, bytes.byteLength],
    );
  }

  async putFile(key: string, path: string, opts: PutFileOptions = {}): Promise<void> {
    await this.put(key, await readFile(path));
    if (opts.move) await unlink(path);
  }

  /** @throws MotifError NOT_FOUND, STORAGE_UNAVAILABLE. */
  async get(key: string): Promise<Buffer> {
    assertBlobKey(key);
    const result = await this.query<{ bytes: Buffer }>(`SELECT bytes FROM ${this.table} WHERE key = $1`, [key]);
    const row = result.rows[0];
    if (!row) throw blobNotFound(key);
    return row.bytes;
  }

  /** @throws MotifError NOT_FOUND, STORAGE_UNAVAILABLE, DISK_FULL (the target is left as it was). */
  async getToFile(key: string, path: string): Promise<void> {
    const bytes = await this.get(key);
    const temp = `${path}.~tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw asDiskFull(error, DISK_FULL_MESSAGE);
    }
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    assertBlobKey(key);
    const result = await this.query<{ size: number }>(`SELECT size FROM ${this.table} WHERE key = $1`, [key]);
    const row = result.rows[0];
    return row ? { key, bytes: row.size } : undefined;
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertListPrefix(prefix);
    const result = await this.query<{ key: string; size: number }>(
      `SELECT key, size FROM ${this.table} WHERE key >= $1 AND key < $2 ORDER BY key`,
      [prefix, prefix + AFTER_ANY_KEY_CHAR],
    );
    return result.rows.map((row) => ({ key: row.key, bytes: row.size }));
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    await this.query(`DELETE FROM ${this.table} WHERE key = $1`, [key]);
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertBlobPrefix(prefix);
    const result = await this.query(`DELETE FROM ${this.table} WHERE key >= $1 AND key < $2`, [prefix, prefix + AFTER_ANY_KEY_CHAR]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** One statement; a connection failure becomes STORAGE_UNAVAILABLE naming the server for the operator. */
  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, values);
    } catch (error) {
      throw unavailable(error, this.where);
    }
  }
}

/** Errors of the connection (not of a statement) become STORAGE_UNAVAILABLE; SQL errors stay bugs. */
function unavailable(error: unknown, where: string): unknown {
  const code = String((error as { code?: unknown }).code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  // Node socket errors, libpq-style connection classes (08xxx), auth (28xxx), missing database
  // (3D000), shutting down (57P0x), too many connections (53300), and pg's own timeouts.
  const connection =
    /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|EPIPE)$/.test(code) ||
    /^(08|28|3D|57P0)/.test(code) ||
    code === '53300' ||
    /timeout|Connection terminated|not queryable/i.test(message);
  if (!connection) return error;
  return new MotifError('STORAGE_UNAVAILABLE', STORAGE_UNAVAILABLE_MESSAGE, {
    cause: error,
    detail: `PostgreSQL blob store at ${where}: ${message.replace(/\s+/g, ' ').slice(0, 160)}; check BLOB_URL and that the server is running`,
  });
}

/** `host:port/database` of a URL, never its user's password (it goes into logs). */
export function describeServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return '(unparsable BLOB_URL)';
  }
}
