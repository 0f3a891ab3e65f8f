/**
 * One behaviour suite for every JobQueue backend: the in-process queue and the BullMQ queue each run
 * it (queue.test.ts, bullmq-queue.int.test.ts), so commands can rely on the same answers whichever
 * QUEUE_URL says. Nothing here reads a clock: order is controlled with gated processors that finish
 * only when the test opens them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MotifError } from '../../src/errors.js';
import type { ProcessorContext, ProcessorRef } from '../../src/jobs/processor.js';
import type { JobQueue, LaneMap, QueueLimits } from '../../src/jobs/queue.js';

const FIXTURES = new URL('./fixtures/processors.ts', import.meta.url).href;
const inWorker = (exportName: string): ProcessorRef => ({ kind: 'worker', moduleUrl: FIXTURES, exportName });

export type SuiteJobs = {
  gated: { data: { name: string }; result: string; progress: never };
  gatedBatch: { data: { name: string }; result: string; progress: never };
  double: { data: { value: number }; result: { value: number; inWorker: boolean }; progress: { fraction: number } };
  untilAborted: { data: object; result: never; progress: never };
  throwsBug: { data: object; result: never; progress: never };
  userErrorCounted: { data: object; result: never; progress: never };
  killsWorker: { data: object; result: never; progress: never };
};

export const SUITE_LANES: LaneMap<SuiteJobs> = {
  gated: 'interactive',
  gatedBatch: 'batch',
  double: 'interactive',
  untilAborted: 'interactive',
  throwsBug: 'interactive',
  userErrorCounted: 'interactive',
  killsWorker: 'interactive',
};

export interface SuiteQueueOptions {
  processors: { [K in keyof SuiteJobs]: ProcessorRef };
  lanes: LaneMap<SuiteJobs>;
  limits: QueueLimits;
  /** Tries for failures that are not MotifErrors (backends without retries ignore it). */
  attempts: Partial<Record<keyof SuiteJobs, number>>;
}

export type MakeQueue = (opts: SuiteQueueOptions) => Promise<JobQueue<SuiteJobs>>;

