/**
 * Lanes end to end, with the real discord.js client against the local Discord server: a /train
 * holding the batch lane never delays /compose (in-process, and on BullMQ when Redis is here), and
 * /train stops at TRAIN_MAX_MINUTES with its best epoch and a clear word to the admin.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { InteractionResponse } from '../../support/discord-server/index.js';
import { Redis } from 'ioredis';
import { deleteKeys, REDIS_URL, redisReachable, uniquePrefix, withRedis } from '../../support/redis.js';
import { findLeaks } from './leak-check.js';
import { addCorpusPieces, scaleMidi, startHarness, type Harness } from './harness.js';

const FIXTURES = new URL('../../jobs/fixtures/processors.ts', import.meta.url).href;
const JOB_WAIT_MS = 120_000;
const COMPOSES = 4;

const hasFiles = (n: number) => (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= n || r.followUps.length > 0;
const said = (r: InteractionResponse): string => [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

/** Every interaction token the bot answered with in this run, and the bot token. */
function interactionTokens(h: Harness): string[] {
  const tokens = new Set<string>([h.config.discordToken]);
  for (const request of h.server.requests) {
    const token = /^\/(?:webhooks\/\d+|interactions\/\d+)\/([^/]+)/.exec(request.path)?.[1];
    if (token && token.length > 20) tokens.add(token);
  }
  return [...tokens];
}

/** Keys under `prefix` whose value (job data, events, bookkeeping) contains one of `secrets`. */
async function tokensInRedis(prefix: string, secrets: string[]): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  const found: string[] = [];
  try {
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'hash' ? JSON.stringify(await redis.hgetall(key))
        : type === 'string' ? ((await redis.get(key)) ?? '')
        : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+'))
        : type === 'set' ? JSON.stringify(await redis.smembers(key))
        : type === 'zset' ? JSON.stringify(await redis.zrange(key, '0', '-1'))
        : type === 'list' ? JSON.stringify(await redis.lrange(key, '0', '-1'))
        : '';
      if (secrets.some((secret) => value.includes(secret))) found.push(key);
    }
  } finally {
    redis.disconnect();
  }
  return found;
}

/**
 * The scenario of issue 9: an admin's /train is running (batch lane), then several members compose
 * at once. Every compose is answered with its files while the training is still running, which the
 * queue itself says (no clocks).
 */
