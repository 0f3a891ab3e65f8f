/**
 * The bot on the BullMQ queue when Redis goes away and comes back (through a TCP proxy this test
 * owns, so only its own connections are cut): /compose is answered privately that Motif is busy,
 * the bot keeps running, and once Redis is back /compose works again without a restart.
 */
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { MessageFlag, type InteractionResponse } from '../../support/discord-server/index.js';
import { RedisOutage, deleteKeys, redisReachable, uniquePrefix, withRedis } from '../../support/redis.js';
import { startHarness, type Harness } from './harness.js';

const JOB_WAIT_MS = 120_000;
const describeRedis = await withRedis('BullMQ outage end to end (test/bot/e2e/queue-outage.int.test.ts)');
const prefix = uniquePrefix('e2e-outage');
const hasFiles = (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= 3 || r.followUps.length > 0;
const said = (r: InteractionResponse): string => [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

describeRedis('the bot on BullMQ while Redis is away', () => {
  let h: Harness;
  const outage = new RedisOutage();
  beforeAll(async () => {
    await outage.up();
    h = await startHarness({ env: { QUEUE_URL: `redis://127.0.0.1:${outage.port}`, QUEUE_PREFIX: prefix } });
  }, JOB_WAIT_MS);
  afterAll(async () => {
    await h?.stop();
    await outage.down();
    if (await redisReachable()) await deleteKeys(prefix);
  });

  it('GIVEN Redis goes away WHEN members compose THEN each is told privately that Motif is busy, the bot stays up, and composing works again once Redis is back', async () => {
    onTestFailed(async () => console.error(await h.describeState()));
    const before = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } }), hasFiles, JOB_WAIT_MS);
    expect(before.followUps, said(before)).toEqual([]);

    await outage.down();
    for (const user of [h.server.createUser('during-1'), h.server.createUser('during-2')]) {
      const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 8 }, user }));
      expect(r.message?.content, said(r)).toBe('Motif is busy right now (its job queue cannot be reached). Try again in a minute.');
      expect(r.message!.flags & MessageFlag.Ephemeral).toBeTruthy();
      expect(r.deferred).toBe(false);
    }
    // Not a crash: the gateway is still up, and /queue says the same instead of an incident id.
    expect(h.server.gateway.isReady).toBe(true);
    const queue = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'queue', subcommand: 'list' }));
    expect(said(queue)).toBe('Motif is busy right now (its job queue cannot be reached). Try again in a minute.');

    await outage.up();
    await expect
      .poll(async () => said(await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'queue', subcommand: 'list' }))), { timeout: 30_000, interval: 500 })
      .toBe('Nothing is queued on this server.');
    const after = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } }), hasFiles, JOB_WAIT_MS);
    expect(after.followUps, said(after)).toEqual([]);
    expect(after.message?.attachments.map((a) => a.filename.slice(-4)).sort()).toEqual(['.mid', '.mp3', '.png']);
  }, JOB_WAIT_MS * 3);
});
