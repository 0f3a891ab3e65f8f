import { describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { RateLimiter } from '../../src/bot/rate-limit.js';

function refusal(fn: () => void): MotifError | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof MotifError) return error;
    throw error;
  }
}

describe('abuse limits', () => {
  it('GIVEN a user at the per-minute limit WHEN they send one more THEN it is refused with the wait, and allowed once the window moves on', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ perUser: 3, perGuild: 100 }, () => now);
    for (let i = 0; i < 3; i++) {
      limiter.take('u1', 'g1');
      now += 10_000;
    }
    const refused = refusal(() => limiter.take('u1', 'g1'));
    expect(refused?.code).toBe('RATE_LIMITED');
    expect(refused?.userMessage).toBe('You are sending commands too fast. Try again in 30 s.');
    // Another user of the same guild is not affected.
    expect(refusal(() => limiter.take('u2', 'g1'))).toBeUndefined();
    now += 30_000;
    expect(refusal(() => limiter.take('u1', 'g1'))).toBeUndefined();
  });

  it('GIVEN many members of one guild WHEN together they pass the guild limit THEN that guild is refused and other guilds are not', () => {
    const now = 5_000_000;
    const limiter = new RateLimiter({ perUser: 100, perGuild: 5 }, () => now);
    for (let i = 0; i < 5; i++) limiter.take(`member-${i}`, 'raided');
    expect(refusal(() => limiter.take('member-9', 'raided'))?.userMessage).toMatch(/This server is sending commands faster than Motif answers them. Try again in 60 s/);
    expect(refusal(() => limiter.take('member-9', 'calm'))).toBeUndefined();
  });

  it('GIVEN refused attempts WHEN the user keeps trying THEN refusals do not extend the wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ perUser: 1, perGuild: 100 }, () => now);
    limiter.take('u', null);
    for (let i = 0; i < 50; i++) {
      now += 1000;
      expect(refusal(() => limiter.take('u', null))?.code).toBe('RATE_LIMITED');
    }
    now = 60_000;
    expect(refusal(() => limiter.take('u', null))).toBeUndefined();
  });
});
