/**
 * The PostgreSQL blob store against the real server (127.0.0.1:5432, database test), each run in a
 * schema of its own that is dropped afterwards.
 */
import { expect, it } from 'vitest';
import pg from 'pg';
import { isMotifError } from '../../src/errors.js';
import { openBlobStore } from '../../src/storage/blobs/index.js';
import { PostgresBlobStore } from '../../src/storage/blobs/postgres-blob-store.js';
import { dropSchema, POSTGRES_URL, uniqueSchema, withPostgres } from '../support/postgres.js';
import { blobStoreBehaviour } from './blob-store-behaviour.js';

const describePostgres = await withPostgres('PostgreSQL blob store');

describePostgres('PostgreSQL blob store (BLOB_URL=postgresql://…)', () => {
  blobStoreBehaviour(async () => {
    const schema = uniqueSchema('blobs');
    const store = await openBlobStore(POSTGRES_URL, { dataDir: '/nonexistent', schema });
    return { store, dispose: () => dropSchema(schema) };
  });

  it('GIVEN no table yet WHEN several processes open the store at once THEN each opens, one table exists, and they see each other\'s blobs', async () => {
    const schema = uniqueSchema('race');
    try {
      const stores = await Promise.all([1, 2, 3].map(() => PostgresBlobStore.open(POSTGRES_URL, { schema })));
      await stores[0]!.put('guilds/1/corpus/a.mid', Buffer.from('MThd'));
      expect((await stores[2]!.get('guilds/1/corpus/a.mid')).toString()).toBe('MThd');
      await Promise.all(stores.map((s) => s.close()));
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      const tables = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [schema]);
      await client.end();
      expect(tables.rows).toEqual([{ table_name: 'blobs' }]);
    } finally {
      await dropSchema(schema);
    }
  });

  it('GIVEN a BLOB_URL where nothing listens WHEN the store opens THEN STORAGE_UNAVAILABLE: plain words for users, the server (never a password) for the operator', async () => {
    let error: unknown;
    try {
      await openBlobStore('postgresql://motif:s3cret@127.0.0.1:1/motif', { dataDir: '/nonexistent', schema: uniqueSchema('down') });
    } catch (e) {
      error = e;
    }
    expect(isMotifError(error) && error.code).toBe('STORAGE_UNAVAILABLE');
    const e = error as Error & { userMessage: string };
    expect(e.userMessage).toMatch(/cannot reach its file storage/);
    expect(e.userMessage).not.toMatch(/127\.0\.0\.1/);
    expect(e.message).toMatch(/PostgreSQL blob store at 127\.0\.0\.1:1\/motif: .*check BLOB_URL/);
    expect(e.message).not.toMatch(/s3cret/);
  });
});
