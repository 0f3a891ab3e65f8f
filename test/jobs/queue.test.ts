import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FairnessOptions } from '../../src/jobs/fairness.js';
import { InProcessQueue } from '../../src/jobs/in-process-queue.js';
import type { ProcessorRef } from '../../src/jobs/processor.js';
import type { QueueLimits } from '../../src/jobs/queue.js';
import { describeJobQueueBehaviour, gate } from './queue-behaviour.js';

describeJobQueueBehaviour('in-process', async (opts) => new InProcessQueue(opts));

const FIXTURES = new URL('./fixtures/processors.ts', import.meta.url).href;
const inWorker = (exportName: string): ProcessorRef => ({ kind: 'worker', moduleUrl: FIXTURES, exportName });

type Jobs = {
  gated: { data: { name: string }; result: string; progress: never };
  blockFor: { data: { ms: number }; result: { blockedMs: number }; progress: never };
  train: { data: { name: string }; result: string; progress: never };
};

const queues: InProcessQueue<Jobs>[] = [];
function makeQueue(limits: Partial<QueueLimits> = {}, g = gate(), fairness: FairnessOptions = {}, trainRef: ProcessorRef = gate().ref): InProcessQueue<Jobs> {
  const queue = new InProcessQueue<Jobs>({
    processors: { gated: g.ref, blockFor: inWorker('blockFor'), train: trainRef },
    lanes: { gated: 'interactive', blockFor: 'interactive', train: 'batch' },
    limits: { concurrency: { interactive: 1, batch: 1 }, maxPending: 10, maxPerUser: 10, maxPerGuild: 10, ...limits },
    fairness,
  });
  queues.push(queue);
  return queue;
}
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

const owner = (userId = 'u1', guildId = 'g1') => ({ userId, guildId, label: 'test' });

