/**
 * The operators' endpoint over real HTTP (an ephemeral port on 127.0.0.1) in front of real queues
 * that run jobs: what /metrics shows after jobs complete, fail and are cancelled, and what /healthz
 * answers when a check fails. The BullMQ half runs against the real Redis under a prefix of its own.
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { BullQueue } from '../../src/jobs/bullmq-queue.js';
import { InProcessQueue } from '../../src/jobs/in-process-queue.js';
import type { ProcessorRef } from '../../src/jobs/processor.js';
import type { QueueLimits } from '../../src/jobs/queue.js';
import type { QueueObserver } from '../../src/jobs/queue-observer.js';
import { healthChecks } from '../../src/ops/health.js';
import { startOpsServer, type OpsServer } from '../../src/ops/http-server.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { startProcessMetrics } from '../../src/ops/process-metrics.js';
import { gate } from '../jobs/queue-behaviour.js';
import { sampleValue } from '../support/prom-text.js';
import { RedisOutage, deleteKeys, uniquePrefix, withRedis } from '../support/redis.js';

const FIXTURES = new URL('../jobs/fixtures/processors.ts', import.meta.url).href;
const inWorker = (exportName: string): ProcessorRef => ({ kind: 'worker', moduleUrl: FIXTURES, exportName });
const owner = { guildId: '100000000000000001', userId: '200000000000000001', label: 'test' };
const LIMITS: QueueLimits = { concurrency: { interactive: 1, batch: 1 }, maxPending: 20, maxPerUser: 20, maxPerGuild: 20 };

type Jobs = {
  double: { data: { value: number }; result: { value: number; inWorker: boolean }; progress: { fraction: number } };
  refuse: { data: object; result: never; progress: never };
  bug: { data: object; result: never; progress: never };
  held: { data: { name: string }; result: string; progress: never };
};
const LANES = { double: 'interactive', refuse: 'interactive', bug: 'interactive', held: 'batch' } as const;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function get(server: OpsServer, path: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`${server.url}${path}`, init);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** Waits for state the queue changes after an event (generous: a loaded 2-core machine; no speed claim). */
function eventually<T>(check: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(check, { timeout: 15_000, interval: 20 });
}

