import { afterEach, describe, expect, it, vi } from 'vitest';
import { MotifError } from '../../src/errors.js';
import type { ProcessorContext, ProcessorRef } from '../../src/jobs/processor.js';
import { InProcessQueue, type FairnessOptions, type JobInfo, type QueueLimits } from '../../src/jobs/queue.js';

const FIXTURES = new URL('./fixtures/processors.ts', import.meta.url).href;
const inWorker = (exportName: string): ProcessorRef => ({ kind: 'worker', moduleUrl: FIXTURES, exportName });

/** An inline processor that finishes only when the test says so: order and positions without clocks. */
function gate(): { ref: ProcessorRef; open: (id: string) => void; started: string[] } {
  const openers = new Map<string, () => void>();
  const started: string[] = [];
  const ref: ProcessorRef = {
    kind: 'inline',
    run: (data: { name: string }, ctx: ProcessorContext<unknown>) =>
      new Promise((resolve, reject) => {
        started.push(data.name);
        openers.set(data.name, () => resolve(data.name));
        ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
      }),
  };
  return { ref, started, open: (name) => openers.get(name)?.() };
}

type Jobs = {
  gated: { data: { name: string }; result: string; progress: never };
  double: { data: { value: number }; result: { value: number; inWorker: boolean }; progress: { fraction: number } };
  untilAborted: { data: object; result: never; progress: never };
  throwsBug: { data: object; result: never; progress: never };
  throwsUserError: { data: object; result: never; progress: never };
  killsWorker: { data: object; result: never; progress: never };
  blockFor: { data: { ms: number }; result: { blockedMs: number }; progress: never };
};

const queues: InProcessQueue<Jobs>[] = [];
function makeQueue(limits: Partial<QueueLimits> = {}, g = gate(), fairness: FairnessOptions = {}): InProcessQueue<Jobs> {
  const queue = new InProcessQueue<Jobs>(
    {
      gated: g.ref,
      double: inWorker('double'),
      untilAborted: inWorker('untilAborted'),
      throwsBug: inWorker('throwsBug'),
      throwsUserError: inWorker('throwsUserError'),
      killsWorker: inWorker('killsWorker'),
      blockFor: inWorker('blockFor'),
    },
    { concurrency: 1, maxPending: 10, maxPerUser: 10, maxPerGuild: 10, ...limits },
    undefined,
    undefined,
    fairness,
  );
  queues.push(queue);
  return queue;
}
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

const owner = (userId = 'u1', guildId = 'g1') => ({ userId, guildId, label: 'test' });