describe('InProcessQueue', () => {
  it('GIVEN a worker job that blocks its thread WHEN it runs THEN the main event loop keeps turning (the gateway heartbeat would too)', async () => {
    const queue = makeQueue();
    const job = await queue.enqueue('blockFor', { ms: 1500 }, owner());
    let turns = 0;
    let done = false;
    const spin = (): void => {
      turns += 1;
      if (!done) setTimeout(spin, 10);
    };
    spin();
    const result = await job.result;
    done = true;
    expect(result.blockedMs).toBeGreaterThanOrEqual(1500);
    // An inline run would have frozen this loop for the whole job: it would have turned once or twice.
    expect(turns).toBeGreaterThan(20);
  });

  it('GIVEN the interactive workers warmed up (the model loaded) WHEN a long batch job runs THEN it has a thread of its own and the compose still gets a warm one', async () => {
    const queue = new InProcessQueue<{
      train: { data: object; result: never; progress: never };
      compose: { data: object; result: { warm: boolean }; progress: never };
    }>({
      processors: { train: inWorker('untilAborted'), compose: inWorker('isWarm') },
      lanes: { train: 'batch', compose: 'interactive' },
      limits: { concurrency: { interactive: 1, batch: 1 }, maxPending: 10, maxPerUser: 10, maxPerGuild: 10 },
    });
    try {
      await queue.warmUp({ kind: 'worker', moduleUrl: FIXTURES, exportName: 'markWarm' }, {});
      const train = await queue.enqueue('train', {}, owner('admin'));
      await vi.waitFor(async () => expect((await queue.list())[0]).toMatchObject({ kind: 'train', state: 'running' }));
      const compose = await queue.enqueue('compose', {}, owner('member'));
      // One shared pool would hand the idle warm thread to the training and start the compose cold.
      expect(await compose.result).toEqual({ warm: true });
      expect((await queue.list()).map((j) => [j.kind, j.state])).toEqual([['train', 'running']]);
      await train.cancel();
    } finally {
      await queue.close();
    }
  });

  it('GIVEN a /train holding the batch lane WHEN its owner then composes THEN the compose is not pushed back by the training time (fairness is per lane)', async () => {
    const g = gate();
    const train = gate();
    let t = 1_000_000;
    const queue = makeQueue({}, g, { now: () => t }, train.ref);
    const training = await queue.enqueue('train', { name: 'train' }, { ...owner('admin'), cost: 3600 });
    t += 30 * 60_000; // half an hour of training
    train.open('train');
    await training.result;
    const blocker = await queue.enqueue('gated', { name: 'blocker' }, owner('someone'));
    const admin = await queue.enqueue('gated', { name: 'admin' }, { ...owner('admin'), cost: 1 });
    const other = await queue.enqueue('gated', { name: 'other' }, { ...owner('bob'), cost: 1 });
    // Equal costs, no interactive usage by either: arrival order. (Counted across lanes, the admin's
    // half hour of training would put the admin's compose behind bob's.)
    expect([admin.position(), other.position()]).toEqual([1, 2]);
    g.open('blocker');
    await blocker.result;
    await vi.waitFor(() => expect(g.started).toEqual(['blocker', 'admin']));
    g.open('admin');
    await admin.result;
    await vi.waitFor(() => expect(g.started).toEqual(['blocker', 'admin', 'other']));
    g.open('other');
    await other.result;
  });

  describe('weighing jobs by size', () => {
    /** A clock the test moves; queue order then depends on nothing but the scores. */
    function clock(): { now: () => number; advance: (ms: number) => void } {
      let t = 1_000_000;
      return { now: () => t, advance: (ms) => (t += ms) };
    }

    it('GIVEN one user\'s heavy seeds holding the worker WHEN another user sends a light job THEN it runs next, before the heavy ones', async () => {
      const g = gate();
      const c = clock();
      const queue = makeQueue({}, g, { now: c.now });
      const heavy = [];
      for (const name of ['heavy-1', 'heavy-2', 'heavy-3']) heavy.push(await queue.enqueue('gated', { name }, { ...owner('alice'), cost: 60 }));
      const light = await queue.enqueue('gated', { name: 'light' }, { ...owner('bob'), cost: 1 });
      expect(g.started).toEqual(['heavy-1']);
      expect(light.position()).toBe(1); // shown as next in line at once
      expect(heavy[1]!.position()).toBe(2);
      c.advance(55_000); // heavy-1 held the worker for 55 s
      g.open('heavy-1');
      await heavy[0]!.result;
      await vi.waitFor(() => expect(g.started).toEqual(['heavy-1', 'light']));
      g.open('light');
      await light.result;
      await vi.waitFor(() => expect(g.started).toEqual(['heavy-1', 'light', 'heavy-2']));
      g.open('heavy-2');
      await vi.waitFor(() => expect(g.started).toHaveLength(4));
      g.open('heavy-3');
      await Promise.all(heavy.map((h) => h.result));
    });

    it('GIVEN a user who just used the worker for minutes WHEN equal jobs wait THEN the other user goes first', async () => {
      const g = gate();
      const c = clock();
      const queue = makeQueue({}, g, { now: c.now });
      const first = await queue.enqueue('gated', { name: 'a-1' }, { ...owner('alice'), cost: 5 });
      const aliceAgain = await queue.enqueue('gated', { name: 'a-2' }, { ...owner('alice'), cost: 5 });
      const bob = await queue.enqueue('gated', { name: 'b-1' }, { ...owner('bob'), cost: 5 });
      c.advance(120_000);
      g.open('a-1');
      await first.result;
      await vi.waitFor(() => expect(g.started).toEqual(['a-1', 'b-1']));
      g.open('b-1');
      await bob.result;
      await vi.waitFor(() => expect(g.started).toEqual(['a-1', 'b-1', 'a-2']));
      g.open('a-2');
      await aliceAgain.result;
    });

    it('GIVEN a heavy job WHEN light jobs keep arriving THEN waiting ages it to the front (no starvation)', async () => {
      const g = gate();
      const c = clock();
      const queue = makeQueue({ maxPerUser: 100, maxPerGuild: 100, maxPending: 100 }, g, { now: c.now });
      const blocker = await queue.enqueue('gated', { name: 'blocker' }, { ...owner('carol'), cost: 1 });
      const heavy = await queue.enqueue('gated', { name: 'heavy' }, { ...owner('alice'), cost: 60 });
      let previous = 'blocker';
      let previousHandle = blocker;
      for (let i = 0; i < 10; i++) {
        const name = `light-${i}`;
        const handle = await queue.enqueue('gated', { name }, { ...owner(`user-${i}`), cost: 1 });
        c.advance(20_000); // each job takes 20 s; the heavy one has waited (i + 1) × 20 s
        g.open(previous);
        await previousHandle.result;
        await vi.waitFor(() => expect(g.started.length).toBeGreaterThan(i + 1));
        if (g.started.includes('heavy')) break;
        previous = name;
        previousHandle = handle;
      }
      // 60 s of cost is worth 120 s of waiting: after a few light jobs the heavy one starts.
      const at = g.started.indexOf('heavy');
      expect(at).toBeGreaterThan(1);
      expect(at).toBeLessThan(8);
      await queue.close();
      await heavy.result.catch(() => undefined);
    });
  });
});
