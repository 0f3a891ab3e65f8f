/**
 * Discord's REST failing while the bot posts a result: a 429 with `retry_after` on the request
 * that uploads the MIDI and piano roll, a 500 on the one that adds the audio. The result must
 * still arrive, each file exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaleMidi, startHarness, waitUntil, type Harness } from './harness.js';
import { findLeaks } from './leak-check.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('REST faults on the result upload', () => {
  it('GIVEN 429 (retry_after 0.5 s) on the MIDI and piano roll post and 500 on the audio upload WHEN a /compose finishes THEN each file is posted once, after waiting, with nothing duplicated', async () => {
    const upload = /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/;
    const carriesAudio = ({ files }: { files: readonly { filename: string }[] }): boolean => files.some((f) => f.filename.endsWith('.mp3'));
    // The result goes up in two edits of the reply (MIDI and piano roll first, the audio added
    // later): Discord fails each of them once.
    h.server.injectRestFaults([
      { method: 'PATCH', path: upload, withFiles: true, match: (q) => !carriesAudio(q), status: 429, retryAfterSeconds: 0.5 },
      { method: 'PATCH', path: upload, withFiles: true, match: carriesAudio, status: 500 },
    ]);
    const sent = h.server.sendSlashCommand({ name: 'compose', options: { length: 8 } });
    const r = await h.server.waitForInteractionResponse(sent, (x) => (x.message?.attachments.length ?? 0) >= 3 || x.followUps.length > 0, 240_000);
    expect(r.followUps).toEqual([]);
    expect(r.message?.attachments.map((a) => a.filename.split('.').pop()).sort()).toEqual(['mid', 'mp3', 'png']);

    const uploads = h.server.requests.filter((q) => q.method === 'PATCH' && upload.test(q.path) && q.path.includes(sent.token) && q.files.length > 0);
    const kinds = (q: (typeof uploads)[number]): string[] => q.files.map((f) => f.filename.split('.').pop()!).sort();
    expect(uploads.map((q) => [q.status, kinds(q)])).toEqual([
      [429, ['mid', 'png']],
      [200, ['mid', 'png']],
      [500, ['mp3']],
      [200, ['mp3']],
    ]);
    // Every file was applied exactly once, and the reply never showed a file twice.
    expect(uploads.filter((q) => q.status === 200).flatMap(kinds).sort()).toEqual(['mid', 'mp3', 'png']);
    for (const state of r.message!.history) expect(new Set(state.attachmentNames).size).toBe(state.attachmentNames.length);
    // Nothing else was posted for it: no channel message, no second result stored.
    expect(h.server.channelMessages().filter((m) => m.interactionId === null)).toEqual([]);
    // The result is recorded once its files are posted (after the edit is answered): wait for it.
    await waitUntil(async () => (await h.bot.ctx.storage.results.recentIds(h.server.guild.id)).length > 0);
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

  it('GIVEN everything this suite did WHEN every reply and log line is searched THEN no token, stack trace or file-system path reached a user, and no token the log', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
