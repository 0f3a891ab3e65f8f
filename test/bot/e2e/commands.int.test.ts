/**
 * The bot's commands end to end without the compose pipeline: seeds, settings, corpus, queue,
 * permission refusals and error replies, through the real discord.js client.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlashCommandBuilder } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../commands/index.js';
import type { Command } from '../../../src/bot/command.js';
import { readMidi } from '../../../src/music/midi-io.js';
import { guildPaths } from '../../../src/storage/guild-paths.js';
import { renderWav } from '../../support/render-wav.js';
import { MessageFlag, type InteractionResponse } from '../../support/discord-server/index.js';
import { findLeaks } from './leak-check.js';
import { scaleMidi, startHarness, type Harness } from './harness.js';

/** A command whose handler has a bug, to see what users get for unexpected errors. */
const brokenCommand: Command = {
  data: new SlashCommandBuilder().setName('broken').setDescription('always fails'),
  execute: async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'notes')");
  },
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { MAX_MIDI_BYTES: '4096' }, deps: { commands: [...COMMANDS, brokenCommand] } });
});
afterAll(async () => {
  await h?.stop();
});

function expectPrivateError(r: InteractionResponse, text: RegExp): void {
  expect(r.message?.content).toMatch(text);
  expect(r.ephemeral).toBe(true);
  expect(r.message?.allowedMentions).toEqual({ parse: [] });
}

