/** Turning /settings options into a settings patch, and settings into text. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotConfig } from '../config.js';
import { MotifError } from '../errors.js';
import { DEFAULT_GUILD_SETTINGS, type GuildSettings, type GuildSettingsPatch } from '../storage/index.js';
import { DEFAULT_STYLE, isStyleName, parseStyle, STYLES } from '../jobs/styles.js';
import { instrumentName } from './instruments.js';

/**
 * @throws MotifError SOUNDFONT_NOT_FOUND for a SoundFont name not in the soundfonts folder,
 *   OPTION_OUT_OF_RANGE when nothing was given.
 */
export function settingsPatchFromOptions(interaction: ChatInputCommandInteraction, current: GuildSettings, config: BotConfig): GuildSettingsPatch {
  const o = interaction.options;
  const reset = o.getBoolean('reset') ?? false;
  const base: GuildSettings = reset ? { ...DEFAULT_GUILD_SETTINGS, model: current.model, allowedChannelIds: [] } : current;
  const patch: GuildSettingsPatch = reset
    ? { temperature: null, program: null, qpm: null, soundfont: null, defaultLength: null, style: null, maxPerUser: null, corpusRoleId: null, allowedChannelIds: [] }
    : {};
  const soundfont = o.getString('soundfont');
  if (soundfont !== null) {
    const safe = /^[\w .-]{1,64}$/.test(soundfont) && !soundfont.includes('..');
    if (!safe || !['', '.sf2', '.sf3'].some((ext) => existsSync(join(config.soundfontsDir, soundfont + ext)))) {
      throw new MotifError('SOUNDFONT_NOT_FOUND', `There is no SoundFont called \`${soundfont.slice(0, 64)}\` in the soundfonts folder.`);
    }
    patch.soundfont = soundfont;
  }
  const set = <K extends keyof GuildSettingsPatch>(key: K, value: GuildSettingsPatch[K] | null | undefined): void => {
    if (value !== null && value !== undefined) patch[key] = value;
  };
  set('temperature', o.getNumber('temperature'));
  set('program', o.getInteger('instrument'));
  set('qpm', o.getInteger('tempo'));
  set('defaultLength', o.getInteger('length'));
  const style = o.getString('style');
  if (style !== null) set('style', parseStyle(style).name);
  set('maxPerUser', o.getInteger('user_queue_limit'));
  set('corpusRoleId', o.getRole('corpus_role')?.id);
  const allow = o.getChannel('allow_channel')?.id;
  const disallow = o.getChannel('disallow_channel')?.id;
  if (allow || disallow) {
    const channels = new Set(base.allowedChannelIds);
    if (allow) channels.add(allow);
    if (disallow) channels.delete(disallow);
    patch.allowedChannelIds = [...channels];
  }
  if (Object.keys(patch).length === 0) throw new MotifError('OPTION_OUT_OF_RANGE', 'Give at least one setting to change (see the options of `/settings set`).');
  return patch;
}

export function formatSettings(s: GuildSettings, config: BotConfig): string {
  return [
    `Temperature: ${s.temperature ?? 'default (1)'}`,
    `Instrument: ${s.program === undefined ? 'default (Acoustic Grand Piano)' : instrumentName(s.program)}`,
    `Tempo: ${s.qpm === undefined ? 'default' : `${s.qpm} BPM`}`,
    `Default length: ${s.defaultLength ?? 100}`,
    `SoundFont: ${s.soundfont ?? config.defaultSoundfont ?? 'bundled default'}`,
    `Style: ${STYLES[s.style && isStyleName(s.style) ? s.style : DEFAULT_STYLE].label}${s.style ? '' : ' (default)'}`,
    `Model: ${s.model === 'guild' ? "this server's own (when no style is asked for)" : 'the style’s shipped model'}`,
    `Jobs per member: ${s.maxPerUser ?? config.queueMaxPerUser}`,
    `Channels: ${s.allowedChannelIds.length === 0 ? 'all' : s.allowedChannelIds.map((id) => `<#${id}>`).join(', ')}`,
    `Corpus role: ${s.corpusRoleId ? `<@&${s.corpusRoleId}>` : 'none (Manage Server only)'}`,
  ].join('\n');
}
