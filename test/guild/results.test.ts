import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findResult, recentResults, resultToPlay } from '../../src/guild/results.js';
import { ADMIN, GUILD_A, GUILD_B, MEMBER, openGuildFixture, resultRecord, type GuildFixture } from './guild-fixture.js';

let f: GuildFixture;
beforeEach(async () => (f = await openGuildFixture()));
afterEach(async () => f.close());

describe('results of a guild', () => {
  it('GIVEN a result WHEN found by id in its guild THEN returned; from another guild THEN expired', async () => {
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'r1', MEMBER.userId));
    expect((await findResult(f.deps, GUILD_A, 'r1')).id).toBe('r1');
    await expect(findResult(f.deps, GUILD_B, 'r1')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      userMessage: 'That result has expired (only the most recent results are kept). Compose a new one.',
    });
  });

  it('GIVEN no result yet WHEN something is to be played THEN told to compose first', async () => {
    await expect(resultToPlay(f.deps, GUILD_A)).rejects.toMatchObject({ code: 'NOT_FOUND', userMessage: 'There is nothing to play yet: compose something with /compose first.' });
  });

  it('GIVEN two results WHEN played without naming one THEN the newest; naming an unknown one THEN told to pick another', async () => {
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'old', MEMBER.userId));
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'new', ADMIN.userId));
    expect((await resultToPlay(f.deps, GUILD_A)).id).toBe('new');
    expect((await resultToPlay(f.deps, GUILD_A, 'old')).id).toBe('old');
    await expect(resultToPlay(f.deps, GUILD_A, 'gone')).rejects.toMatchObject({
      userMessage: 'That result has expired or was deleted (only the most recent results are kept). Pick another one.',
    });
  });

  it('GIVEN results of two members and another guild WHEN listed THEN newest first, only this guild’s, only the member’s when asked', async () => {
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'a1', MEMBER.userId));
    await f.deps.storage.results.add(resultRecord(GUILD_B, 'b1', MEMBER.userId));
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'a2', ADMIN.userId));
    await f.deps.storage.results.add(resultRecord(GUILD_A, 'a3', MEMBER.userId));
    expect((await recentResults(f.deps, GUILD_A)).map((r) => r.id)).toEqual(['a3', 'a2', 'a1']);
    expect((await recentResults(f.deps, GUILD_A, { userId: MEMBER.userId })).map((r) => r.id)).toEqual(['a3', 'a1']);
  });
});
