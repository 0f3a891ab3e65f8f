/**
 * The bot with METRICS_PORT set, against the local Discord-protocol server: a real /compose shows up
 * in its /metrics and /healthz says every check passes; once the bot is stopping (what SIGTERM does),
 * /healthz says so, a new command is told the bot is restarting, and the endpoint closes with it.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import type { ProcessorRef } from '../../../src/jobs/processor.js';
import { sampleValue } from '../../support/prom-text.js';
import type { InteractionResponse } from '../../support/discord-server/index.js';
import { startHarness, type Harness } from './harness.js';

const JOB_WAIT_MS = 120_000;
const TEST_TIMEOUT_MS = JOB_WAIT_MS + 60_000;

/** A port free right now on 127.0.0.1 (bound to 0, read, released): METRICS_PORT takes 1–65535 only. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

const said = (r: InteractionResponse): string => [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('the bot with METRICS_PORT', () => {
  it('GIVEN METRICS_PORT WHEN one /compose has been delivered THEN /metrics counts one completed compose and /healthz is 200 with storage, queue and gateway ok', async () => {
    const port = await freePort();
    h = await startHarness({ env: { METRICS_PORT: String(port) } });
    const harness = h;
    onTestFailed(async () => console.error(await harness.describeState()));
    const r = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'compose', options: { length: 30 } }),
      (x) => /Composed \d+ notes-or-chords/.test(x.message?.content ?? '') || x.followUps.length > 0,
      JOB_WAIT_MS,
    );
    expect(r.followUps, said(r)).toEqual([]);

    const metrics = await get(port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(sampleValue(metrics.body, 'motif_job_duration_seconds_count', { kind: 'compose', outcome: 'completed' })).toBe(1);
    expect(sampleValue(metrics.body, 'motif_jobs_enqueued_total', { kind: 'compose', lane: 'interactive' })).toBe(1);
    expect(sampleValue(metrics.body, 'motif_queue_depth', { lane: 'interactive', state: 'running' })).toBe(0);
    const health = await get(port, '/healthz');
    expect([health.status, JSON.parse(health.body)]).toEqual([200, { ok: true, checks: { queue: 'ok', storage: 'ok', gateway: 'ok' } }]);
  }, TEST_TIMEOUT_MS);

  it('GIVEN a job running WHEN the bot starts stopping THEN /healthz is 503 "shutting down", a new command is told Motif is restarting, and the endpoint closes with the bot', async () => {
    const port = await freePort();
    let started!: () => void;
    const composeStarted = new Promise<void>((resolve) => (started = resolve));
    // Runs until cancelled: the bot stays in its grace period for as long as the test needs.
    const heldCompose: ProcessorRef = {
      kind: 'inline',
      run: (_data, ctx) =>
        new Promise((_resolve, reject) => {
          started();
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    };
    h = await startHarness({ env: { METRICS_PORT: String(port) }, deps: { processors: { compose: heldCompose } } });
    const harness = h;
    onTestFailed(async () => console.error(await harness.describeState()));
    h.server.sendSlashCommand({ name: 'compose', options: { length: 30 } });
    await composeStarted;

    const stopping = h.bot.stop({ graceMs: JOB_WAIT_MS });
    const sick = await get(port, '/healthz');
    expect([sick.status, JSON.parse(sick.body)]).toEqual([503, { ok: false, checks: { queue: 'ok', storage: 'ok', gateway: 'shutting down' } }]);
    const late = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'list' }), (x) => x.message !== null || x.followUps.length > 0, 30_000);
    expect(late.message?.content ?? late.followUps[0]?.content).toBe('Motif is restarting; try again in a minute.');

    // Let the grace period end early: cancel the held job as an admin would.
    const [job] = await h.bot.ctx.queue.list();
    await h.bot.ctx.queue.cancel(job!.id, { guildId: job!.guildId, userId: job!.userId });
    await stopping;
    // Closed within stop(): nothing is left listening after the bot.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  }, TEST_TIMEOUT_MS);
});
