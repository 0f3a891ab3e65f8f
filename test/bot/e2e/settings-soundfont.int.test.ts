/**
 * /settings offers and accepts exactly the SoundFonts the renderer loads: every name its
 * autocomplete suggests is loaded by the renderer and saved by /settings set, and a file the
 * renderer would refuse (no .sf2/.sf3 extension: /settings used to accept it) is refused with the
 * names there are.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSoundfonts, loadSoundfont } from '../../../src/audio/soundfonts.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
let soundfontsDir: string;
beforeAll(async () => {
  soundfontsDir = mkdtempSync(join(tmpdir(), 'motif-soundfonts-'));
  const bank = listSoundfonts().find((s) => s.name === 'TimGM6mb')!.path;
  copyFileSync(bank, join(soundfontsDir, 'Custom.sf3'));
  copyFileSync(bank, join(soundfontsDir, 'NoExtension'));
  h = await startHarness({ env: { SOUNDFONTS_DIR: soundfontsDir } });
});
afterAll(async () => {
  await h?.stop();
  rmSync(soundfontsDir, { recursive: true, force: true });
});

const setSoundfont = (soundfont: string) =>
  h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'settings', subcommand: 'set', options: { soundfont }, user: h.server.users.admin }));

describe('/settings soundfont', () => {
  it('GIVEN the soundfont option WHEN autocompleted THEN every name offered is one the renderer loads, and /settings saves it', async () => {
    const choices = await h.server.waitForAutocomplete(h.server.autocomplete({ name: 'settings', subcommand: 'set', options: { soundfont: '' }, focused: 'soundfont' }));
    const names = choices.map((c) => String(c.value));
    expect(names).toEqual(['Custom', 'FluidR3Mono_GM', 'MuseScore_General_Lite', 'TimGM6mb']);
    for (const name of names) {
      expect(loadSoundfont(name, soundfontsDir).bank.presets.length, name).toBeGreaterThan(0);
      const saved = await setSoundfont(name);
      expect(saved.message?.content, name).toMatch(new RegExp(`^Settings saved\\.\\n[\\s\\S]*SoundFont: ${name}\\n`));
      expect((await h.bot.ctx.storage.settings.get(h.server.guild.id)).soundfont).toBe(name);
    }
  });

  it('GIVEN what was typed WHEN autocompleted THEN only names containing it are offered', async () => {
    const choices = await h.server.waitForAutocomplete(h.server.autocomplete({ name: 'settings', subcommand: 'set', options: { soundfont: 'gm' }, focused: 'soundfont' }));
    expect(choices.map((c) => c.value)).toEqual(['FluidR3Mono_GM', 'TimGM6mb']);
  });

  it('GIVEN a file the renderer refuses (no .sf2/.sf3 extension) WHEN set THEN refused privately, listing the names there are; the setting stays', async () => {
    const before = (await h.bot.ctx.storage.settings.get(h.server.guild.id)).soundfont;
    expect(() => loadSoundfont('NoExtension', soundfontsDir)).toThrow(/no SoundFont called/);
    const refused = await setSoundfont('NoExtension');
    expect(refused.ephemeral).toBe(true);
    expect(refused.message?.content).toBe('There is no SoundFont called "NoExtension". Available: Custom, FluidR3Mono_GM, MuseScore_General_Lite, TimGM6mb.');
    expect((await h.bot.ctx.storage.settings.get(h.server.guild.id)).soundfont).toBe(before);
  });
});
