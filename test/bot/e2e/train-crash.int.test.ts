/**
 * A worker that dies in the middle of /train (a native crash, out of memory): the guild keeps the
 * model it had, keeps composing with it, and the admin is told privately.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guildKeys, guildPaths } from '../../../src/storage/guild-paths.js';
import { MessageFlag } from '../../support/discord-server/index.js';
import { scaleMidi, startHarness, type Harness } from './harness.js';
import { findLeaks } from './leak-check.js';

const FIXTURES = new URL('../../jobs/fixtures/processors.ts', import.meta.url).href;

let h: Harness;
beforeAll(async () => {
  // The training job runs in a real worker thread, which kills itself after its first progress report.
  h = await startHarness({ deps: { processors: { train: { kind: 'worker', moduleUrl: FIXTURES, exportName: 'trainThenCrash' } } } });
});
afterAll(async () => {
  await h?.stop();
});

describe('a worker crash during /train', () => {
  it('GIVEN a guild with its own model WHEN the training worker dies mid-run THEN the admin is told privately and the old model keeps serving', async () => {
    const guildId = h.server.guild.id;
    // The guild's model as /train leaves it: a version in the blob store.
    const oldVersion = guildKeys.modelVersion(guildId, 'old');
    for (const name of readdirSync(h.config.defaultModelDir).filter((n) => n.includes('.'))) {
      await h.bot.ctx.blobs.putFile(`${oldVersion}${name}`, join(h.config.defaultModelDir, name));
    }
    const oldFiles = await h.bot.ctx.blobs.list(oldVersion);
    const oldModel = {
      modelDir: oldVersion, trainedAt: '2026-12-01T00:00:00.000Z', trainedBy: h.server.users.admin.id, epochs: 3,
      from: 'default' as const, corpusFiles: 1, metrics: { valNll: 1.6 }, summary: 'the old model', lossCurveKey: `${oldVersion}loss-curve.png`,
    };
    await h.bot.ctx.storage.models.set(guildId, oldModel);
    await h.bot.ctx.storage.settings.update(guildId, { model: 'guild' });
    const file = h.server.addAttachment(scaleMidi(), 'piece.mid', 'audio/midi');
    await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'own-work' }, user: h.server.users.admin }),
    );

    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 5 }, user: h.server.users.admin });
    const r = await h.server.waitForInteractionResponse(train, (x) => x.followUps.length > 0, 120_000);
    expect(r.message?.history.some((state) => /^Training/.test(state.content))).toBe(true);
    const told = r.followUps[0]!;
    expect(told.content).toMatch(/^Sorry, that job failed \(job `[0-9a-z]+`\)\. The bot is still running; try again\. This server keeps composing with its current model\.$/);
    expect(told.flags & MessageFlag.Ephemeral).toBeTruthy();

    expect(await h.bot.ctx.storage.models.get(guildId)).toEqual(oldModel);
    expect((await h.bot.ctx.storage.settings.get(guildId)).model).toBe('guild');
    expect(await h.bot.ctx.blobs.list(oldVersion)).toEqual(oldFiles);
    // The half-made version and its work folder are gone; the queue is free for the next run.
    expect(readdirSync(guildPaths(h.dataDir, guildId).modelsDir)).toEqual(['old']);
    expect(await h.bot.ctx.queue.list({ guildId })).toEqual([]);
    const info = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'model', subcommand: 'info' }));
    expect(info.message?.content).toMatch(/In use: \*\*guild\*\*/);
  }, 180_000);

  it('GIVEN everything this suite did WHEN every reply and log line is searched THEN no token, stack trace or file-system path reached a user, and no token the log', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