describe('InProcessQueue', () => {
  it('GIVEN concurrency 1 WHEN three jobs are queued THEN they run in order and positions move up as each finishes', async () => {
    const g = gate();
    const queue = makeQueue({}, g);
    const a = queue.enqueue('gated', { name: 'a' }, owner());
    const b = queue.enqueue('gated', { name: 'b' }, owner());
    const c = queue.enqueue('gated', { name: 'c' }, owner());
    const seenByC: number[] = [];
    c.onPosition((p) => seenByC.push(p));
    expect([a.position(), b.position(), c.position()]).toEqual([0, 1, 2]);
    expect(queue.list({ guildId: 'g1' }).map((j: JobInfo) => [j.state, j.position])).toEqual([['running', 0], ['waiting', 1], ['waiting', 2]]);
    g.open('a');
    expect(await a.result).toBe('a');
    await vi.waitFor(() => expect(g.started).toContain('b'));
    g.open('b');
    await b.result;
    await vi.waitFor(() => expect(g.started).toContain('c'));
    g.open('c');
    expect(await c.result).toBe('c');
    expect(g.started).toEqual(['a', 'b', 'c']);
    expect(seenByC).toEqual([1, 0]);
    expect(c.position()).toBe(-1);
  });

  it('GIVEN the limits WHEN exceeded per user, per guild and overall THEN QUEUE_FULL says which, and other users still get in', () => {
    const queue = makeQueue({ maxPerUser: 1, maxPerGuild: 2, maxPending: 3 });
    queue.enqueue('gated', { name: '1' }, owner('u1', 'g1'));
    expect(() => queue.enqueue('gated', { name: '2' }, owner('u1', 'g1'))).toThrow(/You already have 1 job/);
    queue.enqueue('gated', { name: '3' }, owner('u2', 'g1'));
    expect(() => queue.enqueue('gated', { name: '4' }, owner('u3', 'g1'))).toThrow(/This server already has 2 jobs/);
    queue.enqueue('gated', { name: '5' }, owner('u1', 'g2'));
    const full = (): unknown => queue.enqueue('gated', { name: '6' }, owner('u9', 'g3'));
    expect(full).toThrow(MotifError);
    expect(full).toThrow(/The queue is full/);
  });

  it('GIVEN a guild setting WHEN it raises the per-user limit THEN that guild allows more', () => {
    const queue = makeQueue({ maxPerUser: 1 });
    queue.enqueue('gated', { name: '1' }, owner());
    expect(() => queue.enqueue('gated', { name: '2' }, { ...owner(), maxPerUser: 2 })).not.toThrow();
  });

  it('GIVEN a waiting job WHEN its owner cancels it THEN it rejects JOB_CANCELLED, never starts, and the next moves up', async () => {
    const g = gate();
    const queue = makeQueue({}, g);
    queue.enqueue('gated', { name: 'a' }, owner());
    const b = queue.enqueue('gated', { name: 'b' }, owner('u2'));
    const c = queue.enqueue('gated', { name: 'c' }, owner());
    expect(() => queue.cancel(b.id, { guildId: 'g1', userId: 'u1' })).toThrow(/only cancel your own/);
    expect(() => queue.cancel(b.id, { guildId: 'g2', userId: 'u2' })).toThrow(/No job/);
    queue.cancel(b.id, { guildId: 'g1', userId: 'u2' });
    await expect(b.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect(c.position()).toBe(1);
    g.open('a');
    await vi.waitFor(() => expect(g.started).toEqual(['a', 'c']));
    g.open('c');
    expect(await c.result).toBe('c');
  });

  it('GIVEN a running job in a worker WHEN cancelled THEN it rejects JOB_CANCELLED and the queue runs the next job', async () => {
    const queue = makeQueue();
    const running = queue.enqueue('untilAborted', {}, owner());
    const next = queue.enqueue('double', { value: 4 }, owner());
    running.cancel();
    await expect(running.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect((await next.result).value).toBe(8);
  });

  it('GIVEN a processor in a worker WHEN it runs THEN it ran off the main thread and its progress arrives', async () => {
    const queue = makeQueue();
    const job = queue.enqueue('double', { value: 21 }, owner());
    const fractions: number[] = [];
    job.onProgress((p) => fractions.push(p.fraction));
    expect(await job.result).toEqual({ value: 42, inWorker: true });
    expect(fractions).toEqual([0.25, 0.5, 1]);
  });

  it('GIVEN processors that throw or kill their worker WHEN run THEN users get JOB_FAILED or the MotifError, and the queue keeps working', async () => {
    const queue = makeQueue();
    const failures: string[] = [];
    queue.on('error', (_error, job) => failures.push(job.kind));
    const bug = queue.enqueue('throwsBug', {}, owner());
    const user = queue.enqueue('throwsUserError', {}, owner());
    const crash = queue.enqueue('killsWorker', {}, owner());
    const after = queue.enqueue('double', { value: 1 }, owner());
    await expect(bug.result).rejects.toMatchObject({ code: 'JOB_FAILED' });
    await expect(user.result).rejects.toMatchObject({ code: 'MIDI_INVALID', userMessage: 'That file is not a MIDI file.' });
    await expect(crash.result).rejects.toMatchObject({ code: 'JOB_FAILED' });
    expect(await after.result).toEqual({ value: 2, inWorker: true });
    expect(failures).toEqual(['throwsBug', 'killsWorker']);
  });

  it('GIVEN a worker job that blocks its thread WHEN it runs THEN the main event loop keeps turning (the gateway heartbeat would too)', async () => {
    const queue = makeQueue();
    const job = queue.enqueue('blockFor', { ms: 1500 }, owner());
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

  it('GIVEN a closed queue WHEN a job is enqueued THEN it is refused and waiting jobs were cancelled', async () => {
    const queue = makeQueue();
    const waiting = queue.enqueue('gated', { name: 'x' }, owner());
    await queue.close();
    await expect(waiting.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect(() => queue.enqueue('gated', { name: 'y' }, owner())).toThrow(MotifError);
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
      const heavy = ['heavy-1', 'heavy-2', 'heavy-3'].map((name) => queue.enqueue('gated', { name }, { ...owner('alice'), cost: 60 }));
      const light = queue.enqueue('gated', { name: 'light' }, { ...owner('bob'), cost: 1 });
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
      const first = queue.enqueue('gated', { name: 'a-1' }, { ...owner('alice'), cost: 5 });
      const aliceAgain = queue.enqueue('gated', { name: 'a-2' }, { ...owner('alice'), cost: 5 });
      const bob = queue.enqueue('gated', { name: 'b-1' }, { ...owner('bob'), cost: 5 });
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
      const blocker = queue.enqueue('gated', { name: 'blocker' }, { ...owner('carol'), cost: 1 });
      const heavy = queue.enqueue('gated', { name: 'heavy' }, { ...owner('alice'), cost: 60 });
      let previous = 'blocker';
      let previousHandle = blocker;
      for (let i = 0; i < 10; i++) {
        const name = `light-${i}`;
        const handle = queue.enqueue('gated', { name }, { ...owner(`user-${i}`), cost: 1 });
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
