/**
 * Discord's REST failing while the bot posts a result: a 429 with `retry_after`, then a 500, on
 * the very request that uploads the files. The result must still arrive, exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaleMidi, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('REST faults on the result upload', () => {
  it('GIVEN 429 (retry_after 0.5 s) then 500 on the upload WHEN a /compose finishes THEN the files are posted once, after waiting, with nothing duplicated', async () => {
    const upload = /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/;
    h.server.injectRestFaults([
      { method: 'PATCH', path: upload, withFiles: true, status: 429, retryAfterSeconds: 0.5 },
      { method: 'PATCH', path: upload, withFiles: true, status: 500 },
    ]);
    const sent = h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } });
    const r = await h.server.waitForInteractionResponse(sent, (x) => (x.message?.attachments.length ?? 0) >= 3 || x.followUps.length > 0, 240_000);
    expect(r.followUps).toEqual([]);
    expect(r.message?.attachments.map((a) => a.filename.split('.').pop()).sort()).toEqual(['mid', 'mp3', 'png']);

    const uploads = h.server.requests.filter((q) => q.method === 'PATCH' && upload.test(q.path) && q.path.includes(sent.token) && q.files.length > 0);
    expect(uploads.map((q) => q.status)).toEqual([429, 500, 200]);
    // Each attempt carried the same three files; only the last was applied.
    for (const q of uploads) expect(q.files.map((f) => f.filename).sort()).toEqual(uploads[2]!.files.map((f) => f.filename).sort());
    expect(r.message?.history.filter((state) => state.attachmentNames.length > 0)).toHaveLength(1);
    // Nothing else was posted for it: no channel message, no second result stored.
    expect(h.server.channelMessages().filter((m) => m.interactionId === null)).toEqual([]);
    expect(await h.bot.ctx.storage.results.recentIds(h.server.guild.id)).toHaveLength(1);
  }, 300_000);

  it('GIVEN a 429 on the interaction callback WHEN a seed is saved THEN the reply is retried after retry_after and arrives once', async () => {
    h.server.injectRestFaults([{ method: 'POST', path: /^\/interactions\/\d+\/[^/]+\/callback$/, status: 429, retryAfterSeconds: 0.2 }]);
    const midi = h.server.addAttachment(scaleMidi(), 'after.mid', 'audio/midi');
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'save', options: { name: 'after', midi } }));
    expect(r.message?.content).toMatch(/Saved seed `after`/);
    const callbacks = h.server.requests.filter((q) => q.method === 'POST' && q.path.startsWith(`/interactions/${r.interaction.id}/`));
    expect(callbacks.map((q) => q.status)).toEqual([429, 204]);
  });
});
