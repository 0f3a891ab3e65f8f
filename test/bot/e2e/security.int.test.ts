/**
 * Hostile members, forged interactions and other people's guilds, through the real discord.js
 * client. The local Discord server delivers every interaction whatever the command's
 * default_member_permissions (as Discord does once a guild overrides them), so each refusal here
 * comes from the handler itself.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MotifError } from '../../../src/errors.js';
import type { ProcessorRef } from '../../../src/jobs/processor.js';
import { guildPaths } from '../../../src/storage/guild-paths.js';
import { MessageFlag, type FakeUser, type InteractionResponse, type SentInteraction, type SlashCommandInput } from '../../support/discord-server/index.js';
import { findLeaks } from './leak-check.js';
import { scaleMidi, startHarness, waitUntil, type Harness } from './harness.js';

/**
 * /train's job never finishes on its own here: what is tested is who may cancel it, not training
 * (the real training runs in pipeline.int.test.ts). It ends when cancelled, like the real one.
 */
const trainUntilCancelled: ProcessorRef = {
  kind: 'inline',
  run: (_data, { signal }) =>
    new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => reject(new MotifError('JOB_CANCELLED', 'The training was cancelled.')), { once: true });
    }),
};

let h: Harness;
let userCount = 0;
beforeAll(async () => {
  h = await startHarness({
    env: { RATE_USER_PER_MINUTE: '15', RATE_GUILD_PER_MINUTE: '100000' },
    deps: { processors: { train: trainUntilCancelled } },
  });
});
afterAll(async () => {
  await h?.stop();
});

/** A new account (in every guild), so each test stays under the per-user rate limit. */
function user(admin = false): FakeUser {
  return h.server.createUser(`${admin ? 'admin' : 'member'}-${++userCount}`, { admin });
}

const settled = (r: InteractionResponse): boolean => r.callbackType === 4 || r.followUps.length > 0 || Boolean(r.message?.content);

async function answer(i: SentInteraction, predicate = settled, timeoutMs?: number): Promise<{ text: string; ephemeral: boolean; r: InteractionResponse }> {
  const r = await h.server.waitForInteractionResponse(i, predicate, timeoutMs);
  const shown = r.followUps[0] ?? r.message;
  return { text: shown?.content ?? '', ephemeral: ((shown?.flags ?? 0) & MessageFlag.Ephemeral) !== 0, r };
}

function guildB(): { guildId: string; channelId: string } {
  const other = h.server.guilds[1]!;
  return { guildId: other.id, channelId: other.textChannel.id };
}

async function addMidi(by: FakeUser, name = 'tune.mid', where: { guildId?: string; channelId?: string } = {}): Promise<string> {
  const file = h.server.addAttachment(scaleMidi(), name, 'audio/midi');
  const added = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'public-domain' }, user: by, ...where }));
  const id = /Added `([0-9a-f]{8})`/.exec(added.text)?.[1];
  if (!id) throw new Error(`not added: ${added.text}`);
  return id;
}

/** Every file under the data folder, relative to it. */
function dataFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(h.dataDir, path));
    }
  };
  walk(h.dataDir);
  return out;
}

