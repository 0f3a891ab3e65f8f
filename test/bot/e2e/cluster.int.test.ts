/**
 * The bot and `npm run worker` as separate processes on one BullMQ queue (the bot only enqueues):
 * a real /train runs in the worker's batch lane while twenty members compose, and Redis goes away
 * for ten seconds (through a proxy this test owns: only its own connections are cut) and comes back.
 */
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import type { InteractionResponse } from '../../support/discord-server/index.js';
import { clusterSettings, withCluster } from '../../support/cluster.js';
import { RedisOutage } from '../../support/redis.js';
import { startWorkerProcess, type WorkerProcess } from '../../support/worker-process.js';
import { addCorpusPieces, scaleMidi, startHarness, type Harness } from './harness.js';

const JOB_WAIT_MS = 240_000;
const COMPOSES = 20;
const describeCluster = await withCluster('bot and workers as separate processes (test/bot/e2e/cluster.int.test.ts)');
const hasFiles = (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= 3 || r.followUps.length > 0;
const said = (r: InteractionResponse): string => [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

describeCluster('a /train in a worker process while twenty members compose (separate disks)', () => {
  const cluster = clusterSettings('e2e-cluster-train');
  let h: Harness;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    h = await startHarness({ env: { ...cluster.botEnv(), QUEUE_MAX_PER_GUILD: '30' } });
    worker = await startWorkerProcess({ ...cluster.workerEnv(), QUEUE_CONCURRENCY: '1', QUEUE_BATCH_CONCURRENCY: '1' });
  }, JOB_WAIT_MS);
  afterAll(async () => {
    await worker?.stop();
    await h?.stop();
    await cluster.cleanup();
  });

  it(`GIVEN a real fine-tune running in the worker's batch lane WHEN ${COMPOSES} members compose THEN every compose gets its files while the same training run goes on`, async () => {
    onTestFailed(async () => console.error(await h.describeState(), '\nworker log:\n', worker?.lines.join('\n')));
    const guildId = h.server.guild.id;
    // Long enough pieces that an epoch takes seconds, so the run outlasts twenty composes.
    await addCorpusPieces(h, 4, { midi: scaleMidi(Array.from({ length: 1_500 }, (_, i) => 48 + ((i * 7) % 24))) });
    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 200, from: 'default' }, user: h.server.users.admin });
    await h.server.waitForInteractionResponse(train, (r) => /^Training: epoch/.test(r.message?.content ?? '') || r.followUps.length > 0, JOB_WAIT_MS);
    const trainJob = (await h.bot.ctx.queue.list({ guildId })).find((j) => j.kind === 'train');
    expect(trainJob).toMatchObject({ lane: 'batch', state: 'running' });

    const members = Array.from({ length: COMPOSES }, (_, i) => h.server.createUser(`composer-${i}`));
    const composes = members.map((user) => h.server.sendSlashCommand({ name: 'compose', options: { length: 8 }, user }));
    const answers = await Promise.all(composes.map((c) => h.server.waitForInteractionResponse(c, hasFiles, JOB_WAIT_MS)));
    for (const r of answers) {
      expect(r.followUps, said(r)).toEqual([]);
      expect(r.message?.attachments.map((a) => a.filename.slice(-4)).sort()).toEqual(['.mid', '.mp3', '.png']);
    }
    // The queue says it, no clocks: all twenty are done and the same training run is still running.
    const now = await h.bot.ctx.queue.list({ guildId });
    expect(now.map((j) => [j.id, j.kind, j.state])).toEqual([[trainJob!.id, 'train', 'running']]);
    expect(worker!.startedJobs('compose')).toHaveLength(COMPOSES);
    expect(worker!.startedJobs('train')).toEqual([trainJob!.id]);

    const cancel = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'train', subcommand: 'cancel', user: h.server.users.admin }));
    expect(cancel.message?.content).toBe(`Cancelled training job \`${trainJob!.id}\`.`);
    await expect.poll(() => h.bot.ctx.queue.list({ guildId }), { timeout: 60_000 }).toEqual([]);
    // A cancelled run leaves nothing in the blob store: no half-made version, no stored checkpoint.
    await expect.poll(async () => (await h.bot.ctx.blobs.list(`guilds/${guildId}/checkpoints/`)).length, { timeout: 60_000 }).toBe(0);
    expect(await h.bot.ctx.blobs.list(`guilds/${guildId}/models/`)).toEqual([]);
    expect(await h.bot.ctx.storage.models.get(guildId)).toBeUndefined();
  }, JOB_WAIT_MS * 2);
});

describeCluster('Redis away for ten seconds under a bot and a worker process (separate disks)', () => {
  const cluster = clusterSettings('e2e-cluster-outage');
  const outage = new RedisOutage();
  let h: Harness;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    await outage.up();
    const redisUrl = `redis://127.0.0.1:${outage.port}`;
    h = await startHarness({ env: cluster.botEnv(redisUrl) });
    worker = await startWorkerProcess(cluster.workerEnv(redisUrl));
  }, JOB_WAIT_MS);
  afterAll(async () => {
    await worker?.stop();
    await h?.stop();
    await outage.down();
    await cluster.cleanup();
  });

  it('GIVEN Redis stops for 10 s WHEN members compose meanwhile THEN they are told Motif is busy, neither process crashes, and composing works again afterwards', async () => {
    onTestFailed(async () => console.error(await h.describeState(), '\nworker log:\n', worker?.lines.join('\n')));
    const compose = (user = h.server.users.member) => h.server.sendSlashCommand({ name: 'compose', options: { length: 8 }, user });
    const before = await h.server.waitForInteractionResponse(compose(), hasFiles, JOB_WAIT_MS);
    expect(before.followUps, said(before)).toEqual([]);

    await outage.down();
    const downAt = Date.now();
    const during = await h.server.waitForInteractionResponse(compose(h.server.createUser('during')));
    expect(during.message?.content, said(during)).toBe('Motif is busy right now (its job queue cannot be reached). Try again in a minute.');
    // Ten seconds of outage, measured from when it began (the answer above took part of them).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - downAt))));
    expect(h.server.gateway.isReady).toBe(true);
    await outage.up();

    await expect
      .poll(async () => said(await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'queue', subcommand: 'list' }))), { timeout: 60_000, interval: 1_000 })
      .toBe('Nothing is queued on this server.');
    const after = await h.server.waitForInteractionResponse(compose(h.server.createUser('after')), hasFiles, JOB_WAIT_MS);
    expect(after.followUps, said(after)).toEqual([]);
    expect(after.message?.attachments.map((a) => a.filename.slice(-4)).sort()).toEqual(['.mid', '.mp3', '.png']);
    // The worker that composed it is the one that was running all along.
    expect(worker!.startedJobs('compose')).toHaveLength(2);
    expect(await Promise.race([worker!.exited.then(() => 'exited'), Promise.resolve('running')])).toBe('running');
  }, JOB_WAIT_MS * 2);
});
