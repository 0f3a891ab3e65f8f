/**
 * A worker process killed mid-compose (kill -9: no goodbye, no lock released): the bot only enqueues,
 * two `npm run worker` processes share the queue, and the one running the job is killed. Once its
 * lock has lapsed (WORKER_STALLED_SECONDS) the other worker takes the job over and the member gets
 * exactly one result.
 */
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import type { InteractionResponse } from '../../support/discord-server/index.js';
import { clusterSettings, withCluster } from '../../support/cluster.js';
import { startWorkerProcess, type WorkerProcess } from '../../support/worker-process.js';
import { readMidi } from '../../../src/music/midi-io.js';
import { renderWav } from '../../support/render-wav.js';
import { addCorpusPieces, scaleMidi, startHarness, waitUntil, type Harness } from './harness.js';

const JOB_WAIT_MS = 180_000;
const describeCluster = await withCluster('worker failover end to end (test/bot/e2e/worker-failover.int.test.ts)');
const cluster = clusterSettings('e2e-failover');
const hasFiles = (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= 3;
const said = (r: InteractionResponse): string => [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

describeCluster('a worker killed while it composes (bot and workers on separate disks)', () => {
  let h: Harness;
  const workers: WorkerProcess[] = [];
  const env = (): Record<string, string> => ({ ...cluster.workerEnv(), WORKER_STALLED_SECONDS: '5' });
  beforeAll(async () => {
    h = await startHarness({ env: cluster.botEnv() });
    workers.push(...(await Promise.all([startWorkerProcess(env()), startWorkerProcess(env())])));
  }, JOB_WAIT_MS);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await h?.stop();
    await cluster.cleanup();
  });

  it('GIVEN two workers WHEN the one running a compose is killed with SIGKILL THEN the other finishes it and exactly one result reaches the channel', async () => {
    onTestFailed(async () => console.error(await h.describeState(), ...workers.map((w, i) => `\nworker ${i} log:\n${w.lines.join('\n')}`)));
    const sent = h.server.sendSlashCommand({ name: 'compose', options: { length: 400 } });
    let running: WorkerProcess | undefined;
    await waitUntil(() => (running = workers.find((w) => w.startedJobs().length > 0)) !== undefined, JOB_WAIT_MS, 'a worker to start the job');
    const jobId = running!.startedJobs()[0]!;
    running!.kill('SIGKILL');
    expect(await running!.exited).toBe(137);
    const survivor = workers.find((w) => w !== running)!;

    const delivered = await h.server.waitForInteractionResponse(sent, hasFiles, JOB_WAIT_MS);
    expect(delivered.followUps, said(delivered)).toEqual([]);
    expect(delivered.message?.content).toMatch(/^\*\*Composed 400 notes-or-chords\*\*/);
    expect(survivor.startedJobs()).toEqual([jobId]);
    const withMidi = h.server.messages().filter((m) => !m.deleted && m.attachments.some((a) => a.filename.endsWith('.mid')));
    expect(withMidi.map((m) => m.interactionId)).toEqual([sent.id]);
  }, JOB_WAIT_MS * 2);

  it('GIVEN an attached MIDI seed WHEN a worker with its own disk continues it THEN the seed reaches it by key and the result continues the seed', async () => {
    onTestFailed(async () => console.error(await h.describeState(), ...workers.map((w, i) => `\nworker ${i} log:\n${w.lines.join('\n')}`)));
    const midi = h.server.addAttachment(scaleMidi(), 'my-tune.mid', 'audio/midi');
    const sent = h.server.sendSlashCommand({ name: 'compose', options: { length: 8, midi } });
    const delivered = await h.server.waitForInteractionResponse(sent, hasFiles, JOB_WAIT_MS);
    expect(delivered.followUps, said(delivered)).toEqual([]);
    expect(delivered.message?.content).toMatch(/^\*\*Composed 8 notes-or-chords\*\*/);
    // The stored result starts with the scale that was uploaded.
    const [result] = await h.bot.ctx.storage.results.recent(h.server.guild.id, 1);
    expect(result!.options.seedSteps).toBe(32);
    expect(result!.sequence.notes.slice(0, 8).map((n) => n.pitch)).toEqual([60, 62, 64, 65, 67, 69, 71, 72]);
  }, JOB_WAIT_MS);

  it('GIVEN a WAV recording WHEN an admin adds it to the corpus THEN a worker with its own disk transcribes it and the MIDI lands in the blob store', async () => {
    onTestFailed(async () => console.error(await h.describeState(), ...workers.map((w, i) => `\nworker ${i} log:\n${w.lines.join('\n')}`)));
    const wav = h.server.addAttachment(renderWav(readMidi(new Uint8Array(scaleMidi([60, 64, 67, 72, 67, 64, 60, 62])))), 'recording.wav', 'audio/wav');
    const added = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file: wav, confirm_rights: true, licence: 'own-work' }, user: h.server.users.admin }),
      (x) => /Added|couldn|could not|failed/i.test(x.message?.content ?? '') || x.followUps.length > 0,
      JOB_WAIT_MS,
    );
    const id = /Added `([0-9a-f]{8})` recording\.wav/.exec(added.message?.content ?? '')?.[1];
    expect(id, said(added)).toBeDefined();
    const stored = readMidi(new Uint8Array(await h.bot.ctx.blobs.get(`guilds/${h.server.guild.id}/corpus/${id}.mid`)));
    const heard = new Set(stored.notes.map((n) => n.pitch % 12));
    for (const pc of [0, 4, 7]) expect(heard.has(pc)).toBe(true);
    // The audio and the transcription travelled by key and are gone from the store's upload area.
    expect(await h.bot.ctx.blobs.list(`guilds/${h.server.guild.id}/uploads/`)).toEqual([]);
    await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'remove', options: { id: id! }, user: h.server.users.admin }));
  }, JOB_WAIT_MS);

  it('GIVEN a /train running on a worker WHEN that worker is killed with SIGKILL THEN another worker continues the run from its last stored checkpoint, not from epoch 1', async () => {
    onTestFailed(async () => console.error(await h.describeState(), ...workers.map((w, i) => `\nworker ${i} log:\n${w.lines.join('\n')}`)));
    // The first test killed one worker: two are up again.
    workers.push(await startWorkerProcess(env()));
    let killed: WorkerProcess | undefined;
    const alive = (): WorkerProcess[] => workers.filter((w) => w !== killed);
    // Pieces long enough that an epoch takes seconds.
    await addCorpusPieces(h, 4, { midi: scaleMidi(Array.from({ length: 1_500 }, (_, i) => 48 + ((i * 7) % 24))) });
    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 500, from: 'default' }, user: h.server.users.admin });
    const epochShown = (): number => Number(/Training: epoch (\d+)\//.exec(h.server.response(train).message?.content ?? '')?.[1] ?? 0);
    // Epoch 2 running means epoch 1 ended and its checkpoint was stored.
    await waitUntil(() => epochShown() >= 2, JOB_WAIT_MS, 'the training to reach epoch 2');
    killed = workers.find((w) => w.startedJobs('train').length > 0);
    const trainJob = killed!.startedJobs('train')[0]!;
    killed!.kill('SIGKILL');
    await killed!.exited;
    const beforeKill = h.server.response(train).message?.history.length ?? 0;

    await waitUntil(() => alive().some((w) => w.startedJobs('train').includes(trainJob)), JOB_WAIT_MS, 'another worker to take the training over');
    const survivor = alive().find((w) => w.startedJobs('train').includes(trainJob))!;
    await waitUntil(() => survivor.lines.some((line) => line.includes('resuming from the checkpoint of an interrupted run')), JOB_WAIT_MS, 'the run to resume');
    await waitUntil(() => (h.server.response(train).message?.history.length ?? 0) > beforeKill + 1, JOB_WAIT_MS, 'progress after the take-over');
    // Every progress shown after the take-over is past epoch 1.
    const after = (h.server.response(train).message?.history ?? []).slice(beforeKill).map((state) => Number(/Training: epoch (\d+)\//.exec(state.content)?.[1] ?? 0)).filter((epoch) => epoch > 0);
    expect(after.length).toBeGreaterThan(0);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(2);

    const cancel = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'train', subcommand: 'cancel', user: h.server.users.admin }));
    expect(cancel.message?.content).toBe(`Cancelled training job \`${trainJob}\`.`);
    await waitUntil(async () => (await h.bot.ctx.queue.list()).length === 0, JOB_WAIT_MS, 'the queue to empty');
  }, JOB_WAIT_MS * 2);
});
