import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listSoundfonts } from '../../src/audio/soundfont-names.js';
import { guildSettings, soundfontFor, soundfontNames, updateGuildSettings } from '../../src/guild/settings.js';
import { ADMIN, GUILD_A, MEMBER, openGuildFixture, type GuildFixture } from './guild-fixture.js';

let f: GuildFixture;
beforeEach(async () => (f = await openGuildFixture()));
afterEach(async () => f.close());

/** A real bank file, copied into the guild fixture's soundfonts folder under `name`. */
function addFolderFont(name: string): void {
  const bundled = listSoundfonts().find((s) => s.name === 'TimGM6mb')!;
  copyFileSync(bundled.path, join(f.deps.config.soundfontsDir, name));
}

describe('guild settings', () => {
  it('GIVEN a member without Manage Server WHEN they change a setting THEN refused and nothing is stored', async () => {
    await expect(updateGuildSettings(f.deps, MEMBER, { temperature: 1.5 })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      userMessage: 'You need the **Manage Server** permission to change settings.',
    });
    expect(await guildSettings(f.deps, GUILD_A)).toEqual({ model: 'default', allowedChannelIds: [] });
  });

  it('GIVEN an admin WHEN they change several settings THEN all are stored as given (the style normalized) and read back', async () => {
    const updated = await updateGuildSettings(f.deps, ADMIN, { temperature: 1.5, qpm: 90, program: 40, defaultLength: 64, style: ' Folk ', maxPerUser: 3, corpusRoleId: '400000000000000001' });
    expect(updated).toMatchObject({ temperature: 1.5, qpm: 90, program: 40, defaultLength: 64, style: 'folk', maxPerUser: 3, corpusRoleId: '400000000000000001' });
    expect(await guildSettings(f.deps, GUILD_A)).toEqual(updated);
  });

  it.each([
    [{ temperature: 5 }, '`temperature` must be a number from 0.1 to 3 (got 5).'],
    [{ qpm: 10 }, '`tempo` must be a whole number from 20 to 300 (got 10).'],
    [{ program: 128 }, '`instrument` must be a whole number from 0 to 127 (got 128).'],
    [{ defaultLength: 2.5 }, '`length` must be a whole number from 1 to 2000 (got 2.5).'],
    [{ maxPerUser: 11 }, '`user_queue_limit` must be a whole number from 1 to 10 (got 11).'],
    [{ style: 'jazz' }, 'There is no style “jazz”. Choose one of: piano, chorale, folk.'],
  ])('GIVEN a valid tempo beside an invalid %j WHEN an admin applies both THEN refused with a message and neither is stored', async (change, message) => {
    await expect(updateGuildSettings(f.deps, ADMIN, { qpm: 100, ...change })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE', userMessage: message });
    expect((await guildSettings(f.deps, GUILD_A)).qpm).toBeUndefined();
  });

  it('GIVEN a change with nothing in it (reset: false alone) WHEN applied THEN refused saying what to give', async () => {
    await expect(updateGuildSettings(f.deps, ADMIN, { reset: false })).rejects.toMatchObject({
      code: 'OPTION_OUT_OF_RANGE',
      userMessage: 'Give at least one setting to change (see the options of `/settings set`).',
    });
  });

  it('GIVEN settings and a model choice WHEN reset with one new value THEN everything else is back to default, the model choice stays', async () => {
    await f.deps.storage.settings.update(GUILD_A, { model: 'guild', temperature: 2, soundfont: 'TimGM6mb', allowedChannelIds: ['300000000000000001'] });
    const updated = await updateGuildSettings(f.deps, ADMIN, { reset: true, qpm: 90 });
    expect(updated).toEqual({ model: 'guild', allowedChannelIds: [], qpm: 90 });
  });

  it('GIVEN allowed channels WHEN one is added and another removed THEN the list reflects both', async () => {
    await updateGuildSettings(f.deps, ADMIN, { allowChannelId: '300000000000000001' });
    await updateGuildSettings(f.deps, ADMIN, { allowChannelId: '300000000000000002' });
    const updated = await updateGuildSettings(f.deps, ADMIN, { disallowChannelId: '300000000000000001' });
    expect(updated.allowedChannelIds).toEqual(['300000000000000002']);
  });
});

describe('guild SoundFont, as the renderer resolves it', () => {
  it('GIVEN a bundled bank typed in another case with its extension WHEN set THEN accepted and stored as the renderer names it', async () => {
    expect((await updateGuildSettings(f.deps, ADMIN, { soundfont: 'timgm6mb.sf3' })).soundfont).toBe('TimGM6mb');
  });

  it('GIVEN a .sf2 file in the soundfonts folder WHEN set by its name THEN accepted', async () => {
    addFolderFont('Custom Bank.sf2');
    expect((await updateGuildSettings(f.deps, ADMIN, { soundfont: 'custom bank' })).soundfont).toBe('Custom Bank');
  });

  it.each(['NoExtension', 'notes.txt', '../motif.sqlite', 'Missing'])(
    'GIVEN %s, a name the renderer would not load WHEN set THEN refused listing what there is, nothing stored',
    async (name) => {
      writeFileSync(join(f.deps.config.soundfontsDir, 'NoExtension'), 'not a bank');
      writeFileSync(join(f.deps.config.soundfontsDir, 'notes.txt'), 'not a bank');
      await expect(updateGuildSettings(f.deps, ADMIN, { soundfont: name })).rejects.toMatchObject({
        code: 'SOUNDFONT_NOT_FOUND',
        userMessage: `There is no SoundFont called "${name}". Available: FluidR3Mono_GM, MuseScore_General_Lite, TimGM6mb.`,
      });
      expect((await guildSettings(f.deps, GUILD_A)).soundfont).toBeUndefined();
    },
  );

  it('GIVEN a folder bank and the bundled ones WHEN names are suggested for what was typed THEN folder first, filtered case-insensitively', () => {
    addFolderFont('Strings.sf3');
    expect(soundfontNames(f.deps)).toEqual(['Strings', 'FluidR3Mono_GM', 'MuseScore_General_Lite', 'TimGM6mb']);
    expect(soundfontNames(f.deps, 'GM')).toEqual(['FluidR3Mono_GM', 'TimGM6mb']);
    expect(soundfontNames(f.deps, '', 2)).toEqual(['Strings', 'FluidR3Mono_GM']);
  });

  it('GIVEN a guild choice, a bot default or neither WHEN the render SoundFont is asked THEN the guild choice, else the bot default, else the renderer default', () => {
    expect(soundfontFor({ model: 'default', allowedChannelIds: [], soundfont: 'TimGM6mb' }, { defaultSoundfont: 'Other' })).toBe('TimGM6mb');
    expect(soundfontFor({ model: 'default', allowedChannelIds: [] }, { defaultSoundfont: 'Other' })).toBe('Other');
    expect(soundfontFor({ model: 'default', allowedChannelIds: [] }, {})).toBeUndefined();
  });
});
