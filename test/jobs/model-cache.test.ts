/**
 * A compose worker's model cache with real (tiny) models: guild model versions fetched from a blob
 * store that is not on the worker's disk, bounded in memory and on disk, bundled models kept.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache, type BlobSource } from '../../src/jobs/model-cache.js';
import { loadModel } from '../../src/ml/model-dir.js';
import { initTf, type Tf } from '../../src/ml/tf.js';
import type { BlobStore } from '../../src/storage/blobs/blob-store.js';
import { LocalBlobStore } from '../../src/storage/blobs/local-blob-store.js';
import { trainTinyModel } from '../support/tiny-model.js';

/** The local store seen only through the BlobStore interface, as a worker sees PostgreSQL: no path to read in place. */
function remote(store: BlobStore): BlobStore {
  return {
    backend: 'remote-test',
    put: (k, b) => store.put(k, b),
    putFile: (k, p, o) => store.putFile(k, p, o),
    get: (k) => store.get(k),
    getToFile: (k, p) => store.getToFile(k, p),
    stat: (k) => store.stat(k),
    list: (p) => store.list(p),
    delete: (k) => store.delete(k),
    deletePrefix: (p) => store.deletePrefix(p),
    close: () => store.close(),
  };
}

const VERSIONS = ['v1', 'v2', 'v3'].map((v) => `guilds/123/models/${v}/`);

let tf: Tf;
let root: string;
let bundledDir: string;
let local: LocalBlobStore;

beforeAll(async () => {
  ({ tf } = await initTf());
  root = mkdtempSync(join(tmpdir(), 'motif-model-cache-test-'));
  bundledDir = await trainTinyModel();
  local = new LocalBlobStore(join(root, 'blobs'));
  // Three versions of a guild's model (same weights, distinct immutable versions).
  for (const prefix of VERSIONS) {
    for (const name of readdirSync(bundledDir)) await local.putFile(`${prefix}${name}`, join(bundledDir, name));
  }
}, 120_000);
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('model cache', () => {
  it('GIVEN more guild model versions than MODEL_CACHE_SIZE WHEN composed with in turn THEN the least recently used is dropped (tensors freed, files removed) and fetched again on demand, while a bundled model stays', async () => {
    const cacheDir = join(root, 'cache');
    const loads: string[] = [];
    const cache = new ModelCache({ maxLoaded: 2, cacheDir, load: (dir) => (loads.push(dir), loadModel(dir)) });
    const fetched: string[] = [];
    const store = remote(local);
    const source: BlobSource = { id: 'test', open: async () => ({ ...store, list: (p) => (fetched.push(p), store.list(p)) }) };

    await cache.get(bundledDir);
    const [v1, v2, v3] = VERSIONS as [string, string, string];
    await cache.get(v1, source);
    await cache.get(v2, source);
    const tensorsWithTwo = tf.memory().numTensors;
    expect(cache.loadedRefs()).toEqual([bundledDir, v1, v2]);

    await cache.get(v3, source);
    await new Promise((resolve) => setTimeout(resolve, 0)); // disposal runs when the dropped load settles
    expect(cache.loadedRefs()).toEqual([bundledDir, v2, v3]);
    // v1's tensors went with it: one model's worth in, one out.
    expect(tf.memory().numTensors).toBe(tensorsWithTwo);
    expect(readdirSync(cacheDir)).toHaveLength(2);

    // A hit is not fetched nor loaded again, and becomes the most recent.
    await cache.get(v2, source);
    expect(fetched).toEqual([v1, v2, v3]);
    expect(cache.loadedRefs()).toEqual([bundledDir, v3, v2]);

    // The dropped version comes back on demand: fetched and loaded once more; v3 is now the oldest.
    const again = await cache.get(v1, source);
    expect(again.spec.format).toBe('motif-model');
    expect(fetched).toEqual([v1, v2, v3, v1]);
    expect(loads.filter((dir) => dir.startsWith(cacheDir))).toHaveLength(4);
    expect(cache.loadedRefs()).toEqual([bundledDir, v2, v1]);
    expect(readdirSync(cacheDir)).toHaveLength(2);
    expect(readdirSync(cacheDir).some((name) => name.includes('~'))).toBe(false);
  }, 120_000);

  it('GIVEN a version missing from the store WHEN asked for THEN MODEL_NOT_FOUND, nothing is cached, and a later ask tries again', async () => {
    const cacheDir = join(root, 'cache-missing');
    const cache = new ModelCache({ maxLoaded: 2, cacheDir });
    const source: BlobSource = { id: 'test', open: async () => remote(local) };
    await expect(cache.get('guilds/123/models/late/', source)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(cache.loadedRefs()).toEqual([]);
    expect(existsSync(cacheDir)).toBe(false);
    // Uploaded late (a slow store): the failure was not remembered.
    for (const name of readdirSync(bundledDir)) await local.putFile(`guilds/123/models/late/${name}`, join(bundledDir, name));
    await expect(cache.get('guilds/123/models/late/', source)).resolves.toMatchObject({ spec: { format: 'motif-model' } });
  });

  it('GIVEN the local store (the default) WHEN a guild model is asked for THEN it is read in place: no copy is made', async () => {
    const cacheDir = join(root, 'cache-local');
    const loads: string[] = [];
    const cache = new ModelCache({ maxLoaded: 1, cacheDir, load: (dir) => (loads.push(dir), loadModel(dir)) });
    await cache.get(VERSIONS[0]!, { id: 'local', open: async () => local });
    expect(loads).toEqual([local.pathOf(VERSIONS[0]!)]);
    expect(() => readdirSync(cacheDir)).toThrow(/ENOENT/);
    cache.forget(VERSIONS[0]!);
  });
});