/** An inline processor that finishes only when the test says so: order and positions without clocks. */
export function gate(): { ref: ProcessorRef; open: (name: string) => void; started: string[] } {
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

const owner = (userId = 'u1', guildId = 'g1') => ({ userId, guildId, label: 'test' });

/**
 * Waits for state another process or Redis changes (vi.waitFor's 1 s default is too short for a
 * loaded 2-core machine; nothing here is a speed claim).
 */
function eventually<T>(check: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(check, { timeout: 15_000, interval: 20 });
}


/**
 * What a graceful stop does with a job that outlives the grace period: the in-process queue cuts it
 * off (it dies with the process); a shared queue hands it over (it stays queued for another worker
 * and the restarted bot delivers it).
 */
export type LeftAtShutdown = 'cut-off' | 'handed-over';

export function describeJobQueueBehaviour(
  backend: string,
  makeQueue: MakeQueue,
  describeFn: typeof describe | ReturnType<typeof describe.runIf> = describe,
  leftAtShutdown: LeftAtShutdown = 'cut-off',
): void {
  describeFn(`JobQueue behaviour (${backend})`, () => {
    const queues: JobQueue<SuiteJobs>[] = [];
    afterEach(async () => {
      await Promise.all(queues.splice(0).map((q) => q.close()));
    });

    async function setUp(limits: Partial<QueueLimits> = {}): Promise<{
      queue: JobQueue<SuiteJobs>;
      interactive: ReturnType<typeof gate>;
      batch: ReturnType<typeof gate>;
      userErrorCalls: () => number;
    }> {
      const interactive = gate();
      const batch = gate();
      let calls = 0;
      const queue = await makeQueue({
        processors: {
          gated: interactive.ref,
          gatedBatch: batch.ref,
          double: inWorker('double'),
          untilAborted: inWorker('untilAborted'),
          throwsBug: inWorker('throwsBug'),
          userErrorCounted: {
            kind: 'inline',
            run: async () => {
              calls += 1;
              throw new MotifError('MIDI_INVALID', 'That file is not a MIDI file.');
            },
          },
          killsWorker: inWorker('killsWorker'),
        },
        lanes: SUITE_LANES,
        limits: { concurrency: { interactive: 1, batch: 1 }, maxPending: 10, maxPerUser: 10, maxPerGuild: 10, ...limits },
        // Retries allowed: a MotifError must still be final.
        attempts: { userErrorCounted: 3 },
      });
      queues.push(queue);
      return { queue, interactive, batch, userErrorCalls: () => calls };
    }

    it('GIVEN one lane slot WHEN three equal jobs are queued THEN they run in order and positions move up as each finishes', async () => {
      const { queue, interactive: g } = await setUp();
      const a = await queue.enqueue('gated', { name: 'a' }, owner());
      const b = await queue.enqueue('gated', { name: 'b' }, owner());
      const c = await queue.enqueue('gated', { name: 'c' }, owner());
      const seenByC: number[] = [];
      c.onPosition((p) => seenByC.push(p));
      await eventually(() => expect([a.position(), b.position(), c.position()]).toEqual([0, 1, 2]));
      expect((await queue.list({ guildId: 'g1' })).map((j) => [j.id, j.state, j.position])).toEqual([
        [a.id, 'running', 0],
        [b.id, 'waiting', 1],
        [c.id, 'waiting', 2],
      ]);
      g.open('a');
      expect(await a.result).toBe('a');
      await eventually(() => expect(g.started).toContain('b'));
      await eventually(() => expect(c.position()).toBe(1));
      g.open('b');
      await b.result;
      await eventually(() => expect(g.started).toContain('c'));
      g.open('c');
      expect(await c.result).toBe('c');
      expect(g.started).toEqual(['a', 'b', 'c']);
      expect(seenByC).toEqual([1, 0]);
      expect(c.position()).toBe(-1);
      expect(await queue.position(c.id)).toBe(-1);
    });

    it("GIVEN one user's heavy job running and another queued WHEN a second user sends a light job THEN it runs before the heavy one", async () => {
      const { queue, interactive: g } = await setUp();
      const heavy1 = await queue.enqueue('gated', { name: 'heavy-1' }, { ...owner('alice'), cost: 60 });
      await eventually(() => expect(g.started).toEqual(['heavy-1']));
      const heavy2 = await queue.enqueue('gated', { name: 'heavy-2' }, { ...owner('alice'), cost: 60 });
      const light = await queue.enqueue('gated', { name: 'light' }, { ...owner('bob'), cost: 1 });
      // Shown as next in line at once, before anything moves.
      await eventually(async () => expect([await queue.position(light.id), await queue.position(heavy2.id)]).toEqual([1, 2]));
      g.open('heavy-1');
      await heavy1.result;
      await eventually(() => expect(g.started).toEqual(['heavy-1', 'light']));
      g.open('light');
      await light.result;
      await eventually(() => expect(g.started).toEqual(['heavy-1', 'light', 'heavy-2']));
      g.open('heavy-2');
      await heavy2.result;
    });

    it("GIVEN one server's burst from four members WHEN another server sends one job THEN it starts next, ahead of the rest of the burst", async () => {
      const { queue, interactive: g } = await setUp({ maxPerGuild: 10 });
      const burst = [];
      for (const member of ['a1', 'a2', 'a3', 'a4']) burst.push(await queue.enqueue('gated', { name: member }, owner(member, 'guild-a')));
      await eventually(() => expect(g.started).toEqual(['a1']));
      const single = await queue.enqueue('gated', { name: 'b1' }, owner('b1', 'guild-b'));
      await eventually(async () => expect(await queue.position(single.id)).toBe(1));
      g.open('a1');
      await eventually(() => expect(g.started).toEqual(['a1', 'b1']));
      for (const name of ['b1', 'a2', 'a3', 'a4']) {
        await eventually(() => expect(g.started).toContain(name));
        g.open(name);
      }
      await Promise.all([single.result, ...burst.map((job) => job.result)]);
      expect(g.started).toEqual(['a1', 'b1', 'a2', 'a3', 'a4']);
    });

    it('GIVEN a long batch job holding its lane WHEN an interactive job arrives THEN it starts and finishes at once, while the batch job keeps running and the next batch job waits', async () => {
      const { queue, interactive, batch } = await setUp();
      const long = await queue.enqueue('gatedBatch', { name: 'train' }, owner('admin'));
      await eventually(() => expect(batch.started).toEqual(['train']));
      const nextBatch = await queue.enqueue('gatedBatch', { name: 'train-2' }, owner('admin2'));
      const quick = await queue.enqueue('gated', { name: 'compose' }, owner('member'));
      expect(quick.lane).toBe('interactive');
      expect(long.lane).toBe('batch');
      await eventually(() => expect(interactive.started).toEqual(['compose']));
      // Positions count within a lane: the compose is running, the second batch job is first in its own line.
      await eventually(() => expect([quick.position(), nextBatch.position()]).toEqual([0, 1]));
      interactive.open('compose');
      expect(await quick.result).toBe('compose');
      const jobs = await queue.list();
      expect(jobs.map((j) => [j.id, j.lane, j.state, j.position])).toEqual([
        [long.id, 'batch', 'running', 0],
        [nextBatch.id, 'batch', 'waiting', 1],
      ]);
      expect(batch.started).toEqual(['train']);
      batch.open('train');
      await long.result;
      await eventually(() => expect(batch.started).toEqual(['train', 'train-2']));
      batch.open('train-2');
      await nextBatch.result;
    });

    it('GIVEN the limits WHEN exceeded per user, per guild and overall THEN QUEUE_FULL says which (both lanes count), and other users still get in', async () => {
      const { queue } = await setUp({ maxPerUser: 1, maxPerGuild: 2, maxPending: 3 });
      await queue.enqueue('gatedBatch', { name: '1' }, owner('u1', 'g1'));
      const second = queue.enqueue('gated', { name: '2' }, owner('u1', 'g1'));
      await expect(second).rejects.toBeInstanceOf(MotifError);
      await expect(second).rejects.toMatchObject({ code: 'QUEUE_FULL', userMessage: expect.stringMatching(/You already have 1 job queued/) });
      await queue.enqueue('gated', { name: '3' }, owner('u2', 'g1'));
      await expect(queue.enqueue('gated', { name: '4' }, owner('u3', 'g1'))).rejects.toMatchObject({
        code: 'QUEUE_FULL',
        userMessage: expect.stringMatching(/This server already has 2 jobs/),
      });
      await queue.enqueue('gated', { name: '5' }, owner('u1', 'g2'));
      await expect(queue.enqueue('gated', { name: '6' }, owner('u9', 'g3'))).rejects.toMatchObject({
        code: 'QUEUE_FULL',
        userMessage: expect.stringMatching(/The queue is full \(3 jobs\)/),
      });
    });

    it('GIVEN a guild setting WHEN it raises the per-user limit THEN that guild allows more', async () => {
      const { queue } = await setUp({ maxPerUser: 1 });
      await queue.enqueue('gated', { name: '1' }, owner());
      await expect(queue.enqueue('gated', { name: '2' }, { ...owner(), maxPerUser: 2 })).resolves.toMatchObject({ lane: 'interactive' });
    });

    it('GIVEN a finished job WHEN the same user enqueues again at their limit THEN the slot was given back', async () => {
      const { queue } = await setUp({ maxPerUser: 1 });
      const first = await queue.enqueue('double', { value: 1 }, owner());
      await first.result;
      const again = await queue.enqueue('double', { value: 2 }, owner());
      expect((await again.result).value).toBe(4);
    });

    it('GIVEN a waiting job WHEN its owner cancels it THEN it rejects JOB_CANCELLED, never starts, and the next moves up', async () => {
      const { queue, interactive: g } = await setUp();
      await queue.enqueue('gated', { name: 'a' }, owner());
      const b = await queue.enqueue('gated', { name: 'b' }, owner('u2'));
      const c = await queue.enqueue('gated', { name: 'c' }, owner());
      await expect(queue.cancel(b.id, { guildId: 'g1', userId: 'u1' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      await expect(queue.cancel(b.id, { guildId: 'g2', userId: 'u2' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await queue.cancel(b.id, { guildId: 'g1', userId: 'u2' });
      await expect(b.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
      await eventually(() => expect(c.position()).toBe(1));
      expect((await queue.list()).map((j) => j.id)).not.toContain(b.id);
      g.open('a');
      await eventually(() => expect(g.started).toEqual(['a', 'c']));
      g.open('c');
      expect(await c.result).toBe('c');
      expect(g.started).not.toContain('b');
    });

    it('GIVEN a running job in a worker thread WHEN cancelled THEN it rejects JOB_CANCELLED and the lane runs the next job', async () => {
      const { queue } = await setUp();
      const running = await queue.enqueue('untilAborted', {}, owner());
      const next = await queue.enqueue('double', { value: 4 }, owner());
      await eventually(async () => expect(await queue.position(running.id)).toBe(0));
      expect(await running.cancel()).toBe(true);
      await expect(running.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
      expect((await next.result).value).toBe(8);
      expect(await running.cancel()).toBe(false);
    });

    it('GIVEN a processor that throws a MotifError WHEN its kind allows retries THEN the user gets that error, typed, after one try', async () => {
      const { queue, userErrorCalls } = await setUp();
      const job = await queue.enqueue('userErrorCounted', {}, owner());
      const error = await job.result.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MotifError);
      expect(error).toMatchObject({ code: 'MIDI_INVALID', userMessage: 'That file is not a MIDI file.' });
      expect(userErrorCalls()).toBe(1);
    });

    it('GIVEN processors that throw a bug or kill their worker WHEN run THEN users get JOB_FAILED, an error event is raised, and the queue keeps working', async () => {
      const { queue } = await setUp();
      const failures: string[] = [];
      queue.on('error', (_error, job) => failures.push(job.kind));
      const bug = await queue.enqueue('throwsBug', {}, owner());
      const crash = await queue.enqueue('killsWorker', {}, owner());
      const after = await queue.enqueue('double', { value: 1 }, owner());
      await expect(bug.result).rejects.toMatchObject({ code: 'JOB_FAILED', userMessage: expect.stringContaining(bug.id) });
      await expect(crash.result).rejects.toMatchObject({ code: 'JOB_FAILED' });
      expect(await after.result).toEqual({ value: 2, inWorker: true });
      expect(failures.sort()).toEqual(['killsWorker', 'throwsBug']);
    });

    it('GIVEN a processor in a worker thread WHEN it reports progress THEN every step reaches the handle, in order', async () => {
      const { queue } = await setUp();
      const job = await queue.enqueue('double', { value: 21 }, owner());
      const fractions: number[] = [];
      job.onProgress((p) => fractions.push(p.fraction));
      expect(await job.result).toEqual({ value: 42, inWorker: true });
      await eventually(() => expect(fractions).toEqual([0.25, 0.5, 1]));
    });

    it('GIVEN a closed queue WHEN a job is enqueued THEN it is refused, and the jobs it had waiting were cancelled', async () => {
      const { queue } = await setUp();
      await queue.enqueue('gated', { name: 'running' }, owner());
      const waiting = await queue.enqueue('gated', { name: 'x' }, owner());
      await queue.close();
      await expect(waiting.result).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
      await expect(queue.enqueue('gated', { name: 'y' }, owner())).rejects.toMatchObject({ code: 'BOT_RESTARTED' });
    });

    it(`GIVEN a graceful shutdown WHEN one job finishes within the grace period and one does not THEN the first is delivered and the second is ${leftAtShutdown === 'cut-off' ? 'told the bot restarted' : 'handed over: told it stays queued'}`, async () => {
      const { queue, interactive, batch } = await setUp();
      const quick = await queue.enqueue('gated', { name: 'quick' }, owner('a'));
      const slow = await queue.enqueue('gatedBatch', { name: 'slow' }, owner('b'));
      await eventually(() => expect([interactive.started, batch.started]).toEqual([['quick'], ['slow']]));
      const stopping = queue.shutdown(1_000);
      // Refused at once, while the grace period runs.
      await expect(queue.enqueue('gated', { name: 'late' }, owner('c'))).rejects.toMatchObject({ code: 'BOT_RESTARTED' });
      interactive.open('quick');
      expect(await quick.result).toBe('quick');
      if (leftAtShutdown === 'cut-off') {
        expect(await stopping).toEqual({ finished: 1, cutOff: 1, handedOver: 0 });
        await expect(slow.result).rejects.toMatchObject({ code: 'BOT_RESTARTED', userMessage: 'Motif restarted before this finished. Please run the command again.' });
      } else {
        expect(await stopping).toEqual({ finished: 1, cutOff: 0, handedOver: 1 });
        await expect(slow.result).rejects.toMatchObject({
          code: 'JOB_HANDED_OVER',
          userMessage: 'Motif is restarting; your job stays in the queue and its result will be posted here when it is done.',
        });
      }
    });

    it('GIVEN jobs of two guilds WHEN listed for one THEN only its jobs are shown, each with kind, lane, label and owner', async () => {
      const { queue } = await setUp();
      const mine = await queue.enqueue('gated', { name: 'x' }, { ...owner('u1', 'g1'), label: 'compose length 20' });
      await queue.enqueue('gatedBatch', { name: 'y' }, owner('u2', 'g2'));
      const listed = await queue.list({ guildId: 'g1' });
      expect(listed).toEqual([
        expect.objectContaining({ id: mine.id, kind: 'gated', lane: 'interactive', label: 'compose length 20', guildId: 'g1', userId: 'u1' }),
      ]);
      expect((await queue.list()).map((j) => j.guildId).sort()).toEqual(['g1', 'g2']);
    });
  });
}
