/**
 * The pool's `process` isolation (what `npm run worker` uses): each worker is a forked child, the
 * protocol is the thread one, and a child that dies, however it dies, takes only its own job.
 */
import { afterEach, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { WorkerCrashError, WorkerPool } from '../../src/jobs/worker-host.js';

const FIX = new URL('./fixtures/processors.ts', import.meta.url).href;
const pools: WorkerPool[] = [];
const newPool = (): WorkerPool => {
  const pool = new WorkerPool({ isolation: 'process' });
  pools.push(pool);
  return pool;
};
const quiet = (signal = new AbortController().signal) => ({ signal, onProgress: () => undefined, onLog: () => undefined });
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

it('GIVEN process isolation WHEN a job runs THEN it runs in a child process, reports progress, and the child is reused for the next job', async () => {
  const pool = newPool();
  const where = (await pool.run('a', FIX, 'whereAmI', {}, quiet())) as { pid: number; isMainThread: boolean };
  expect(where.pid).not.toBe(process.pid);
  expect(where.isMainThread).toBe(true);
  const progress: unknown[] = [];
  const doubled = await pool.run('b', FIX, 'double', { value: 21 }, { ...quiet(), onProgress: (p) => progress.push(p) });
  expect(doubled).toMatchObject({ value: 42 });
  expect(progress).toEqual([{ fraction: 0.25 }, { fraction: 0.5 }, { fraction: 1 }]);
  expect(((await pool.run('c', FIX, 'whereAmI', {}, quiet())) as { pid: number }).pid).toBe(where.pid);
  expect(pool.size).toBe(1);
});

it('GIVEN a processor that throws a MotifError in a child WHEN it fails THEN the error arrives typed with its user message', async () => {
  const failure = await newPool()
    .run('a', FIX, 'throwsUserError', {}, quiet())
    .catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(MotifError);
  expect((failure as MotifError).userMessage).toBe('That file is not a MIDI file.');
});

it('GIVEN a child that exits or is killed with SIGKILL mid-job WHEN the job runs THEN only that job fails (WorkerCrashError) and the pool runs the next job on a fresh child', async () => {
  const pool = newPool();
  await expect(pool.run('a', FIX, 'killsWorker', {}, quiet())).rejects.toThrow(/exited with code 3/);
  const { pid } = (await pool.run('b', FIX, 'whereAmI', {}, quiet())) as { pid: number };
  const running = pool.run('c', FIX, 'untilAborted', {}, quiet());
  // Give the job time to reach the child before it is killed the way an operator or the OOM killer would.
  await new Promise((resolve) => setTimeout(resolve, 300));
  process.kill(pid, 'SIGKILL');
  const crash = await running.catch((error: unknown) => error);
  expect(crash).toBeInstanceOf(WorkerCrashError);
  expect((crash as Error).message).toMatch(/exited with code 137/);
  expect(((await pool.run('d', FIX, 'whereAmI', {}, quiet())) as { pid: number }).pid).not.toBe(pid);
});

it('GIVEN a running job in a child WHEN it is aborted THEN the processor sees its signal and the job ends', async () => {
  const controller = new AbortController();
  const running = newPool().run('a', FIX, 'untilAborted', {}, quiet(controller.signal));
  setTimeout(() => controller.abort(), 200);
  // Aborted while running, or before the child had loaded the processor: either way it never finishes.
  await expect(running).rejects.toThrow(/aborted|cancelled before start/);
});
