import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/index.js';
import { storageBehaviour } from './storage-behaviour.js';

const dir = mkdtempSync(join(tmpdir(), 'motif-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('storage on an embedded SQLite file', () => {
  storageBehaviour(() => `sqlite://${join(dir, 'nested', 'motif.sqlite')}`);

  it('GIVEN data written WHEN the store is reopened THEN it is still there (a real file)', async () => {
    const url = `sqlite://${join(dir, 'reopen.sqlite')}`;
    const first = await openStorage(url);
    await first.settings.update('42', { qpm: 77 });
    await first.close();
    expect(existsSync(join(dir, 'reopen.sqlite'))).toBe(true);
    const second = await openStorage(url);
    expect((await second.settings.get('42')).qpm).toBe(77);
    await second.close();
  });
});

describe('guild model records from before the blob store', () => {
  it('GIVEN records holding absolute paths WHEN read THEN a folder inside DATA_DIR becomes its key and one outside refuses the record', async () => {
    const dataDir = join(dir, 'data-legacy');
    const storage = await openStorage(`sqlite://${join(dir, 'legacy.sqlite')}`, { dataDir });
    const old = { trainedAt: '2026-01-01T00:00:00.000Z', trainedBy: 'u', epochs: 2, from: 'default' as const, corpusFiles: 3, metrics: { loss: 1 }, summary: 's' };
    const modelDir = join(dataDir, 'guilds', '42', 'models', '2026-01-01T00-00-00-000Z-ab12');
    // The shape older versions wrote (lossCurvePngPath is no longer a field of GuildModel).
    await storage.models.set('42', { ...old, modelDir, lossCurvePngPath: join(modelDir, 'loss-curve.png') } as never);
    expect(await storage.models.get('42')).toEqual({
      ...old,
      modelDir: 'guilds/42/models/2026-01-01T00-00-00-000Z-ab12/',
      lossCurveKey: 'guilds/42/models/2026-01-01T00-00-00-000Z-ab12/loss-curve.png',
    });
    await storage.models.set('43', { ...old, modelDir: join(dataDir, '..', 'elsewhere') });
    expect(await storage.models.get('43')).toBeUndefined();
    await storage.close();
  });
});
