import { describe, expect, it } from 'vitest';
import { createRng, randomInt, shuffled } from '../../src/music/random.js';

describe('seeded random numbers', () => {
  it('GIVEN the same seed WHEN drawing THEN the same numbers, all in [0, 1); other seeds differ', () => {
    const a = createRng(123);
    const b = createRng(123);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(createRng(124)()).not.toBe(xs[0]);
    // Large and fractional seeds (seed * 1_000_003 + epoch) stay distinct.
    expect(createRng(5 * 1_000_003 + 1)()).not.toBe(createRng(5 * 1_000_003 + 2)());
    expect(createRng(2 ** 40)()).not.toBe(createRng(2 ** 41)());
  });

  it('GIVEN many draws WHEN bucketed THEN roughly uniform; shuffles are permutations', () => {
    const rng = createRng(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[randomInt(rng, 10)]!++;
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
    const items = Array.from({ length: 50 }, (_, i) => i);
    const s = shuffled(items, rng);
    expect([...s].sort((x, y) => x - y)).toEqual(items);
    expect(s).not.toEqual(items);
  });
});
