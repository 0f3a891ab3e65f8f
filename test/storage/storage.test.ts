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