describe('metrics and health over HTTP (in-process queue)', () => {
  it('GIVEN jobs that completed, failed and were cancelled and batch jobs running and waiting WHEN /metrics is scraped THEN durations, failures, waits, depth and workers carry the right labels', async () => {
    const metrics = createMetrics();
    const held = gate();
    const queue = new InProcessQueue<Jobs>({
      processors: { double: inWorker('double'), refuse: inWorker('throwsUserError'), bug: inWorker('throwsBug'), held: held.ref },
      lanes: LANES,
      limits: LIMITS,
      observer: metrics.observer,
    });
    cleanups.push(() => queue.close());
    const ops = await startProcessMetrics(queue, { port: 0, metrics });
    cleanups.push(() => ops.close());
    expect(ops.url).toBe(`http://127.0.0.1:${ops.port}`);

    expect((await (await queue.enqueue('double', { value: 2 }, owner)).result).value).toBe(4);
    await expect((await queue.enqueue('refuse', {}, owner)).result).rejects.toMatchObject({ code: 'MIDI_INVALID' });
    await expect((await queue.enqueue('bug', {}, owner)).result).rejects.toMatchObject({ code: 'JOB_FAILED' });
    const first = await queue.enqueue('held', { name: 'a' }, owner);
    await queue.enqueue('held', { name: 'b' }, owner);
    await eventually(() => expect(held.started).toEqual(['a']));

    const page = await get(ops, '/metrics');
    expect(page.status).toBe(200);
    expect(page.type).toBe(metrics.registry.contentType);
    const m = page.body;
    expect(sampleValue(m, 'motif_job_duration_seconds_count', { kind: 'double', outcome: 'completed' })).toBe(1);
    expect(sampleValue(m, 'motif_job_duration_seconds_count', { kind: 'refuse', outcome: 'failed' })).toBe(1);
    expect(sampleValue(m, 'motif_job_duration_seconds_count', { kind: 'bug', outcome: 'failed' })).toBe(1);
    expect(sampleValue(m, 'motif_job_duration_seconds_bucket', { kind: 'double', outcome: 'completed', le: '+Inf' })).toBe(1);
    expect(sampleValue(m, 'motif_job_failures_total', { kind: 'refuse', reason: 'MIDI_INVALID' })).toBe(1);
    expect(sampleValue(m, 'motif_job_failures_total', { kind: 'bug', reason: 'crash' })).toBe(1);
    expect(sampleValue(m, 'motif_job_failures_total', { kind: 'double', reason: 'crash' })).toBeUndefined();
    expect(sampleValue(m, 'motif_queue_wait_seconds_count', { lane: 'interactive' })).toBe(3);
    expect(sampleValue(m, 'motif_queue_wait_seconds_count', { lane: 'batch' })).toBe(1);
    expect(sampleValue(m, 'motif_jobs_enqueued_total', { kind: 'held', lane: 'batch' })).toBe(2);
    expect(sampleValue(m, 'motif_queue_depth', { lane: 'batch', state: 'running' })).toBe(1);
    expect(sampleValue(m, 'motif_queue_depth', { lane: 'batch', state: 'waiting' })).toBe(1);
    expect(sampleValue(m, 'motif_queue_depth', { lane: 'interactive', state: 'running' })).toBe(0);
    expect(sampleValue(m, 'motif_queue_depth', { lane: 'interactive', state: 'waiting' })).toBe(0);
    // The three interactive jobs ran in one worker thread, kept for the next; the batch lane's are inline.
    expect(sampleValue(m, 'motif_workers_alive', { lane: 'interactive' })).toBe(1);
    expect(sampleValue(m, 'motif_workers_alive', { lane: 'batch' })).toBe(0);
    // prom-client's process metrics, under our prefix.
    expect(sampleValue(m, 'motif_process_cpu_seconds_total')).toBeGreaterThan(0);

    // A running job cancelled: a cancelled run, not a failure; the waiting one starts.
    await first.cancel();
    await eventually(() => expect(held.started).toEqual(['a', 'b']));
    const after = (await get(ops, '/metrics')).body;
    expect(sampleValue(after, 'motif_job_duration_seconds_count', { kind: 'held', outcome: 'cancelled' })).toBe(1);
    expect(sampleValue(after, 'motif_job_failures_total', { kind: 'held', reason: 'crash' })).toBeUndefined();
    expect(sampleValue(after, 'motif_queue_depth', { lane: 'batch', state: 'running' })).toBe(1);
    expect(sampleValue(after, 'motif_queue_depth', { lane: 'batch', state: 'waiting' })).toBe(0);
    expect(sampleValue(after, 'motif_queue_wait_seconds_count', { lane: 'batch' })).toBe(2);
  }, 60_000);

  it('GIVEN every check passing WHEN one fails THEN /healthz turns from 200 to 503 naming the failing check; other paths are 404, other methods 405', async () => {
    const metrics = createMetrics();
    const queue = new InProcessQueue<Jobs>({ processors: { double: inWorker('double'), refuse: gate().ref, bug: gate().ref, held: gate().ref }, lanes: LANES, limits: LIMITS });
    cleanups.push(() => queue.close());
    let storageDown = false;
    const ops = await startProcessMetrics(queue, {
      port: 0,
      metrics,
      checks: {
        storage: () => {
          if (storageDown) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        },
      },
    });
    cleanups.push(() => ops.close());

    const healthy = await get(ops, '/healthz');
    expect(healthy.status).toBe(200);
    expect(healthy.type).toMatch(/^application\/json/);
    expect(JSON.parse(healthy.body)).toEqual({ ok: true, checks: { queue: 'ok', storage: 'ok' } });

    storageDown = true;
    const sick = await get(ops, '/healthz');
    expect(sick.status).toBe(503);
    expect(JSON.parse(sick.body)).toEqual({ ok: false, checks: { queue: 'ok', storage: 'connect ECONNREFUSED 127.0.0.1:5432' } });

    expect((await get(ops, '/')).status).toBe(404);
    expect((await get(ops, '/metrics/../secret')).status).toBe(404);
    expect((await get(ops, '/metrics', { method: 'POST' })).status).toBe(405);
  });

  it('GIVEN a check that never answers WHEN /healthz is asked THEN it answers 503 at the check deadline instead of hanging', async () => {
    const report = await healthChecks({ fine: () => undefined, stuck: () => new Promise(() => undefined) }, 50)();
    expect(report).toEqual({ ok: false, checks: { fine: 'ok', stuck: 'no answer within 50 ms' } });
  });

  it('GIVEN a scraper waiting on an answer that never comes WHEN the server closes THEN close resolves, the request is dropped and the port refuses connections', async () => {
    let asked!: () => void;
    const healthAsked = new Promise<void>((resolve) => (asked = resolve));
    const ops = await startOpsServer({
      port: 0,
      registry: createMetrics().registry,
      health: () => {
        asked();
        return new Promise(() => undefined);
      },
    });
    const pending = fetch(`${ops.url}/healthz`);
    await healthAsked;
    // server.close() alone waits for that response forever: a stuck probe would block shutdown.
    await ops.close();
    await expect(pending).rejects.toThrow();
    await expect(fetch(`${ops.url}/metrics`)).rejects.toThrow();
  });

  it('GIVEN the server WHEN reached on a non-loopback address of this machine THEN the connection is refused (it listens on 127.0.0.1 only)', async (ctx) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!external) return ctx.skip();
    const queue = new InProcessQueue<Jobs>({ processors: { double: gate().ref, refuse: gate().ref, bug: gate().ref, held: gate().ref }, lanes: LANES, limits: LIMITS });
    cleanups.push(() => queue.close());
    const ops = await startProcessMetrics(queue, { port: 0, metrics: createMetrics() });
    cleanups.push(() => ops.close());
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: external, port: ops.port });
      socket.once('connect', () => (socket.destroy(), resolve('connected')));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(outcome).toBe('ECONNREFUSED');
  });

  it('GIVEN the port already taken WHEN a second server starts on it THEN one MotifError names METRICS_PORT', async () => {
    const queue = new InProcessQueue<Jobs>({ processors: { double: gate().ref, refuse: gate().ref, bug: gate().ref, held: gate().ref }, lanes: LANES, limits: LIMITS });
    cleanups.push(() => queue.close());
    const ops = await startProcessMetrics(queue, { port: 0, metrics: createMetrics() });
    cleanups.push(() => ops.close());
    const second = startProcessMetrics(queue, { port: ops.port, metrics: createMetrics() });
    await expect(second).rejects.toBeInstanceOf(MotifError);
    await expect(second).rejects.toMatchObject({ code: 'CONFIG_INVALID', userMessage: expect.stringMatching(/^METRICS_PORT: port \d+ on 127\.0\.0\.1 is already in use/) });
  });

  it('GIVEN an observer that throws WHEN jobs run THEN they still complete (metrics never fail a job)', async () => {
    const broken: QueueObserver = {
      jobEnqueued: () => {
        throw new Error('observer bug');
      },
      jobStarted: () => {
        throw new Error('observer bug');
      },
      jobFinished: () => {
        throw new Error('observer bug');
      },
    };
    const queue = new InProcessQueue<Jobs>({
      processors: { double: { kind: 'inline', run: async (data: { value: number }) => ({ value: data.value * 2, inWorker: false }) }, refuse: gate().ref, bug: gate().ref, held: gate().ref },
      lanes: LANES,
      limits: LIMITS,
      observer: broken,
    });
    cleanups.push(() => queue.close());
    expect(await (await queue.enqueue('double', { value: 21 }, owner)).result).toEqual({ value: 42, inWorker: false });
  });
});