function trainWhileComposing(backend: string, env: () => Record<string, string>, describeFn: typeof describe | ReturnType<typeof describe.runIf> = describe): void {
  describeFn(`a /train running while members compose (${backend})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        env: { QUEUE_CONCURRENCY: '1', QUEUE_BATCH_CONCURRENCY: '1', ...env() },
        deps: { processors: { train: { kind: 'worker', moduleUrl: FIXTURES, exportName: 'trainUntilCancelled' } } },
      });
    }, JOB_WAIT_MS);
    afterAll(async () => {
      await h?.stop();
    });

    it(`GIVEN /train running in the batch lane WHEN ${COMPOSES} members send /compose THEN every compose gets its files while the training keeps running`, async () => {
      onTestFailed(async () => console.error(await h.describeState()));
      const guildId = h.server.guild.id;
      // The training is a stand-in that never reads the corpus; /train only checks there is one.
      await addCorpusPieces(h, 1);
      const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 50 }, user: h.server.users.admin });
      const training = await h.server.waitForInteractionResponse(train, (r) => /^Training: epoch/.test(r.message?.content ?? '') || r.followUps.length > 0, JOB_WAIT_MS);
      expect(said(training)).toMatch(/Training: epoch 1\/50/);
      const trainJob = (await h.bot.ctx.queue.list({ guildId })).find((j) => j.kind === 'train');
      expect(trainJob).toMatchObject({ lane: 'batch', state: 'running' });

      const members = Array.from({ length: COMPOSES }, (_, i) => h.server.createUser(`composer-${i}`));
      const composes = members.map((user) => h.server.sendSlashCommand({ name: 'compose', options: { length: 12 }, user }));
      // /queue shows each job's lane while they wait and run.
      const queued = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'queue', subcommand: 'list' }));
      expect(queued.message?.content).toMatch(new RegExp(`\`${trainJob!.id}\` train 50 epochs from default — batch, running`));
      const answers = await Promise.all(composes.map((c) => h.server.waitForInteractionResponse(c, hasFiles(3), JOB_WAIT_MS)));
      for (const r of answers) {
        expect(r.followUps, said(r)).toEqual([]);
        expect(r.message?.attachments.map((a) => a.filename.slice(-4)).sort()).toEqual(['.mid', '.mp3', '.png']);
      }
      // Every compose finished, and the same training run is still running: it delayed none of them.
      const now = await h.bot.ctx.queue.list({ guildId });
      expect(now.map((j) => [j.id, j.kind, j.lane, j.state])).toEqual([[trainJob!.id, 'train', 'batch', 'running']]);
      expect((await h.server.waitForInteractionResponse(train)).message?.content).toMatch(/^Training: epoch 1\/50/);

      const cancel = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'train', subcommand: 'cancel', user: h.server.users.admin }));
      expect(cancel.message?.content).toBe(`Cancelled training job \`${trainJob!.id}\`.`);
      await h.server.waitForInteractionResponse(train, (r) => r.followUps.length > 0 || /cancelled/i.test(r.message?.content ?? ''), JOB_WAIT_MS);
      await expect.poll(() => h.bot.ctx.queue.list({ guildId }), { timeout: 30_000 }).toEqual([]);
      expect(findLeaks(h)).toEqual([]);
      if (env().QUEUE_PREFIX) expect(await tokensInRedis(env().QUEUE_PREFIX!, interactionTokens(h))).toEqual([]);
    }, JOB_WAIT_MS * 2);
  });
}

trainWhileComposing('in-process queue', () => ({}));

const describeRedis = await withRedis('BullMQ lanes end to end (test/bot/e2e/lanes.int.test.ts)');
const prefix = uniquePrefix('e2e-lanes');
afterAll(async () => {
  if (await redisReachable()) await deleteKeys(prefix);
});
trainWhileComposing('BullMQ queue', () => ({ QUEUE_URL: REDIS_URL, QUEUE_PREFIX: prefix }), describeRedis);

describe('/train at its time budget', () => {
  let h: Harness;
  beforeAll(async () => {
    // 0.6 s: a fine-tune of the shipped model makes a few steps, far from its 50 epochs.
    h = await startHarness({ env: { TRAIN_MAX_MINUTES: '0.01' } });
  }, JOB_WAIT_MS);
  afterAll(async () => {
    await h?.stop();
  });

  it('GIVEN TRAIN_MAX_MINUTES WHEN a fine-tune runs past it THEN it stops, the server switches to its best epoch, and the admin is told it hit the budget', async () => {
    onTestFailed(async () => console.error(await h.describeState()));
    const guildId = h.server.guild.id;
    await addCorpusPieces(h, 4);
    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 50, from: 'default' }, user: h.server.users.admin });
    const done = await h.server.waitForInteractionResponse(train, (r) => /\*\*Training/.test(r.message?.content ?? '') || r.followUps.length > 0, JOB_WAIT_MS * 2);
    expect(said(done)).toMatch(/^\*\*Training stopped at its 1-second time budget\*\* after \d+ of 50 epochs\. This server now composes with the best epoch it reached/);
    expect(done.message?.attachments.map((a) => a.filename)).toEqual(['loss-curve.png']);
    const model = await h.bot.ctx.storage.models.get(guildId);
    expect(model?.epochs).toBe(50);
    expect((await h.bot.ctx.storage.settings.get(guildId)).model).toBe('guild');
    expect(await h.bot.ctx.queue.list({ guildId })).toEqual([]);
  }, JOB_WAIT_MS * 3);
});
