/**
 * The default set-up (in-process queue, SQLite) after a crash: a job dies with the process, but its
 * delivery record survives in storage, so the next start tells the member instead of leaving them
 * looking at "Composing…" for ever.
 */
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { MessageFlag } from '../../support/discord-server/index.js';
import { startHarness, waitUntil, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 120_000);
afterAll(async () => {
  await h?.stop();
});

it('GIVEN a delivery record whose job the in-process queue no longer knows (the bot died with it) WHEN the bot starts THEN the member is told privately to run the command again, and the record goes', async () => {
  onTestFailed(async () => console.error(await h.describeState()));
  const guildId = h.server.guild.id;
  // A real interaction, acknowledged the way /compose acknowledges, whose job is then lost with the process.
  const sent = h.server.sendSlashCommand({ name: 'queue', subcommand: 'list' });
  await h.server.waitForInteractionResponse(sent);
  const now = Date.now();
  await h.bot.ctx.storage.deliveries.add({
    jobId: 'a1b2c3d4e5',
    kind: 'compose',
    applicationId: h.server.applicationId,
    interactionToken: sent.token,
    guildId,
    channelId: sent.channelId,
    userId: sent.userId,
    createdAt: now,
    tokenExpiresAt: now + 15 * 60 * 1000,
    context: { resultId: 'a1b2c3d4', outDir: `${h.dataDir}/guilds/${guildId}/results/a1b2c3d4`, maxAudioBytes: 10 * 1024 * 1024, options: { length: 8 } },
  });

  await h.restartBot();
  const told = await h.server.waitForInteractionResponse(sent, (r) => r.followUps.length > 0);
  expect(told.followUps.at(-1)?.content).toBe('Motif restarted before this finished. Please run the command again.');
  expect(told.followUps.at(-1)!.flags & MessageFlag.Ephemeral).toBeTruthy();
  await waitUntil(async () => (await h.bot.ctx.storage.deliveries.pending(guildId)).length === 0, 30_000, 'the record to go');
  await waitUntil(() => h.logLines.some((line) => line.includes('"pending deliveries swept"') && line.includes('"lost":1')), 30_000, 'the sweep report');
});
