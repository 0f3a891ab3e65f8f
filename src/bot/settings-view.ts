/** Turning /settings options into a plain settings change, and settings into text. */
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotConfig } from '../config.js';
import type { SettingsChange } from '../guild/settings.js';
import type { GuildSettings } from '../storage/index.js';
import { DEFAULT_STYLE, isStyleName, STYLES } from '../jobs/styles.js';
import { instrumentName } from './instruments.js';

/** What `/settings set` asked for; the guild use-case checks it. */
export function settingsChangeFromOptions(interaction: ChatInputCommandInteraction): SettingsChange {
  const o = interaction.options;
  const change: SettingsChange = {
    reset: o.getBoolean('reset') ?? undefined,
    temperature: o.getNumber('temperature') ?? undefined,
    program: o.getInteger('instrument') ?? undefined,
    qpm: o.getInteger('tempo') ?? undefined,
    defaultLength: o.getInteger('length') ?? undefined,
    style: o.getString('style') ?? undefined,
    soundfont: o.getString('soundfont') ?? undefined,
    maxPerUser: o.getInteger('user_queue_limit') ?? undefined,
    corpusRoleId: o.getRole('corpus_role')?.id,
    allowChannelId: o.getChannel('allow_channel')?.id,
    disallowChannelId: o.getChannel('disallow_channel')?.id,
  };
  // Absent options are left out, not set to undefined: the use-case treats a present key as "asked".
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as SettingsChange;
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
