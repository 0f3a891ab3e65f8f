import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteSeed, listSeeds, loadSeed, saveSeed, suggestSeeds } from '../../src/guild/seeds.js';
import { MotifError } from '../../src/errors.js';
import { ADMIN, GUILD_A, GUILD_B, MEMBER, openGuildFixture, resultRecord, scale, type GuildFixture } from './guild-fixture.js';

let f: GuildFixture;
beforeEach(async () => (f = await openGuildFixture()));
afterEach(async () => f.close());

const member = { guildId: GUILD_A, userId: MEMBER.userId };

describe('seeds of a guild', () => {
  it('GIVEN a MIDI file WHEN saved under a name THEN it is listed with its note count and loads back note for note', async () => {
    const notes = scale(60, 5);
    const saved = await saveSeed(f.deps, member, '  My Theme ', { kind: 'file', fileName: 'theme.mid', read: async () => notes });
    expect(saved).toMatchObject({ name: 'my theme', noteCount: 5, source: 'theme.mid', createdBy: MEMBER.userId });
    expect((await listSeeds(f.deps, GUILD_A)).map((s) => s.name)).toEqual(['my theme']);
    expect(await loadSeed(f.deps, GUILD_A, 'MY THEME')).toEqual({ name: 'my theme', sequence: notes });
  });

  it('GIVEN a bad name WHEN a file is saved THEN refused before the file is read (no download for nothing)', async () => {
    let reads = 0;
    const from = { kind: 'file' as const, fileName: 'x.mid', read: async () => (reads++, scale()) };
    await expect(saveSeed(f.deps, member, '-bad/name', from)).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
    expect(reads).toBe(0);
  });

  it('GIVEN results by two members WHEN one saves their latest result THEN it is their own newest, not the other’s', async () => {
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'mine1', MEMBER.userId, scale(50)));
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'mine2', MEMBER.userId, scale(52, 6)));
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'theirs', ADMIN.userId, scale(70)));
    const saved = await saveSeed(f.deps, member, 'latest', { kind: 'latest-result' });
    expect(saved).toMatchObject({ source: 'result mine2', noteCount: 6 });
  });

  it('GIVEN a member with no result WHEN they save their latest THEN told to attach a file or compose first', async () => {
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'theirs', ADMIN.userId));
    await expect(saveSeed(f.deps, member, 'latest', { kind: 'latest-result' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      userMessage: 'Attach a MIDI file, or compose something first to save your latest result.',
    });
  });

  it('GIVEN another guild’s result id WHEN saved as a seed here THEN it is not found (and not saved)', async () => {
    await f.deps.storage.results.add(resultRecord(GUILD_B, 'elsewhere', MEMBER.userId));
    await expect(saveSeed(f.deps, member, 'stolen', { kind: 'result', resultId: 'elsewhere' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await listSeeds(f.deps, GUILD_A)).toEqual([]);
  });

  it('GIVEN a recent result WHEN saved as a seed THEN its whole piece is the seed', async () => {
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'r1', ADMIN.userId, scale(64, 3)));
    const saved = await saveSeed(f.deps, member, 'result-r1', { kind: 'result', resultId: 'r1' });
    expect(saved).toMatchObject({ name: 'result-r1', source: 'result r1', noteCount: 3 });
  });

  it('GIVEN a taken name WHEN saved again THEN refused as already existing', async () => {
    await saveSeed(f.deps, member, 'scale', { kind: 'file', fileName: 'a.mid', read: async () => scale() });
    const again = saveSeed(f.deps, member, 'Scale', { kind: 'file', fileName: 'b.mid', read: async () => scale() });
    await expect(again).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('GIVEN a seed WHEN deleted by a differently-typed name THEN it is gone and the stored name is returned; deleting again says there is none', async () => {
    await saveSeed(f.deps, member, 'scale', { kind: 'file', fileName: 'a.mid', read: async () => scale() });
    expect(await deleteSeed(f.deps, GUILD_A, ' SCALE ')).toBe('scale');
    expect(await listSeeds(f.deps, GUILD_A)).toEqual([]);
    await expect(deleteSeed(f.deps, GUILD_A, 'scale')).rejects.toMatchObject({ code: 'NOT_FOUND', userMessage: 'There is no seed called `scale`.' });
  });

  it('GIVEN a seed in guild A WHEN guild B loads, suggests or deletes it THEN B sees nothing and A keeps it', async () => {
    await saveSeed(f.deps, member, 'mine', { kind: 'file', fileName: 'a.mid', read: async () => scale() });
    const error = await loadSeed(f.deps, GUILD_B, 'mine').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotifError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', userMessage: 'There is no seed called `mine` on this server. See /seed list.' });
    expect(await suggestSeeds(f.deps, GUILD_B, 'mi')).toEqual([]);
    await expect(deleteSeed(f.deps, GUILD_B, 'mine')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await suggestSeeds(f.deps, GUILD_A, 'MI')).map((s) => s.name)).toEqual(['mine']);
  });

  it('GIVEN 30 seeds WHEN suggested for an empty prefix THEN at most 25, those containing the text', async () => {
    for (let i = 0; i < 30; i++) await saveSeed(f.deps, member, `s${String(i).padStart(2, '0')}`, { kind: 'file', fileName: 'a.mid', read: async () => scale() });
    expect(await suggestSeeds(f.deps, GUILD_A, '')).toHaveLength(25);
    expect((await suggestSeeds(f.deps, GUILD_A, '2')).map((s) => s.name)).toEqual(['s02', 's12', 's20', 's21', 's22', 's23', 's24', 's25', 's26', 's27', 's28', 's29']);
  });
});