describe('admin actions are checked in the handler', () => {
  it('GIVEN a plain member WHEN they send every admin action directly THEN each is refused privately and nothing changes', async () => {
    const admin = user(true);
    const member = user();
    const guildId = h.server.guild.id;
    const entryId = await addMidi(admin);
    const settingsBefore = await h.bot.ctx.storage.settings.get(guildId);
    const file = h.server.addAttachment(scaleMidi(), 'mine.mid', 'audio/midi');
    const attempts: Omit<SlashCommandInput, 'user'>[] = [
      { name: 'settings', subcommand: 'set', options: { temperature: 2.5, user_queue_limit: 10 } },
      { name: 'train', subcommand: 'start', options: { epochs: 1 } },
      { name: 'train', subcommand: 'cancel' },
      { name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'own-work' } },
      { name: 'corpus', subcommand: 'remove', options: { id: entryId } },
      { name: 'model', subcommand: 'use', options: { model: 'default' } },
    ];
    for (const attempt of attempts) {
      const refused = await answer(h.server.sendSlashCommand({ ...attempt, user: member }));
      expect(refused.text, `/${attempt.name} ${attempt.subcommand}`).toMatch(/You need (the )?\*\*Manage Server\*\*/);
      expect(refused.ephemeral).toBe(true);
    }
    expect(await h.bot.ctx.storage.settings.get(guildId)).toEqual(settingsBefore);
    expect((await h.bot.ctx.storage.corpus.list(guildId)).map((e) => e.id)).toContain(entryId);
    expect(await h.bot.ctx.queue.list({ guildId })).toEqual([]);
  });

  it('GIVEN an admin whose interaction carries no Manage Server (permissions taken away or forged) WHEN they change settings THEN the payload’s permissions decide: refused', async () => {
    const admin = user(true);
    const refused = await answer(h.server.sendSlashCommand({ name: 'settings', subcommand: 'set', options: { tempo: 200 }, user: admin, memberPermissions: 0n }));
    expect(refused.text).toMatch(/Manage Server/);
    expect((await h.bot.ctx.storage.settings.get(h.server.guild.id)).qpm).not.toBe(200);
  });

  it('GIVEN a training job of one admin WHEN a member, or another guild, tries to cancel it THEN they are refused; another admin of the guild may', async () => {
    const owner = user(true);
    const member = user();
    const guildId = h.server.guild.id;
    await addMidi(owner, 'for-training.mid');
    const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 1 }, user: owner });
    const progress = await h.server.waitForInteractionResponse(train, (r) => (r.message?.components.length ?? 0) > 0);
    const job = (await h.bot.ctx.queue.list({ guildId })).find((j) => j.kind === 'train')!;
    expect(job).toBeDefined();

    const button = await answer(h.server.pressButton(progress.message!, `job:cancel:${job.id}`, { user: member }));
    expect(button.text).toBe('You can only cancel your own jobs.');
    const command = await answer(h.server.sendSlashCommand({ name: 'queue', subcommand: 'cancel', options: { id: job.id }, user: member }));
    expect(command.text).toBe('You can only cancel your own jobs.');
    // An admin of guild B with A's job id.
    const fromB = await answer(h.server.sendSlashCommand({ name: 'queue', subcommand: 'cancel', options: { id: job.id }, user: user(true), ...guildB() }));
    expect(fromB.text).toMatch(new RegExp(`No job \`${job.id}\` is waiting or running in this server`));
    const trainCancelB = await answer(h.server.sendSlashCommand({ name: 'train', subcommand: 'cancel', user: user(true), ...guildB() }));
    expect(trainCancelB.text).toMatch(/No training is queued or running/);
    const listB = await answer(h.server.sendSlashCommand({ name: 'queue', subcommand: 'list', user: user(), ...guildB() }));
    expect(listB.text).toBe('Nothing is queued on this server.');
    expect((await h.bot.ctx.queue.list({ guildId })).map((j) => j.id)).toEqual([job.id]);

    const otherAdmin = await answer(h.server.sendSlashCommand({ name: 'train', subcommand: 'cancel', user: user(true) }));
    expect(otherAdmin.text).toBe(`Cancelled training job \`${job.id}\`.`);
    await h.server.waitForInteractionResponse(train, (r) => r.followUps.length > 0 || /cancel/i.test(r.message?.content ?? ''));
    expect(await h.bot.ctx.queue.list({ guildId })).toEqual([]);
  });
});

