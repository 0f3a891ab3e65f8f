/**
 * The bot process killed outright (SIGKILL: no shutdown, nothing handed over, no goodbye) with five
 * composes queued, as a crash or the OOM killer would. The bot only enqueues; a separate worker with
 * its own data folder finishes the jobs while no bot runs; the bot started again delivers each result
 * once, from the delivery records it stored when the interactions arrived.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { COMMANDS } from '../../../commands/index.js';
import { deployCommands } from '../../../src/bot/deploy-commands.js';
import { startCaptured, type CapturedProcess } from '../../support/captured-process.js';
import { startDiscordServer, type DiscordTestServer, type InteractionResponse, type SentInteraction } from '../../support/discord-server/index.js';
import { clusterSettings, withCluster } from '../../support/cluster.js';
import { startWorkerProcess, type WorkerProcess } from '../../support/worker-process.js';
import { waitUntil } from './harness.js';

const WAIT_MS = 180_000;
const describeCluster = await withCluster('a killed bot process (test/bot/e2e/bot-killed.int.test.ts)');
const cluster = clusterSettings('e2e-bot-killed');
const hasFiles = (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= 3;
const said = (r: InteractionResponse): string => [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

type BotProcess = CapturedProcess;

describeCluster('the bot killed with SIGKILL while members wait', () => {
  let server: DiscordTestServer;
  let dataDir: string;
  let worker: WorkerProcess | undefined;
  const bots: BotProcess[] = [];

  function startBotProcess(): BotProcess {
    const bot = startCaptured(process.execPath, ['--import', 'tsx', 'src/bot/main.ts'], {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DISCORD_TOKEN: server.token,
      DISCORD_CLIENT_ID: server.applicationId,
      DISCORD_API_URL: server.apiUrl,
      DATA_DIR: dataDir,
      ATTACHMENT_HOSTS: '127.0.0.1',
      LOG_LEVEL: 'info',
      QUEUE_MAX_PER_USER: '10',
      ...cluster.botEnv(),
    });
    bots.push(bot);
    return bot;
  }

  async function ready(bot: BotProcess): Promise<void> {
    await Promise.race([
      waitUntil(() => bot.output().includes('logged in as'), WAIT_MS, 'the bot to log in'),
      bot.exited.then((code) => {
        throw new Error(`the bot exited with ${code}:\n${bot.output()}`);
      }),
    ]);
    await server.waitForReady(WAIT_MS);
  }

  beforeAll(async () => {
    server = await startDiscordServer();
    dataDir = mkdtempSync(join(tmpdir(), 'motif-killed-'));
    await deployCommands({ discordToken: server.token, discordClientId: server.applicationId, discordApiUrl: server.apiUrl, devGuildId: server.guild.id }, COMMANDS);
  }, WAIT_MS);
  afterAll(async () => {
    for (const bot of bots) if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
    await worker?.stop();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await cluster.cleanup();
  });

  it('GIVEN five composes queued WHEN the bot is killed, a worker finishes them, and the bot starts again THEN each member gets their result in their original reply, once', async () => {
    onTestFailed(() => console.error(bots.map((b, i) => `bot ${i}:\n${b.output()}`).join('\n'), '\nworker:\n', worker?.lines.join('\n')));
    const first = startBotProcess();
    await ready(first);
    const users = Array.from({ length: 5 }, (_, i) => server.createUser(`waiting-${i}`));
    const sent: SentInteraction[] = users.map((user) => server.sendSlashCommand({ name: 'compose', options: { length: 8 }, user }));
    for (const interaction of sent) await server.waitForInteractionResponse(interaction, (r) => /waiting in the queue/.test(r.message?.content ?? ''), WAIT_MS);

    first.child.kill('SIGKILL');
    await first.exited;
    worker = await startWorkerProcess(cluster.workerEnv());
    const composeQueue = new Queue('compose', { connection: { host: '127.0.0.1', port: 6379 }, prefix: cluster.prefix });
    try {
      await waitUntil(async () => (await composeQueue.getCompletedCount()) === 5, WAIT_MS, 'the worker to finish the five jobs while no bot runs');
    } finally {
      await composeQueue.close();
    }
    // Nobody has told the members anything yet: the bot died mid-sentence.
    for (const interaction of sent) expect(server.response(interaction).message?.attachments).toEqual([]);

    const second = startBotProcess();
    await ready(second);
    for (const interaction of sent) {
      const delivered = await server.waitForInteractionResponse(interaction, hasFiles, WAIT_MS);
      expect(delivered.followUps, said(delivered)).toEqual([]);
      expect(delivered.message?.content).toMatch(/^\*\*Composed 8 notes-or-chords\*\*/);
    }
    const withMidi = server.messages().filter((m) => !m.deleted && m.attachments.some((a) => a.filename.endsWith('.mid')));
    expect(withMidi.map((m) => m.interactionId).sort()).toEqual(sent.map((s) => s.id).sort());
    await waitUntil(() => second.output().includes('"pending deliveries swept"'), WAIT_MS, 'the sweep report');
    expect(second.output()).toMatch(/"resumed":5,"lost":0,"dropped":0/);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, WAIT_MS * 3);
});
