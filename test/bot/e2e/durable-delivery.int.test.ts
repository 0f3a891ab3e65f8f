/**
 * Durable delivery end to end: the bot only enqueues (WORKER_LANES=none), a separate `npm run worker`
 * process composes, and the bot is restarted while five members wait. The jobs are handed over, not
 * cancelled; the worker finishes them while no bot runs; the restarted bot delivers each result by
 * editing the member's original reply, once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { Queue } from 'bullmq';
import type { InteractionResponse, SentInteraction } from '../../support/discord-server/index.js';
import { clusterSettings, withCluster } from '../../support/cluster.js';
import { startWorkerProcess, type WorkerProcess } from '../../support/worker-process.js';
import { addCorpusPieces, scaleMidi, startHarness, waitUntil, type Harness } from './harness.js';

const JOB_WAIT_MS = 180_000;
const describeCluster = await withCluster('durable delivery end to end (test/bot/e2e/durable-delivery.int.test.ts)');
const cluster = clusterSettings('e2e-delivery');
const hasFiles = (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= 3;
const said = (r: InteractionResponse): string => [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

describeCluster('results owed across a bot restart (bot and worker on separate disks)', () => {
  let h: Harness;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    h = await startHarness({ env: { ...cluster.botEnv(), QUEUE_MAX_PER_USER: '10' } });
  }, JOB_WAIT_MS);
  afterAll(async () => {
    await worker?.stop();
    await h?.stop();
    await cluster.cleanup();
  });

  it('GIVEN five composes queued WHEN the bot restarts and a worker finishes them meanwhile THEN each member gets their result in their original reply, none twice', async () => {
    onTestFailed(async () => console.error(await h.describeState(), '\nworker log:\n', worker?.lines.join('\n')));
    const users = Array.from({ length: 5 }, (_, i) => h.server.createUser(`waiting-${i}`));
    const sent: SentInteraction[] = users.map((user) => h.server.sendSlashCommand({ name: 'compose', options: { length: 8 }, user }));
    for (const interaction of sent) {
      const queued = await h.server.waitForInteractionResponse(interaction, (r) => /waiting in the queue/.test(r.message?.content ?? ''));
      expect(queued.message?.attachments).toEqual([]);
    }

    const composeQueue = new Queue('compose', { connection: { host: '127.0.0.1', port: 6379 }, prefix: cluster.prefix });
    try {
      await h.restartBot({
        beforeStart: async () => {
          // Stopping handed the jobs over: the members were told in place, and the jobs are still queued.
          for (const interaction of sent) {
            expect(h.server.response(interaction).message?.content).toBe(
              'Motif is restarting; your job stays in the queue and its result will be posted here when it is done.',
            );
          }
          expect(await composeQueue.getJobCountByTypes('wait', 'prioritized')).toBe(5);
          worker = await startWorkerProcess(cluster.workerEnv());
          await waitUntil(async () => (await composeQueue.getCompletedCount()) === 5, JOB_WAIT_MS, 'the worker to finish the five jobs while no bot runs');
        },
      });
    } finally {
      await composeQueue.close();
    }

    for (const interaction of sent) {
      const delivered = await h.server.waitForInteractionResponse(interaction, hasFiles, JOB_WAIT_MS);
      expect(delivered.followUps, said(delivered)).toEqual([]);
      expect(delivered.message?.attachments.map((a) => a.filename.slice(-4)).sort()).toEqual(['.mid', '.mp3', '.png']);
      expect(delivered.message?.content).toMatch(/^\*\*Composed 8 notes-or-chords\*\*/);
    }
    // Once each: five live messages carry a MIDI file, and no delivery record is left.
    const withMidi = h.server.messages().filter((m) => !m.deleted && m.attachments.some((a) => a.filename.endsWith('.mid')));
    expect(withMidi).toHaveLength(5);
    expect(new Set(withMidi.map((m) => m.interactionId))).toEqual(new Set(sent.map((s) => s.id)));
    await waitUntil(async () => (await h.bot.ctx.storage.deliveries.pending(h.server.guild.id)).length === 0, 30_000, 'the delivery records to go');
    expect(new Set(worker!.startedJobs('compose')).size).toBe(5);
    // No shared disk: the worker's data folder holds none of the results, the bot fetched them by key.
    expect(existsSync(join(cluster.workerDataDirs[0]!, 'guilds'))).toBe(false);
  }, JOB_WAIT_MS * 3);

  it('GIVEN a /train running on a worker WHEN the bot restarts meanwhile THEN the run goes on, and the restarted bot switches the server to the new model and tells the admin in the original reply', async () => {
    onTestFailed(async () => console.error(await h.describeState(), '\nworker log:\n', worker?.lines.join('\n')));
    const guildId = h.server.guild.id;
    // Pieces long enough that the run is still going when the bot stops.
    await addCorpusPieces(h, 4, { midi: scaleMidi(Array.from({ length: 1_500 }, (_, i) => 48 + ((i * 7) % 24))) });
    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 3, from: 'default' }, user: h.server.users.admin });
    await h.server.waitForInteractionResponse(train, (r) => /^Training: epoch 1\//.test(r.message?.content ?? ''), JOB_WAIT_MS);
    const before = await h.bot.ctx.storage.models.get(guildId);

    await h.restartBot({
      beforeStart: async () => {
        expect(h.server.response(train).message?.content).toBe(
          'Motif is restarting; your job stays in the queue and its result will be posted here when it is done.',
        );
      },
    });
    const done = await h.server.waitForInteractionResponse(train, (r) => /^\*\*Training (finished|stopped)/.test(r.message?.content ?? '') || r.followUps.length > 0, JOB_WAIT_MS);
    expect(done.followUps, said(done)).toEqual([]);
    expect(done.message?.content).toMatch(/^\*\*Training finished\*\* — this server now composes with its own model/);
    expect(done.message?.attachments.map((a) => a.filename)).toEqual(['loss-curve.png']);
    const model = await h.bot.ctx.storage.models.get(guildId);
    expect(model?.modelDir).not.toBe(before?.modelDir);
    expect(model?.epochs).toBe(3);
    expect((await h.bot.ctx.storage.settings.get(guildId)).model).toBe('guild');
    // The new version is whole in the blob store, where any worker can load it.
    expect((await h.bot.ctx.blobs.list(model!.modelDir)).length).toBeGreaterThan(0);
    await waitUntil(async () => (await h.bot.ctx.storage.deliveries.pending(guildId)).length === 0, 30_000, 'the delivery record to go');
  }, JOB_WAIT_MS * 2);
});
