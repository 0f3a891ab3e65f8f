import { it, expect } from 'vitest';
import { WorkerPool, WorkerCrashError } from '../../src/jobs/worker-host.js';
const FIX = new URL('./fixtures/processors.ts', import.meta.url).href;
it('GIVEN workers that cannot start in time WHEN a job runs THEN it fails with a clear error instead of hanging', async () => {
  const pool = new WorkerPool({ startupTimeoutMs: 1 });
  const logs: string[] = [];
  const run = pool.run('j', FIX, 'double', { value: 2 }, { signal: new AbortController().signal, onProgress: () => {}, onLog: (m) => logs.push(m) });
  await expect(run).rejects.toThrow(/did not start within 1 ms/);
  await expect(run).rejects.toBeInstanceOf(WorkerCrashError);
  expect(logs.join()).toMatch(/retrying/);
  expect(pool.size).toBe(0);
  await pool.close();
  const ok = new WorkerPool();
  expect(await ok.run('k', FIX, 'double', { value: 2 }, { signal: new AbortController().signal, onProgress: () => {}, onLog: () => {} })).toMatchObject({ value: 4 });
  // reused worker: already ready, no startup timer
  expect(await ok.run('k2', FIX, 'double', { value: 3 }, { signal: new AbortController().signal, onProgress: () => {}, onLog: () => {} })).toMatchObject({ value: 6 });
  await ok.close();
});
