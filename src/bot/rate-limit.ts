/**
 * Abuse limits in front of every command and button: at most `perUser` interactions per user and
 * `perGuild` per guild in any 60-second window (sliding). The queue's own limits still bound
 * heavy work; this stops one member, or one raided server, from flooding the bot with cheap ones.
 * In memory, per process: the bot is one process.
 */
import { MotifError } from '../errors.js';

const WINDOW_MS = 60_000;

export interface RateLimits {
  /** Interactions one user may send per minute (all guilds together). */
  perUser: number;
  /** Interactions one guild may send per minute (all its members together). */
  perGuild: number;
}

export class RateLimiter {
  private readonly users = new Map<string, number[]>();
  private readonly guilds = new Map<string, number[]>();

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one interaction, or refuses it (a refused one does not count, so waiting always helps).
   * @throws MotifError RATE_LIMITED with how long to wait.
   */
  take(userId: string, guildId: string | null): void {
    const now = this.now();
    const user = recent(this.users, userId, now);
    if (user.length >= this.limits.perUser) {
      throw new MotifError('RATE_LIMITED', `You are sending commands too fast. Try again in ${waitSeconds(user, now)} s.`);
    }
    const guild = guildId ? recent(this.guilds, guildId, now) : undefined;
    if (guild && guild.length >= this.limits.perGuild) {
      throw new MotifError('RATE_LIMITED', `This server is sending commands faster than Motif answers them. Try again in ${waitSeconds(guild, now)} s.`);
    }
    user.push(now);
    guild?.push(now);
  }
}

/** The timestamps of `key` inside the window (pruned in place; empty keys are dropped). */
function recent(map: Map<string, number[]>, key: string, now: number): number[] {
  const stamps = (map.get(key) ?? []).filter((t) => now - t < WINDOW_MS);
  if (map.size > 10_000) for (const [k, v] of map) if (v.every((t) => now - t >= WINDOW_MS)) map.delete(k);
  map.set(key, stamps);
  return stamps;
}

function waitSeconds(stamps: readonly number[], now: number): number {
  return Math.max(1, Math.ceil((stamps[0]! + WINDOW_MS - now) / 1000));
}
