/**
 * The fair-share ledger on the real Redis: a member's and their server's worker seconds, decaying
 * with the half-life, per lane, a damaged entry read as no usage, and the hash kept bounded. Every
 * key is under this file's own prefix and deleted afterwards.
 */
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { RedisUsageLedger } from '../../src/jobs/redis-usage-ledger.js';
import { REDIS_URL, deleteKeys, uniquePrefix, withRedis } from '../support/redis.js';

const describeRedis = await withRedis('fair-share usage (test/jobs/redis-usage-ledger.int.test.ts)');
const PREFIX = uniquePrefix('usage-ledger');
const HALF_LIFE_MS = 60_000;

describeRedis('RedisUsageLedger', () => {
  const redis = new Redis(REDIS_URL);
  const keyOf = (lane: string): string => `${PREFIX}:${lane}:usage`;
  const ledger = new RedisUsageLedger(redis, keyOf, HALF_LIFE_MS);
  afterAll(async () => {
    await deleteKeys(PREFIX);
    redis.disconnect();
  });

  it('GIVEN a member’s finished job WHEN usage is read THEN the member and their server carry its seconds, another member only the server’s, and another lane nothing', async () => {
    const t0 = 1_000_000;
    await ledger.add('interactive', { guildId: 'g1', userId: 'u1' }, 30, t0);
    expect(await ledger.recent('interactive', { guildId: 'g1', userId: 'u1' }, t0)).toEqual({ user: 30, guild: 30 });
    expect(await ledger.recent('interactive', { guildId: 'g1', userId: 'u2' }, t0)).toEqual({ user: 0, guild: 30 });
    expect(await ledger.recent('batch', { guildId: 'g1', userId: 'u1' }, t0)).toEqual({ user: 0, guild: 0 });
    // One half-life later, half; a second job adds to what is left.
    expect(await ledger.recent('interactive', { guildId: 'g1', userId: 'u1' }, t0 + HALF_LIFE_MS)).toEqual({ user: 15, guild: 15 });
    await ledger.add('interactive', { guildId: 'g1', userId: 'u2' }, 10, t0 + HALF_LIFE_MS);
    expect(await ledger.recent('interactive', { guildId: 'g1', userId: 'u2' }, t0 + HALF_LIFE_MS)).toEqual({ user: 10, guild: 25 });
  });

  it('GIVEN an entry another writer damaged WHEN read THEN it counts as no usage, and the next job writes a good one', async () => {
    await redis.hset(keyOf('interactive'), 'g9:u9', '{"s":"lots"}');
    expect(await ledger.recent('interactive', { guildId: 'g9', userId: 'u9' }, 5_000)).toEqual({ user: 0, guild: 0 });
    await ledger.add('interactive', { guildId: 'g9', userId: 'u9' }, 4, 5_000);
    expect(await ledger.recent('interactive', { guildId: 'g9', userId: 'u9' }, 5_000)).toEqual({ user: 4, guild: 4 });
  });

  it('GIVEN more than a thousand owners WHEN a job is added THEN those whose usage has decayed to nothing are forgotten and the recent ones kept', async () => {
    const lane = 'batch';
    const old = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`g0:old${i}`, JSON.stringify({ s: 1, at: 0 })]));
    await redis.hset(keyOf(lane), old);
    const now = 40 * HALF_LIFE_MS; // 1 s halved 40 times: nothing left
    await ledger.add(lane, { guildId: 'g2', userId: 'u2' }, 8, now);
    expect((await redis.hkeys(keyOf(lane))).sort()).toEqual(['g2:u2', 'g:g2']);
  });
});
