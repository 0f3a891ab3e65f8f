import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replaceDirAtomic } from '../../src/util/atomic-write.js';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function folderWithFile(text: string): Promise<{ root: string; dir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'motif-replace-dir-'));
  roots.push(root);
  const dir = join(root, 'model');
  await replaceDirAtomic(dir, (temp) => writeFile(join(temp, 'a.txt'), text));
  return { root, dir };
}

describe('replaceDirAtomic', () => {
  it('GIVEN a folder WHEN replaced THEN it holds only the new content and nothing else is left beside it', async () => {
    const { root, dir } = await folderWithFile('old');
    await writeFile(join(dir, 'stale.txt'), 'x');
    await replaceDirAtomic(dir, (temp) => writeFile(join(temp, 'a.txt'), 'new'));
    expect(await readdir(dir)).toEqual(['a.txt']);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('new');
    expect(await readdir(root)).toEqual(['model']);
  });

  it('GIVEN a fill that fails halfway WHEN replacing THEN the error comes through, the old folder is untouched and no temp folder is left', async () => {
    const { root, dir } = await folderWithFile('old');
    const failure = new Error('disk trouble');
    await expect(
      replaceDirAtomic(dir, async (temp) => {
        await writeFile(join(temp, 'a.txt'), 'half');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('old');
    expect(await readdir(root)).toEqual(['model']);
  });

  it('GIVEN no folder yet WHEN written THEN it is created with its parents', async () => {
    const root = await mkdtemp(join(tmpdir(), 'motif-replace-dir-'));
    roots.push(root);
    const dir = join(root, 'deep', 'er', 'model');
    await replaceDirAtomic(dir, (temp) => writeFile(join(temp, 'a.txt'), 'new'));
    expect(existsSync(join(dir, 'a.txt'))).toBe(true);
  });
});