describe('commands through the real client', () => {
  it('GIVEN deploy-commands WHEN run THEN every command is registered guild-only in the dev guild, Manage Server by default only for /train', () => {
    const registered = h.server.registeredCommands(h.server.guild.id) as { name: string; default_member_permissions?: string | null; contexts?: number[] }[];
    expect(registered.map((c) => c.name).sort()).toEqual(['compose', 'corpus', 'leave', 'model', 'play', 'queue', 'seed', 'settings', 'skip', 'stop', 'train']);
    const manageGuild = String(1n << 5n);
    expect(registered.find((c) => c.name === 'train')?.default_member_permissions).toBe(manageGuild);
    // /settings view is for everyone: `set` checks Manage Server in the handler instead.
    expect(registered.find((c) => c.name === 'settings')?.default_member_permissions ?? null).toBeNull();
    for (const command of registered) expect(command.contexts, command.name).toEqual([0]);
  });

  it('GIVEN a MIDI attachment WHEN saved as a seed THEN it is listed, autocompleted, and deletable', async () => {
    const midi = h.server.addAttachment(scaleMidi(), 'scale.mid', 'audio/midi');
    const save = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'save', options: { name: 'Scale', midi } }));
    expect(save.message?.content).toMatch(/Saved seed `scale` \(8 notes\)/);
    const list = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'list' }));
    expect(list.message?.content).toContain('`scale` — 8 notes, from scale.mid');
    const choices = await h.server.waitForAutocomplete(h.server.autocomplete({ name: 'compose', options: { seed: 'sc' }, focused: 'seed' }));
    expect(choices).toEqual([{ name: 'scale (8 notes)', value: 'scale' }]);
    const again = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'save', options: { name: 'scale', midi } }));
    expectPrivateError(again, /already exists/);
    const del = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'delete', options: { name: 'scale' } }));
    expect(del.message?.content).toMatch(/Deleted seed `scale`/);
    const missing = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'delete', options: { name: 'scale' } }));
    expectPrivateError(missing, /no seed called `scale`/);
  });

  it('GIVEN seeds in one guild WHEN another guild lists seeds THEN it sees none of them', async () => {
    const midi = h.server.addAttachment(scaleMidi([50, 52]), 'two.mid', 'audio/midi');
    await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'save', options: { name: 'mine', midi } }));
    const other = h.server.guilds[1]!;
    const list = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'seed', subcommand: 'list', guildId: other.id, channelId: other.textChannel.id }),
    );
    expect(list.message?.content).toMatch(/No seeds yet/);
  });

  it('GIVEN a plain member WHEN they change settings THEN they are refused privately; an admin succeeds and view shows it', async () => {
    const refused = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'settings', subcommand: 'set', options: { temperature: 1.5 } }));
    expectPrivateError(refused, /Manage Server/);
    const set = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'settings', subcommand: 'set', options: { temperature: 1.5, tempo: 90, instrument: 40 }, user: h.server.users.admin }),
    );
    expect(set.message?.content).toMatch(/Settings saved/);
    const view = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'settings', subcommand: 'view' }));
    expect(view.message?.content).toMatch(/Temperature: 1\.5/);
    expect(view.message?.content).toMatch(/Tempo: 90 BPM/);
    expect(view.message?.content).toMatch(/Instrument: Violin/);
    expect((await h.bot.ctx.storage.settings.get(h.server.guild.id)).temperature).toBe(1.5);
  });

  it('GIVEN bad corpus uploads WHEN added THEN each gets a clear private reply and nothing is stored', async () => {
    const admin = h.server.users.admin;
    const text = h.server.addAttachment(Buffer.from('hello'), 'notes.txt', 'text/plain');
    const corrupt = h.server.addAttachment(Buffer.from('MThd this is not really midi'), 'broken.mid', 'audio/midi');
    const big = h.server.addAttachment(Buffer.alloc(5000, 1), 'big.mid', 'audio/midi');
    const byMember = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file: text, confirm_rights: true, licence: 'own-work' } }));
    expectPrivateError(byMember, /Manage Server/);
    for (const [file, reason] of [[text, /not a file I can read/], [corrupt, /MIDI/], [big, /larger than the 4 KB limit/]] as const) {
      const r = await h.server.waitForInteractionResponse(
        h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'public-domain' }, user: admin }),
        // After a public defer the bot deletes "thinking…" and follows up privately.
        (x) => x.callbackType === 4 || x.followUps.length > 0 || Boolean(x.message?.content),
      );
      const shown = r.followUps[0] ?? r.message;
      expect(shown?.content).toMatch(reason);
      expect((shown?.flags ?? 0) & MessageFlag.Ephemeral).toBeTruthy();
    }
    expect(await h.bot.ctx.storage.corpus.list(h.server.guild.id)).toEqual([]);
  });

  it('GIVEN a valid MIDI WHEN an admin adds it to the corpus THEN it is listed and removable', async () => {
    const file = h.server.addAttachment(scaleMidi(), 'tune.mid', 'audio/midi');
    const added = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'public-domain' }, user: h.server.users.admin }),
    );
    expect(added.message?.content).toMatch(/Added `[0-9a-f]{8}` tune\.mid to the corpus \(8 notes; public domain\)/);
    const id = /`([0-9a-f]{8})`/.exec(added.message?.content ?? '')?.[1] ?? '';
    const list = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'corpus', subcommand: 'list' }));
    expect(list.message?.content).toContain(`\`${id}\` tune.mid — midi, 8 notes`);
    const removed = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'remove', options: { id }, user: h.server.users.admin }),
    );
    expect(removed.message?.content).toMatch(/Removed/);
    expect(await h.bot.ctx.storage.corpus.list(h.server.guild.id)).toEqual([]);
  });

  it('GIVEN a WAV recording WHEN an admin adds it to the corpus THEN a worker transcribes it and the stored MIDI holds its notes', async () => {
    const played = scaleMidi([60, 64, 67, 72, 67, 64, 60, 62]);
    const wav = h.server.addAttachment(renderWav(readMidi(new Uint8Array(played))), 'recording.wav', 'audio/wav');
    const added = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file: wav, confirm_rights: true, licence: 'own-work' }, user: h.server.users.admin }),
      (x) => /Added|couldn|could not|failed/i.test(x.message?.content ?? '') || x.followUps.length > 0,
      120_000,
    );
    expect(added.followUps).toEqual([]);
    const match = /Added `([0-9a-f]{8})` recording\.wav to the corpus \((\d+) notes, transcribed; own work, shared for training\)/.exec(added.message?.content ?? '');
    expect(match, added.message?.content).not.toBeNull();
    const [, id, notes] = match!;
    const entry = (await h.bot.ctx.storage.corpus.list(h.server.guild.id)).find((e) => e.id === id);
    expect(entry).toMatchObject({ id, kind: 'audio', name: 'recording.wav', noteCount: Number(notes) });
    const stored = readMidi(new Uint8Array(await readFile(join(guildPaths(h.dataDir, h.server.guild.id).corpusDir, `${id}.mid`))));
    // Basic Pitch hears the eight played notes; pitch classes of the C-major arpeggio must be there.
    expect(stored.notes.length).toBeGreaterThanOrEqual(6);
    const heard = new Set(stored.notes.map((n) => n.pitch % 12));
    for (const pc of [0, 4, 7]) expect(heard.has(pc)).toBe(true);
    await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'remove', options: { id: id! }, user: h.server.users.admin }),
    );
  }, 150_000);

  it('GIVEN an audio file that is not audio WHEN added THEN the reply explains privately and nothing is stored', async () => {
    const fake = h.server.addAttachment(Buffer.from('ID3 but really just some text, not an mp3 stream'.repeat(20)), 'song.mp3', 'audio/mpeg');
    const r = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file: fake, confirm_rights: true, licence: 'own-work' }, user: h.server.users.admin }),
      (x) => x.callbackType === 4 || x.followUps.length > 0,
      120_000,
    );
    const shown = r.followUps[0] ?? r.message;
    expect(shown?.content).toMatch(/audio/i);
    expect((shown?.flags ?? 0) & MessageFlag.Ephemeral).toBeTruthy();
    expect(await h.bot.ctx.storage.corpus.list(h.server.guild.id)).toEqual([]);
    const { corpusDir } = guildPaths(h.dataDir, h.server.guild.id);
    expect((await readdir(corpusDir).catch(() => [])).filter((f) => !f.startsWith('.'))).toEqual([]);
  }, 150_000);

  it('GIVEN bad /compose options WHEN sent THEN the reply is private and explains, and no job is queued', async () => {
    const tooLong = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { length: 5000 } }));
    expectPrivateError(tooLong, /`length` must be a whole number from 1 to 2000/);
    const unknownSeed = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { seed: 'nope' } }));
    expectPrivateError(unknownSeed, /no seed called `nope`/);
    const notMidi = h.server.addAttachment(Buffer.from('RIFF....WAVE'), 'song.wav', 'audio/wav');
    const wrongType = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options: { midi: notMidi } }));
    expectPrivateError(wrongType, /send MIDI/);
    expect(await h.bot.ctx.queue.list()).toEqual([]);
  });

  it('GIVEN /train WHEN a member or an admin without corpus asks THEN refusal and "no corpus" come back privately', async () => {
    const member = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 1 } }));
    expectPrivateError(member, /Manage Server/);
    const other = h.server.guilds[1]!;
    const empty = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 1 }, user: h.server.users.admin, guildId: other.id, channelId: other.textChannel.id }),
    );
    expectPrivateError(empty, /no corpus yet/);
    const cancel = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'train', subcommand: 'cancel', user: h.server.users.admin }));
    expectPrivateError(cancel, /No training/);
  });

  it('GIVEN /model and /queue WHEN nothing was trained or queued THEN they say so', async () => {
    const info = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'model', subcommand: 'info' }));
    expect(info.message?.content).toMatch(/In use: \*\*default\*\*/);
    const use = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'model', subcommand: 'use', options: { model: 'guild' }, user: h.server.users.admin }));
    expectPrivateError(use, /no trained model yet/);
    const queue = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'queue', subcommand: 'list' }));
    expect(queue.message?.content).toBe('Nothing is queued on this server.');
    const cancel = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'queue', subcommand: 'cancel', options: { id: 'abc123' } }));
    expectPrivateError(cancel, /No job `abc123`/);
  });

  it('GIVEN a handler bug WHEN it throws THEN the user sees only an incident id, which the log holds with the error', async () => {
    const r = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'broken' }));
    expectPrivateError(r, /incident `[0-9a-f]{8}`/);
    const incident = /incident `([0-9a-f]{8})`/.exec(r.message?.content ?? '')?.[1] ?? '';
    expect(r.message?.content).not.toMatch(/notes|undefined/);
    expect(h.logLines.some((line) => line.includes(`incident ${incident}`) && line.includes('reading'))).toBe(true);
  });

  it('GIVEN channel restrictions WHEN a command comes from another channel THEN it is refused but /settings still works there', async () => {
    const other = h.server.guilds[1]!;
    const admin = h.server.users.admin;
    const where = { guildId: other.id, channelId: other.textChannel.id };
    const allowedElsewhere = '123456789012345678';
    await h.bot.ctx.storage.settings.update(other.id, { allowedChannelIds: [allowedElsewhere] });
    const refused = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'seed', subcommand: 'list', ...where }));
    expectPrivateError(refused, /answers only in/);
    const view = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'settings', subcommand: 'view', user: admin, ...where }));
    expect(view.message?.content).toMatch(/Channels: <#123456789012345678>/);
  });

  it('GIVEN everything above (errors, an incident, uploads) WHEN every reply and log line is searched THEN no token, stack trace or file-system path reached a user, and no token the log', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
