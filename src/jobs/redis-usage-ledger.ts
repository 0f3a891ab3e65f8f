/**
 * Fair-share usage in Redis: fairness.ts's UsageLedger for a queue that several processes share.
 * Worker seconds per owner, decaying with a half-life, in one hash per lane: a member's under
 * `<guild>:<user>`, their server's under `g:<guild>` (a snowflake never starts with `g`). An entry
 * is `{ s, at }` JSON, read back through a schema: another process, or an older version of this one,
 * may have written it, and a damaged entry counts as no usage rather than failing the enqueue.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { safeJson } from '../util/safe-json.js';
import { decayed } from './fairness.js';
import type { Lane } from './queue.js';

/** Owners kept per lane before those whose usage has decayed to nothing are forgotten (as in-process). */
const OWNERS_KEPT = 1_000;

const usageSchema = z.object({ s: z.number().nonnegative(), at: z.number() });

export interface UsageOwner {
  guildId: string;
  userId: string;
}

export class RedisUsageLedger {
  /**
   * @param keyOf the hash of a lane's usage (under the queue's prefix).
   */
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (lane: Lane) => string,
    private readonly halfLifeMs: number,
  ) {}

  /** The member's and their server's decayed worker seconds in `lane` at `now` (ms). */
  async recent(lane: Lane, owner: UsageOwner, now: number): Promise<{ user: number; guild: number }> {
    const [user, guild] = await this.redis.hmget(this.keyOf(lane), memberField(owner), serverField(owner.guildId));
    return { user: this.decayedAt(user ?? null, now), guild: this.decayedAt(guild ?? null, now) };
  }

  /** Adds a finished job's worker seconds to its member and their server. */
  async add(lane: Lane, owner: UsageOwner, seconds: number, now = Date.now()): Promise<void> {
    const key = this.keyOf(lane);
    for (const field of [memberField(owner), serverField(owner.guildId)]) {
      const total = this.decayedAt(await this.redis.hget(key, field), now) + seconds;
      await this.redis.hset(key, field, JSON.stringify({ s: total, at: now }));
    }
    // Bounded like the in-process ledger: owners whose usage has decayed to nothing are forgotten.
    if ((await this.redis.hlen(key)) > OWNERS_KEPT) {
      const entries = await this.redis.hgetall(key);
      const stale = Object.entries(entries)
        .filter(([, raw]) => {
          const usage = usageSchema.safeParse(safeJson(raw));
          return !usage.success || decayed(usage.data.s, now - usage.data.at, this.halfLifeMs) < 0.01;
        })
        .map(([owner]) => owner);
      if (stale.length > 0) await this.redis.hdel(key, ...stale);
    }
  }

  private decayedAt(raw: string | null, now: number): number {
    const usage = usageSchema.safeParse(safeJson(raw ?? 'null'));
    return usage.success ? decayed(usage.data.s, now - usage.data.at, this.halfLifeMs) : 0;
  }
}

function memberField(owner: UsageOwner): string {
  return `${owner.guildId}:${owner.userId}`;
}

function serverField(guildId: string): string {
  return `g:${guildId}`;
}
