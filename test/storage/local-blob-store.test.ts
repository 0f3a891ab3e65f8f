import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyFromDataPath, LocalBlobStore, openBlobStore } from '../../src/storage/blobs/index.js';
import { guildKeys, guildPaths } from '../../src/storage/guild-paths.js';
import { blobStoreBehaviour } from './blob-store-behaviour.js';

describe('local blob store (files under DATA_DIR)', () => {
  blobStoreBehaviour(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'motif-blobs-'));
    return { store: new LocalBlobStore(dir), dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  });

  it('GIVEN a data folder from before the blob store WHEN its files are read by key THEN they are where guildPaths always put them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'motif-data-'));
    try {
      const paths = guildPaths(dataDir, '123456789012345678');
      mkdirSync(paths.corpusDir, { recursive: true });
      writeFileSync(join(paths.corpusDir, 'ab12cd34.mid'), 'MThd old upload');
      const store = await openBlobStore(undefined, { dataDir });
      expect(store.backend).toBe('local');
      expect((await store.get(guildKeys.corpusFile('123456789012345678', 'ab12cd34'))).toString()).toBe('MThd old upload');
      // And new keys land in the same layout.
      await store.put(guildKeys.modelVersion('123456789012345678', 'v1') + 'spec.json', Buffer.from('{}'));
      expect(existsSync(join(paths.modelsDir, 'v1', 'spec.json'))).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('GIVEN a write that crashed halfway (a temporary file left) WHEN the folder is listed THEN only whole blobs show, and deletePrefix removes the folder itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'motif-blobs-'));
    try {
      const store = new LocalBlobStore(dir);
      await store.put('guilds/1/models/v1/weights.bin', Buffer.from('w'));
      writeFileSync(join(dir, 'guilds/1/models/v1/weights.bin.~tmp-1-deadbeef'), 'half');
      expect((await store.list('guilds/1/')).map((b) => b.key)).toEqual(['guilds/1/models/v1/weights.bin']);
      expect(await store.deletePrefix('guilds/1/models/v1/')).toBe(1);
      expect(readdirSync(join(dir, 'guilds/1/models'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN paths that old records held WHEN converted to keys THEN only paths inside DATA_DIR become keys', () => {
    expect(keyFromDataPath('/srv/data', '/srv/data/guilds/1/models/2026-x')).toBe('guilds/1/models/2026-x');
    expect(keyFromDataPath('/srv/data', '/srv/data/../etc/passwd')).toBeUndefined();
    expect(keyFromDataPath('/srv/data', '/srv/models/default')).toBeUndefined();
    expect(keyFromDataPath('/srv/data', 'guilds/1/models/x')).toBeUndefined();
    expect(keyFromDataPath('/srv/data', '/srv/data')).toBeUndefined();
  });
});
