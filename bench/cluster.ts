/**
 * `npm run bench -- --only cluster --json`: a load simulation of several servers composing at once,
 * `/compose length:100` through the local Discord-protocol server to the real bot, on three set-ups
 * measured in one run on this machine:
 *
 *   in-process      the newcomer's bot: the in-process queue, 1 interactive worker thread
 *   1w / 2w         the bot only enqueues (WORKER_LANES=none) on BullMQ; 1 or 2 `npm run worker`
 *                   processes (1 interactive job each), each with its own data folder; files travel
 *                   through the PostgreSQL blob store (no shared disk)
 *   during train    2w again while a real /train (fine-tune of the shipped model) holds one worker's
 *                   batch lane
 *
 * Load: GUILDS servers × REQUESTS_PER_GUILD requests, arriving at ARRIVALS_PER_MINUTE (all servers
 * together; faster than one worker composes, so the figures are each set-up's capacity, not the
 * arrival rate). Figures:
 *
 *   cluster_compose_per_min_inprocess / _1w / _2w   answered composes per minute, first arrival → last answer
 *   cluster_p95_ms_inprocess / _1w / _2w            p95 of arrival → files attached
 *   cluster_compose_p95_ms_during_train             the same p95 with 2 workers while a /train runs
 *   cluster_compose_per_min_during_train
 *   cluster_unanswered                              requests not answered with files, all set-ups (0 expected)
 *
 * Needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (database `test`); uses a key
 * prefix and a schema of its own and removes them. Runs in a child process (see bot-load.ts: the
 * memory of earlier benches in `npm run bench` must not slow this one).
 */
import type { InteractionResponse, SentInteraction, DiscordTestServer } from '../test/support/discord-server/index.js';
import { addCorpusPieces, scaleMidi, startHarness, type Harness } from '../test/bot/e2e/harness.js';
import { clusterSettings } from '../test/support/cluster.js';
import { postgresReachable } from '../test/support/postgres.js';
import { redisReachable } from '../test/support/redis.js';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process.js';
import { runInChild } from './child-process.js';
import { percentile } from './bot-load.js';

const GUILDS = 2;
const REQUESTS_PER_GUILD = 8;
const ARRIVALS_PER_MINUTE = 240;
const COMPOSE_LENGTH = 100;
const USERS_PER_GUILD = 4;
const PER_REQUEST_BUDGET_MS = 120_000;
const CHILD_FLAG = '--cluster-child';

/** @throws when Redis or PostgreSQL is missing, or a set-up cannot start. */
export async function benchCluster(): Promise<Record<string, number>> {
  return runInChild<Record<string, number>>('cluster bench', import.meta.url, [CHILD_FLAG]);
}

interface LoadFigures {
  perMinute: number;
  p95Ms: number;
  unanswered: number;
}

async function measure(): Promise<Record<string, number>> {
  if (!(await redisReachable()) || !(await postgresReachable())) {
    throw new Error('the cluster bench needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (see .ci/run for how to start them)');
  }
  const inProcess = await withBot({}, async (h) => runLoad(h));
  const oneWorker = await withCluster(1, async (h) => runLoad(h));
  const twoWorkers = await withCluster(2, async (h) => runLoad(h));
  const duringTrain = await withCluster(2, async (h) => {
    // A real fine-tune on a corpus large enough that even a run stopped early (patience 2) outlasts the
    // load: 8 pieces of 3,500 quarter notes (29 minutes each, under the 30-minute upload limit).
    await addCorpusPieces(h, 8, { midi: scaleMidi(Array.from({ length: 3_500 }, (_, i) => 48 + ((i * 7) % 24))) });
    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 500, from: 'default' }, user: h.server.users.admin });
    await h.server.waitForInteractionResponse(train, (r) => /^Training: epoch/.test(r.message?.content ?? '') || r.followUps.length > 0, PER_REQUEST_BUDGET_MS);
    const figures = await runLoad(h);
    const stillTraining = (await h.bot.ctx.queue.list()).some((j) => j.kind === 'train' && j.state === 'running');
    if (!stillTraining) process.stderr.write('cluster: the training run ended before the load did; the during-train figure is partly without it\n');
    return figures;
  });
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    cluster_compose_per_min_inprocess: round(inProcess.perMinute),
    cluster_compose_per_min_1w: round(oneWorker.perMinute),
    cluster_compose_per_min_2w: round(twoWorkers.perMinute),
    cluster_p95_ms_inprocess: Math.round(inProcess.p95Ms),
    cluster_p95_ms_1w: Math.round(oneWorker.p95Ms),
    cluster_p95_ms_2w: Math.round(twoWorkers.p95Ms),
    cluster_compose_p95_ms_during_train: Math.round(duringTrain.p95Ms),
    cluster_compose_per_min_during_train: round(duringTrain.perMinute),
    cluster_requests_per_setup: GUILDS * REQUESTS_PER_GUILD,
    cluster_unanswered: inProcess.unanswered + oneWorker.unanswered + twoWorkers.unanswered + duringTrain.unanswered,
  };
}