describe('guild isolation', () => {
  let resultMessage: InteractionResponse['message'];
  let resultId = '';
  let entryId = '';

  beforeAll(async () => {
    // Guild A: a seed, a corpus entry and a real composed result (the real pipeline, short piece).
    const a = user();
    const midi = h.server.addAttachment(scaleMidi([62, 64, 66]), 'secret.mid', 'audio/midi');
    await answer(h.server.sendSlashCommand({ name: 'seed', subcommand: 'save', options: { name: 'mine', midi }, user: a }));
    entryId = await addMidi(user(true), 'guild-a-only.mid');
    const composed = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'compose', options: { length: 8 }, user: a }),
      (r) => (r.message?.attachments.length ?? 0) >= 3 || r.followUps.length > 0,
      240_000,
    );
    expect(composed.followUps.map((f) => f.content)).toEqual([]);
    resultMessage = composed.message;
    // The result is recorded once its files are posted, after the final edit is answered.
    await waitUntil(async () => (await h.bot.ctx.storage.results.recentIds(h.server.guild.id)).length > 0, 60_000, 'the result record');
    resultId = (await h.bot.ctx.storage.results.recentIds(h.server.guild.id))[0] ?? '';
    expect(resultId).toMatch(/^[0-9a-f]{8}$/);
  }, 300_000);

  it('GIVEN A’s seed name WHEN guild B lists, uses, deletes or autocompletes it THEN B sees nothing and A keeps it', async () => {
    const b = user();
    const list = await answer(h.server.sendSlashCommand({ name: 'seed', subcommand: 'list', user: b, ...guildB() }));
    expect(list.text).toMatch(/No seeds yet/);
    const use = await answer(h.server.sendSlashCommand({ name: 'compose', options: { seed: 'mine' }, user: b, ...guildB() }));
    expect(use.text).toMatch(/no seed called `mine` on this server/);
    const del = await answer(h.server.sendSlashCommand({ name: 'seed', subcommand: 'delete', options: { name: 'mine' }, user: b, ...guildB() }));
    expect(del.text).toMatch(/no seed called `mine`/);
    expect(await h.server.waitForAutocomplete(h.server.autocomplete({ name: 'compose', options: { seed: 'mi' }, focused: 'seed', user: b, ...guildB() }))).toEqual([]);
    expect((await h.bot.ctx.storage.seeds.list(h.server.guild.id)).map((s) => s.name)).toContain('mine');
    expect(await h.bot.ctx.queue.list({ guildId: guildB().guildId })).toEqual([]);
  });

  it('GIVEN A’s corpus id WHEN an admin of B lists or removes it THEN B sees an empty corpus and A’s file stays', async () => {
    const list = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'list', user: user(), ...guildB() }));
    expect(list.text).toMatch(/corpus is empty/);
    const remove = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'remove', options: { id: entryId }, user: user(true), ...guildB() }));
    expect(remove.text).toMatch(new RegExp(`No corpus file with id \`${entryId}\` on this server`));
    expect((await h.bot.ctx.storage.corpus.list(h.server.guild.id)).map((e) => e.id)).toContain(entryId);
    expect(existsSync(join(guildPaths(h.dataDir, h.server.guild.id).corpusDir, `${entryId}.mid`))).toBe(true);
  });

  it('GIVEN A’s result message WHEN members of B press its buttons or ask for it by id THEN each says it is not there, and no job or seed appears in B', async () => {
    const b = user();
    // (Play is disabled on this bot without voice; its lookup is the same loadResult.)
    for (const action of ['regen', 'cont', 'seed']) {
      const pressed = await answer(h.server.pressButton(resultMessage!, `res:${action}:${resultId}`, { user: b, ...guildB() }));
      expect(pressed.text, action).toMatch(/That result has expired/);
      expect(pressed.ephemeral).toBe(true);
    }
    expect(await h.server.waitForAutocomplete(h.server.autocomplete({ name: 'play', options: { result: resultId.slice(0, 3) }, focused: 'result', user: b, ...guildB() }))).toEqual([]);
    expect(await h.bot.ctx.storage.results.get(guildB().guildId, resultId)).toBeUndefined();
    expect(await h.bot.ctx.storage.seeds.list(guildB().guildId)).toEqual([]);
    expect(await h.bot.ctx.queue.list({ guildId: guildB().guildId })).toEqual([]);
  });

  it('GIVEN A has its own model WHEN B asks about or switches to "guild" THEN B has none and never gets A’s', async () => {
    await h.bot.ctx.storage.models.set(h.server.guild.id, {
      modelDir: join(guildPaths(h.dataDir, h.server.guild.id).modelsDir, 'a-model'),
      trainedAt: new Date().toISOString(), trainedBy: '1', epochs: 1, from: 'default', corpusFiles: 1, metrics: {}, summary: 'A only',
      sources: [{ id: entryId, name: 'guild-a-only.mid', licence: 'public-domain', addedBy: '1' }],
    });
    const info = await answer(h.server.sendSlashCommand({ name: 'model', subcommand: 'info', user: user(), ...guildB() }));
    expect(info.text).toMatch(/no model of its own/);
    expect(info.text).not.toMatch(/guild-a-only/);
    const use = await answer(h.server.sendSlashCommand({ name: 'model', subcommand: 'use', options: { model: 'guild' }, user: user(true), ...guildB() }));
    expect(use.text).toMatch(/no trained model yet/);
    expect((await h.bot.ctx.storage.settings.get(guildB().guildId)).model).toBe('default');
  });
});

