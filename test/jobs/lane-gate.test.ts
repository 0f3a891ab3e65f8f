import { describe, expect, it } from 'vitest';
import { LaneGate } from '../../src/jobs/lane-gate.js';

describe('LaneGate', () => {
  it('GIVEN one place taken WHEN jobs wait THEN they start best priority first, ties in arrival order, one per release', async () => {
    const gate = new LaneGate(1);
    const never = new AbortController().signal;
    await gate.acquire(5, never);
    const started: string[] = [];
    const wait = (name: string, priority: number) => gate.acquire(priority, never).then(() => started.push(name));
    const all = [wait('late-low', 9), wait('first-mid', 3), wait('second-mid', 3), wait('best', 1)];
    await Promise.resolve();
    expect(started).toEqual([]);
    for (let i = 0; i < 4; i++) {
      gate.release();
      await new Promise((r) => setImmediate(r));
      expect(started).toHaveLength(i + 1);
    }
    await Promise.all(all);
    expect(started).toEqual(['best', 'first-mid', 'second-mid', 'late-low']);
  });

  it('GIVEN a waiting job WHEN its signal aborts THEN it is rejected and the next release goes to the job after it', async () => {
    const gate = new LaneGate(1);
    await gate.acquire(0, new AbortController().signal);
    const cancelled = new AbortController();
    const dropped = gate.acquire(1, cancelled.signal);
    let nextStarted = false;
    const next = gate.acquire(2, new AbortController().signal).then(() => (nextStarted = true));
    cancelled.abort();
    await expect(dropped).rejects.toThrow('cancelled');
    gate.release();
    await next;
    expect(nextStarted).toBe(true);
  });

  it('GIVEN places free WHEN acquired THEN it starts at once, up to the concurrency; an aborted signal never starts', async () => {
    const gate = new LaneGate(2);
    const free = new AbortController().signal;
    await gate.acquire(0, free);
    await gate.acquire(0, free);
    let third = false;
    void gate.acquire(0, free).then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    const aborted = new AbortController();
    aborted.abort();
    await expect(gate.acquire(0, aborted.signal)).rejects.toThrow('cancelled');
  });
});
