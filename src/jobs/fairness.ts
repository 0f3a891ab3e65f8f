/**
 * The order jobs start in within a lane: not plain FIFO, because one person's heavy seeds (a minute
 * of worker time each) would then hold the workers while everyone else waits. Each waiting job scores
 *   (its owner's recent worker time in this lane + the expected cost of the owner's running jobs)
 *   + its own expected cost − (seconds waited × {@link DEFAULT_AGING_PER_SECOND})
 * and the lowest score starts next. So a light job overtakes heavy ones, a user who just used the
 * lane for minutes goes behind those who did not, and waiting always wins eventually (no job
 * starves). Recent worker time halves every {@link DEFAULT_USAGE_HALF_LIFE_MS}. Equal costs and
 * owners keep FIFO order.
 *
 * The owner's load counts twice over: the member's own, and their server's (every member of it
 * together). A member alone on their server pays both for their own jobs; a server whose many members
 * burst at once pays for the burst, so another server's single request goes ahead of most of it
 * instead of waiting behind all of it.
 *
 * Usage is counted per lane: an admin whose /train held the batch lane for an hour is not pushed
 * behind others in the interactive lane.
 */

/** Recent worker time per user halves every 10 minutes. */
export const DEFAULT_USAGE_HALF_LIFE_MS = 10 * 60 * 1000;
/** A waiting job gains 0.5 s of priority per second waited: a 60 s job waits at most ~2 min behind light ones. */
export const DEFAULT_AGING_PER_SECOND = 0.5;

export interface FairnessOptions {
  usageHalfLifeMs?: number;
  agingPerSecond?: number;
  /** Clock in ms (tests pass their own). */
  now?: () => number;
}

/** Worker seconds per owner key, decaying with a half-life. */
export class UsageLedger {
  private readonly usage = new Map<string, { seconds: number; at: number }>();

  constructor(private readonly halfLifeMs: number) {}

  /** Decayed worker seconds of `key` at `now` (ms). */
  recent(key: string, now: number): number {
    const entry = this.usage.get(key);
    return entry ? decayed(entry.seconds, now - entry.at, this.halfLifeMs) : 0;
  }

  add(key: string, seconds: number, now: number): void {
    this.usage.set(key, { seconds: this.recent(key, now) + Math.max(0, seconds), at: now });
    // Bounded: owners whose usage has decayed to nothing are forgotten.
    if (this.usage.size > 1000) {
      for (const [k] of this.usage) if (this.recent(k, now) < 0.01) this.usage.delete(k);
    }
  }
}

/** `seconds` halved once per `halfLifeMs` over `elapsedMs`. */
export function decayed(seconds: number, elapsedMs: number, halfLifeMs: number): number {
  return seconds * 0.5 ** (Math.max(0, elapsedMs) / halfLifeMs);
}
