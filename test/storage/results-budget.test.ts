import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage, type ResultRecord, type Storage } from '../../src/storage/index.js';
import { enforceResultsBudget, folderBytes } from '../../src/storage/results-budget.js';
import { emptySequence } from '../../src/music/note-sequence.js';

const GUILD = '123456789012345678';
const OTHER_GUILD = '223456789012345678';
let root: string;
let storage: Storage;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'motif-budget-'));
  storage = await openStorage(`sqlite://${join(root, 'motif.sqlite')}`);
});
afterAll(async () => {
  await storage.close?.();
  await rm(root, { recursive: true, force: true });
});

/** A result whose folder holds real files of the given sizes (MIDI, audio, piano roll). */
async function result(guildId: string, id: string, bytes: { mid: number; mp3: number; png: number }): Promise<ResultRecord> {
  const dir = join(root, guildId, 'results', id);
  await mkdir(dir, { recursive: true });
  const path = (ext: string): string => join(dir, `motif-${id}.${ext}`);
  await writeFile(path('mid'), Buffer.alloc(bytes.mid, 1));
  await writeFile(path('mp3'), Buffer.alloc(bytes.mp3, 2));
  await writeFile(path('png'), Buffer.alloc(bytes.png, 3));
  return {
    id,
    guildId,
    channelId: '1',
    userId: '2',
    createdAt: new Date().toISOString(),
    options: { length: 100 },
    dir,
    midiPath: path('mid'),
    mp3Path: path('mp3'),
    pngPath: path('png'),
    durationSeconds: 36,
    qpm: 120,
    program: 0,
    keyGuess: 'C major',
    modelName: 'test',
    randomSeed: 1,
    sequence: emptySequence(),
  };
}

describe('per-guild disk budget for results', () => {
  it('GIVEN results over the budget WHEN enforced THEN the oldest go first (records and folders), the newest stay, and other guilds are untouched', async () => {
    const sizes = { mid: 2_000, mp3: 90_000, png: 8_000 }; // 100,000 bytes per result
    const other = await result(OTHER_GUILD, 'other1', sizes);
    await storage.results.add(other);
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5'];
    for (const id of ids) await storage.results.add(await result(GUILD, id, sizes)); // r5 is newest
    expect(await folderBytes(join(root, GUILD, 'results', 'r1'))).toBe(100_000);

    const evicted = await enforceResultsBudget(storage.results, GUILD, 350_000);

    expect(evicted.map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(await storage.results.recentIds(GUILD)).toEqual(['r5', 'r4', 'r3']);
    expect(await storage.results.get(GUILD, 'r1')).toBeUndefined();
    expect(existsSync(join(root, GUILD, 'results', 'r1'))).toBe(false);
    expect(existsSync(join(root, GUILD, 'results', 'r2'))).toBe(false);
    expect((await readdir(join(root, GUILD, 'results'))).sort()).toEqual(['r3', 'r4', 'r5']);
    expect(await storage.results.recentIds(OTHER_GUILD)).toEqual(['other1']);
    expect(existsSync(other.dir)).toBe(true);
    // Within budget: nothing more goes.
    expect(await enforceResultsBudget(storage.results, GUILD, 350_000)).toEqual([]);
  });

  it('GIVEN one result bigger than the whole budget WHEN enforced THEN it is kept (the newest always stays) and everything older goes', async () => {
    const guild = '323456789012345678';
    await storage.results.add(await result(guild, 'small', { mid: 10, mp3: 10, png: 10 }));
    await storage.results.add(await result(guild, 'huge', { mid: 10, mp3: 500_000, png: 10 }));
    const evicted = await enforceResultsBudget(storage.results, guild, 100_000);
    expect(evicted.map((r) => r.id)).toEqual(['small']);
    expect(await storage.results.recentIds(guild)).toEqual(['huge']);
  });
});
