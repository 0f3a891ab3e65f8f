/**
 * Styles through the real discord.js client: /compose style:, the guild default in /settings, the
 * style named in the result, and Regenerate / Continue keeping it. Uses the shipped models.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { InteractionResponse, StoredMessage } from '../../support/discord-server/index.js';
import { startHarness, type Harness } from './harness.js';
import { findLeaks } from './leak-check.js';

const JOB_WAIT_MS = 120_000;
const TEST_TIMEOUT_MS = 3 * JOB_WAIT_MS;

const finished = (r: InteractionResponse): boolean => /Composed \d+ notes-or-chords/.test(r.message?.content ?? '') || r.followUps.length > 0;
const said = (r: InteractionResponse): string => [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');
const buttonIds = (message: StoredMessage | null | undefined): string[] =>
  ((message?.components ?? []) as { components?: { custom_id?: string }[] }[]).flatMap((row) => row.components ?? []).map((c) => c.custom_id ?? '');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { QUEUE_CONCURRENCY: '1' } });
}, TEST_TIMEOUT_MS);
afterAll(async () => {
  await h?.stop();
});

describe('styles', () => {
  it('GIVEN /compose style:folk WHEN done THEN the folk model composes, the reply names the style, and Regenerate and Continue keep it', async () => {
    onTestFailed(async () => console.error(await h.describeState()));
    const first = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { style: 'folk', length: 24 } }), finished, JOB_WAIT_MS);
    expect(first.followUps, said(first)).toEqual([]);
    expect(first.message!.content).toMatch(/Style Folk \(Irish dance tunes\) · Model `motif-folk`/);
    const [regen, cont] = buttonIds(first.message);
    for (const id of [regen!, cont!]) {
      const next = await h.server.waitForInteractionResponse(h.server.pressButton(first.message!, id), finished, JOB_WAIT_MS);
      expect(next.followUps, said(next)).toEqual([]);
      expect(next.message!.content).toMatch(/Style Folk \(Irish dance tunes\) · Model `motif-folk`/);
    }
  }, TEST_TIMEOUT_MS);

  it('GIVEN a guild default style WHEN /compose names none THEN the default is used, and a reset brings back the bot default', async () => {
    onTestFailed(async () => console.error(await h.describeState()));
    const set = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'settings', subcommand: 'set', options: { style: 'folk' }, user: h.server.users.admin }));
    expect(set.message?.content).toMatch(/Style: Folk/);
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 12 } }), finished, JOB_WAIT_MS);
    expect(r.message!.content, said(r)).toMatch(/Style Folk/);
    await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'settings', subcommand: 'set', options: { reset: true }, user: h.server.users.admin }));
    const back = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 12 } }), finished, JOB_WAIT_MS);
    expect(back.message!.content, said(back)).toMatch(/Style Piano/);
  }, TEST_TIMEOUT_MS);

  it('GIVEN everything this suite did WHEN every reply and log line is searched THEN no token, stack trace or file-system path reached a user, and no token the log', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