describe('names from users never become paths', () => {
  const HOSTILE = ['../../x', '..\\..\\x', 'a\u0000b', 'x'.repeat(2000), '\u202egnp.exe', '<@123456789012345678>', '/etc/passwd'];

  it('GIVEN hostile seed names WHEN saved THEN each is refused with the naming rule; an id-like name is just a name', async () => {
    const u = user();
    const midi = h.server.addAttachment(scaleMidi(), 'seed.mid', 'audio/midi');
    for (const name of HOSTILE) {
      const r = await answer(h.server.sendSlashCommand({ name: 'seed', subcommand: 'save', options: { name, midi }, user: u }));
      expect(r.text, JSON.stringify(name.slice(0, 20))).toMatch(/A seed name has 1–32 letters, digits, spaces/);
    }
    const idLike = await answer(h.server.sendSlashCommand({ name: 'seed', subcommand: 'save', options: { name: '123456789012345678', midi }, user: u }));
    expect(idLike.text).toMatch(/Saved seed `123456789012345678`/);
    expect(dataFiles().some((f) => f.includes('123456789012345678') || f.includes('passwd'))).toBe(false);
  });

  it('GIVEN hostile attachment file names WHEN added to the corpus THEN files are stored under generated ids only, names are shown as plain text, and nothing lands outside the data folder', async () => {
    const names = ['../../evil.mid', '..\\..\\evil.mid', 'nul\u0000byte.mid', `${'x'.repeat(2000)}.mid`, '\u202ediM.exe.mid', '123456789012345678.mid'];
    const admin = user(true);
    const before = new Set(await h.bot.ctx.storage.corpus.list(h.server.guild.id).then((l) => l.map((e) => e.id)));
    for (const name of names) {
      const file = h.server.addAttachment(scaleMidi(), name, 'audio/midi');
      const r = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'own-work' }, user: admin }));
      expect(r.text, JSON.stringify(name.slice(0, 20))).toMatch(/^Added `[0-9a-f]{8}` /);
      expect(r.text).not.toMatch(/[\u0000\u202e]/);
      expect(r.text.length).toBeLessThan(400);
    }
    const added = (await h.bot.ctx.storage.corpus.list(h.server.guild.id)).filter((e) => !before.has(e.id));
    expect(added).toHaveLength(names.length);
    for (const entry of added) expect(entry.name).not.toMatch(/[\u0000-\u001f\u202a-\u202e`]/);
    const corpusFiles = dataFiles().filter((f) => f.includes(`${sep}corpus${sep}`));
    for (const f of corpusFiles) expect(f).toMatch(/^guilds[\\/]\d+[\\/]corpus[\\/][0-9a-f]{8}\.mid$/);
    for (const outside of [join(dirname(h.dataDir), 'evil.mid'), join(h.dataDir, 'evil.mid'), join(h.dataDir, 'guilds', 'evil.mid')]) {
      expect(existsSync(outside), outside).toBe(false);
    }
  });

  it('GIVEN path-like ids WHEN removing a corpus file or cancelling a job THEN they are unknown ids and the store file is untouched', async () => {
    const admin = user(true);
    for (const id of ['../../motif', '..\\motif', 'motif.sqlite']) {
      const r = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'remove', options: { id }, user: admin }));
      expect(r.text).toMatch(/No (corpus file|item) with id/);
    }
    const cancel = await answer(h.server.sendSlashCommand({ name: 'queue', subcommand: 'cancel', options: { id: '../x' }, user: admin }));
    expect(cancel.text).toMatch(/No job/);
    expect(existsSync(join(h.dataDir, 'motif.sqlite'))).toBe(true);
  });
});

describe('abuse limits', () => {
  it('GIVEN a member over the per-minute limit WHEN they send one more command THEN they are told privately to wait; another member is still served', async () => {
    const flooder = user();
    for (let i = 0; i < 15; i++) {
      const ok = await answer(h.server.sendSlashCommand({ name: 'seed', subcommand: 'list', user: flooder }));
      expect(ok.text).not.toMatch(/too fast/);
    }
    const limited = await answer(h.server.sendSlashCommand({ name: 'seed', subcommand: 'list', user: flooder }));
    expect(limited.text).toMatch(/^You are sending commands too fast\. Try again in \d+ s\.$/);
    expect(limited.ephemeral).toBe(true);
    const other = await answer(h.server.sendSlashCommand({ name: 'seed', subcommand: 'list', user: user() }));
    expect(other.text).not.toMatch(/too fast/);
  });
});

describe('rights', () => {
  it('GIVEN an upload without the rights confirmation, or CC BY without credit THEN it is refused before download; with them it is stored with uploader, time and licence', async () => {
    const admin = user(true);
    const file = h.server.addAttachment(scaleMidi(), 'folk.mid', 'audio/midi');
    const unconfirmed = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: false, licence: 'cc-by' }, user: admin }));
    expect(unconfirmed.text).toMatch(/Only add music you may share for training/);
    const noCredit = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'cc-by' }, user: admin }));
    expect(noCredit.text).toMatch(/CC BY requires credit/);
    // A forged payload with a licence outside the command's choices, or none at all.
    for (const licence of ['gpl-3.0', undefined]) {
      const forged = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, ...(licence ? { licence } : {}) }, user: admin }));
      expect(forged.text, String(licence)).toMatch(/^Pick the piece’s `licence`/);
    }
    const ok = await answer(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'cc-by', attribution: 'Trad., arr. Bill Black (CRÉ)' }, user: admin }),
    );
    expect(ok.text).toMatch(/Added `[0-9a-f]{8}` folk\.mid to the corpus \(8 notes; CC BY\)/);
    const entry = (await h.bot.ctx.storage.corpus.list(h.server.guild.id)).find((e) => e.name === 'folk.mid')!;
    expect(entry).toMatchObject({ addedBy: admin.id, licence: 'cc-by', rightsConfirmed: true, attribution: 'Trad., arr. Bill Black (CRÉ)' });
    expect(Date.now() - Date.parse(entry.addedAt)).toBeLessThan(10 * 60_000);
    const list = await answer(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'list', user: user() }));
    expect(list.text).toContain(`folk.mid — midi, 8 notes, CC BY (Trad., arr. Bill Black (CRÉ)), by <@${admin.id}>`);
  });
});

describe('what users and logs see', () => {
  it('GIVEN everything this suite did WHEN every reply and log line is searched THEN no token, stack trace or file-system path appears', () => {
    expect(h.server.requests.length).toBeGreaterThan(50);
    expect(findLeaks(h)).toEqual([]);
  });
});
