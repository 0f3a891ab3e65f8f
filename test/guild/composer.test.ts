import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composerFor, isGuildModel } from '../../src/guild/composer.js';
import { guildModelInfo, useGuildModel } from '../../src/guild/model.js';
import { ADMIN, GUILD_A, guildModel, MEMBER, openGuildFixture, type GuildFixture } from './guild-fixture.js';
import { guildKeys } from '../../src/storage/guild-paths.js';

let f: GuildFixture;
beforeEach(async () => (f = await openGuildFixture()));
afterEach(async () => f.close());

const settings = async () => f.deps.storage.settings.get(GUILD_A);

describe('which model composes for a guild', () => {
  it('GIVEN a guild that chose nothing WHEN asked THEN the bot default style (piano) composes from its shipped folder', async () => {
    const composer = await composerFor(f.deps, GUILD_A, await settings());
    expect(composer.style?.name).toBe('piano');
    expect(composer.modelDir).toBe(join(f.deps.config.modelsDir, 'default'));
  });

  it('GIVEN a guild whose default style is folk WHEN asked with and without a style THEN the asked style wins, else folk', async () => {
    await f.deps.storage.settings.update(GUILD_A, { style: 'folk' });
    expect((await composerFor(f.deps, GUILD_A, await settings())).modelDir).toBe(join(f.deps.config.modelsDir, 'folk'));
    expect((await composerFor(f.deps, GUILD_A, await settings(), 'chorale')).style?.name).toBe('chorale');
  });

  it('GIVEN a guild using its own trained model WHEN no style is asked THEN its model composes; a style asked still composes in that style', async () => {
    const own = guildKeys.modelVersion(GUILD_A, 'm1');
    // Written the way records before the blob store were (an absolute folder): read back as its key.
    await f.deps.storage.models.set(GUILD_A, guildModel(join(f.dataDir, 'guilds', GUILD_A, 'models', 'm1')));
    await f.deps.storage.settings.update(GUILD_A, { model: 'guild' });
    const composer = await composerFor(f.deps, GUILD_A, await settings());
    expect(composer).toEqual({ modelDir: own });
    expect(isGuildModel(composer)).toBe(true);
    expect((await composerFor(f.deps, GUILD_A, await settings(), 'folk')).modelDir).toBe(join(f.deps.config.modelsDir, 'folk'));
  });

  it('GIVEN an unknown style asked WHEN asked THEN it is refused naming the styles', async () => {
    await expect(composerFor(f.deps, GUILD_A, await settings(), 'jazz')).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE', userMessage: expect.stringContaining('piano, chorale, folk') });
  });

  it('GIVEN each combination of model choice and trained model WHEN /model info asks THEN it reports what composerFor would compose with', async () => {
    const cases = [['default', false], ['default', true], ['guild', false], ['guild', true]] as const;
    for (const [i, [choice, trained]] of cases.entries()) {
      const guildId = `10000000000000010${i}`;
      if (trained) await f.deps.storage.models.set(guildId, guildModel(join(f.dataDir, `m${i}`)));
      const stored = await f.deps.storage.settings.update(guildId, { model: choice });
      const info = await guildModelInfo(f.deps, guildId);
      const composer = await composerFor(f.deps, guildId, stored);
      expect(info.inUse, `${choice}, trained ${trained}`).toBe(isGuildModel(composer) ? 'guild' : 'default');
      expect(info.inUse).toBe(choice === 'guild' && trained ? 'guild' : 'default');
      expect(info.own !== undefined).toBe(trained);
    }
  });
});

describe('switching models', () => {
  it('GIVEN a member without Manage Server WHEN they switch THEN refused and nothing changes', async () => {
    await f.deps.storage.models.set(GUILD_A, guildModel(join(f.dataDir, 'm')));
    await expect(useGuildModel(f.deps, MEMBER, 'guild')).rejects.toMatchObject({ code: 'PERMISSION_DENIED', userMessage: 'You need the **Manage Server** permission to switch models.' });
    expect((await settings()).model).toBe('default');
  });

  it('GIVEN no trained model WHEN an admin chooses the guild model THEN refused with what to do', async () => {
    await expect(useGuildModel(f.deps, ADMIN, 'guild')).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      userMessage: 'This server has no trained model yet: add files with /corpus add, then /train start.',
    });
    expect((await settings()).model).toBe('default');
  });

  it('GIVEN a trained model WHEN an admin switches to it and back THEN /model info follows', async () => {
    await f.deps.storage.models.set(GUILD_A, guildModel(join(f.dataDir, 'm')));
    await useGuildModel(f.deps, ADMIN, 'guild');
    expect((await guildModelInfo(f.deps, GUILD_A)).inUse).toBe('guild');
    await useGuildModel(f.deps, ADMIN, 'default');
    expect((await guildModelInfo(f.deps, GUILD_A)).inUse).toBe('default');
  });
});