async function withBot<T>(env: Record<string, string>, run: (h: Harness) => Promise<T>): Promise<T> {
  // Room for every request, plus the /train and the corpus reads of the last set-up.
  const room = String(GUILDS * REQUESTS_PER_GUILD + 8);
  const h = await startHarness({
    env: { QUEUE_MAX_PENDING: room, QUEUE_MAX_PER_GUILD: room, QUEUE_MAX_PER_USER: room, QUEUE_CONCURRENCY: '1', ...env },
    deps: { warmUp: true },
  });
  try {
    return await run(h);
  } finally {
    await h.stop();
  }
}

async function withCluster<T>(workerCount: number, run: (h: Harness) => Promise<T>): Promise<T> {
  const cluster = clusterSettings('bench-cluster');
  const workers: WorkerProcess[] = [];
  try {
    return await withBot(cluster.botEnv(), async (h) => {
      for (let i = 0; i < workerCount; i++) workers.push(await startWorkerProcess({ ...cluster.workerEnv(), QUEUE_CONCURRENCY: '1', QUEUE_BATCH_CONCURRENCY: '1' }));
      return await run(h);
    });
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await cluster.cleanup();
  }
}

/** Sends the requests at the arrival rate, round-robin over guilds and their members; waits for every answer. */
async function runLoad(h: Harness): Promise<LoadFigures> {
  const guilds = h.server.guilds.slice(0, GUILDS);
  const users = Array.from({ length: USERS_PER_GUILD }, (_, i) => h.server.createUser(`cluster-${i}-${Date.now()}`));
  const total = GUILDS * REQUESTS_PER_GUILD;
  const gapMs = 60_000 / ARRIVALS_PER_MINUTE;
  const firstAt = performance.now();
  const outcomes: Promise<{ answered: boolean; latencyMs: number; doneAt: number }>[] = [];
  for (let i = 0; i < total; i++) {
    const guild = guilds[i % GUILDS]!;
    const sentAt = performance.now();
    const sent = h.server.sendSlashCommand({
      name: 'compose',
      options: { length: COMPOSE_LENGTH },
      user: users[Math.floor(i / GUILDS) % USERS_PER_GUILD],
      guildId: guild.id,
      channelId: guild.textChannel.id,
    });
    outcomes.push(settle(h.server, sent, sentAt));
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  const settled = await Promise.all(outcomes);
  const answered = settled.filter((o) => o.answered);
  const lastDone = Math.max(...answered.map((o) => o.doneAt), firstAt + 1);
  return {
    perMinute: answered.length / ((lastDone - firstAt) / 60_000),
    p95Ms: percentile(answered.map((o) => o.latencyMs), 95),
    unanswered: total - answered.length,
  };
}

async function settle(server: DiscordTestServer, sent: SentInteraction, sentAt: number): Promise<{ answered: boolean; latencyMs: number; doneAt: number }> {
  const hasFiles = (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= 3;
  try {
    const r = await server.waitForInteractionResponse(sent, (x) => hasFiles(x) || x.followUps.length > 0, PER_REQUEST_BUDGET_MS);
    const doneAt = performance.now();
    if (!hasFiles(r)) process.stderr.write(`cluster: not answered with files: ${r.followUps[0]?.content ?? r.message?.content ?? ''}\n`);
    return { answered: hasFiles(r), latencyMs: doneAt - sentAt, doneAt };
  } catch (error) {
    process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\n`);
    return { answered: false, latencyMs: 0, doneAt: performance.now() };
  }
}

if (process.argv.includes(CHILD_FLAG)) {
  const figures = await measure();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.exit(0);
}