const describeRedis = await withRedis('BullMQ metrics (test/ops/metrics.int.test.ts)');
const PREFIX = uniquePrefix('ops-metrics');

describeRedis('metrics and health over HTTP (BullMQ queue on Redis)', () => {
  afterAll(async () => {
    await deleteKeys(PREFIX);
  });

  it('GIVEN a BullMQ queue running jobs in this process WHEN /metrics is scraped THEN it shows the runs, depth and one worker process per lane; WHEN Redis goes away THEN /healthz is 503 for the queue and /metrics still answers', async () => {
    const outage = new RedisOutage();
    await outage.up();
    cleanups.push(() => outage.down());
    const metrics = createMetrics();
    const held = gate();
    const queue = new BullQueue<Jobs>({
      url: `redis://127.0.0.1:${outage.port}`,
      prefix: PREFIX,
      processors: {
        double: { kind: 'inline', run: async (data: { value: number }) => ({ value: data.value * 2, inWorker: false }) },
        refuse: {
          kind: 'inline',
          run: async () => {
            throw new MotifError('MIDI_INVALID', 'That file is not a MIDI file.');
          },
        },
        bug: gate().ref,
        held: held.ref,
      },
      lanes: LANES,
      limits: LIMITS,
      workerLanes: ['interactive', 'batch'],
      observer: metrics.observer,
    });
    cleanups.push(() => queue.close());
    await queue.ready();
    const ops = await startProcessMetrics(queue, { port: 0, metrics });
    cleanups.push(() => ops.close());

    expect((await (await queue.enqueue('double', { value: 2 }, owner)).result).value).toBe(4);
    await expect((await queue.enqueue('refuse', {}, owner)).result).rejects.toMatchObject({ code: 'MIDI_INVALID' });
    const running = await queue.enqueue('held', { name: 'a' }, owner);
    await eventually(() => expect(held.started).toEqual(['a']));
    await eventually(async () => expect(await queue.position(running.id)).toBe(0));

    const m = (await get(ops, '/metrics')).body;
    expect(sampleValue(m, 'motif_job_duration_seconds_count', { kind: 'double', outcome: 'completed' })).toBe(1);
    expect(sampleValue(m, 'motif_job_duration_seconds_count', { kind: 'refuse', outcome: 'failed' })).toBe(1);
    expect(sampleValue(m, 'motif_job_failures_total', { kind: 'refuse', reason: 'MIDI_INVALID' })).toBe(1);
    expect(sampleValue(m, 'motif_jobs_enqueued_total', { kind: 'double', lane: 'interactive' })).toBe(1);
    expect(sampleValue(m, 'motif_queue_wait_seconds_count', { lane: 'interactive' })).toBe(2);
    expect(sampleValue(m, 'motif_queue_depth', { lane: 'batch', state: 'running' })).toBe(1);
    expect(sampleValue(m, 'motif_queue_depth', { lane: 'interactive', state: 'waiting' })).toBe(0);
    // One process runs a BullMQ Worker for every kind: one per lane, not one per kind.
    expect(sampleValue(m, 'motif_workers_alive', { lane: 'interactive' })).toBe(1);
    expect(sampleValue(m, 'motif_workers_alive', { lane: 'batch' })).toBe(1);
    const healthy = await get(ops, '/healthz');
    expect([healthy.status, JSON.parse(healthy.body)]).toEqual([200, { ok: true, checks: { queue: 'ok' } }]);

    // Cancelled while running in this process's worker: a cancelled run, reported once.
    await running.cancel();
    await eventually(async () => expect(sampleValue((await get(ops, '/metrics')).body, 'motif_job_duration_seconds_count', { kind: 'held', outcome: 'cancelled' })).toBe(1));
    expect(sampleValue((await get(ops, '/metrics')).body, 'motif_job_failures_total', { kind: 'held', reason: 'crash' })).toBeUndefined();

    await outage.down();
    await eventually(async () => expect((await get(ops, '/healthz')).status).toBe(503));
    const sick = JSON.parse((await get(ops, '/healthz')).body) as { ok: boolean; checks: Record<string, string> };
    expect(sick.ok).toBe(false);
    expect(sick.checks.queue).toMatch(/job queue cannot be reached/);
    const page = await get(ops, '/metrics');
    expect(page.status).toBe(200);
    // Depth unknown while Redis is away: no series rather than stale numbers. What was measured stays.
    expect(sampleValue(page.body, 'motif_queue_depth', { lane: 'batch', state: 'running' })).toBeUndefined();
    expect(sampleValue(page.body, 'motif_job_duration_seconds_count', { kind: 'double', outcome: 'completed' })).toBe(1);
  }, 60_000);
});
