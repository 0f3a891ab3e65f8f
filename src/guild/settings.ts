/**
 * A guild's settings: read them, change them (admins only, every value checked), and the rules
 * that turn them into what a render uses. The limits are exported so the /settings options offer
 * exactly the ranges accepted here.
 */
import { resolveSoundfont, listSoundfonts } from '../audio/soundfont-names.js';
import { assertInRange, MotifError } from '../errors.js';
import { parseStyle } from '../jobs/styles.js';
import { DEFAULT_GUILD_SETTINGS, type GuildSettings, type GuildSettingsPatch } from '../storage/index.js';
import { requireAdmin, type GuildActor, type GuildConfig, type GuildDeps } from './guild-deps.js';

/** Inclusive ranges of the numeric settings, by the option name a member sees. */
export const SETTINGS_LIMITS = Object.freeze({
  temperature: { min: 0.1, max: 3, integer: false },
  instrument: { min: 0, max: 127, integer: true },
  tempo: { min: 20, max: 300, integer: true },
  length: { min: 1, max: 2000, integer: true },
  user_queue_limit: { min: 1, max: 10, integer: true },
});

/** The longest SoundFont name a member may type (the option's max length). */
export const MAX_SOUNDFONT_NAME_LENGTH = 64;

/** What a member asked to change; absent fields stay as they are. */
export interface SettingsChange {
  /** Every setting back to its default first (the model choice stays). */
  reset?: boolean;
  temperature?: number;
  /** General MIDI program 0–127. */
  program?: number;
  /** Quarter notes per minute. */
  qpm?: number;
  /** Notes-or-chords. */
  defaultLength?: number;
  /** A style name from styles.ts. */
  style?: string;
  /** A name {@link soundfontNames} lists (case-insensitive, `.sf2`/`.sf3` tolerated). */
  soundfont?: string;
  maxPerUser?: number;
  corpusRoleId?: string;
  /** Also answer in this channel (the bot then answers only in listed channels). */
  allowChannelId?: string;
  /** Stop answering in this channel. */
  disallowChannelId?: string;
}

/** The guild's settings, defaults filled in. */
export async function guildSettings(deps: GuildDeps, guildId: string): Promise<GuildSettings> {
  return deps.storage.settings.get(guildId);
}

/**
 * Applies a change and returns the settings now stored.
 * @throws MotifError PERMISSION_DENIED for a member who may not manage the server,
 *   OPTION_OUT_OF_RANGE for a value outside SETTINGS_LIMITS, an unknown style, or an empty change,
 *   SOUNDFONT_NOT_FOUND for a SoundFont the renderer would not find (the message lists those it would).
 */
export async function updateGuildSettings(deps: GuildDeps, actor: GuildActor, change: SettingsChange): Promise<GuildSettings> {
  requireAdmin(actor, 'change settings');
  const current = await deps.storage.settings.get(actor.guildId);
  return deps.storage.settings.update(actor.guildId, settingsPatch(change, current, deps.config));
}

function settingsPatch(change: SettingsChange, current: GuildSettings, config: GuildConfig): GuildSettingsPatch {
  const base: GuildSettings = change.reset ? { ...DEFAULT_GUILD_SETTINGS, model: current.model, allowedChannelIds: [] } : current;
  const patch: GuildSettingsPatch = change.reset
    ? { temperature: null, program: null, qpm: null, soundfont: null, defaultLength: null, style: null, maxPerUser: null, corpusRoleId: null, allowedChannelIds: [] }
    : {};
  // The renderer's own lookup: a name accepted here is one a render finds, stored as the file is named.
  if (change.soundfont !== undefined) patch.soundfont = resolveSoundfont(change.soundfont, config.soundfontsDir).name;
  const numbers: [keyof typeof SETTINGS_LIMITS, keyof GuildSettingsPatch, number | undefined][] = [
    ['temperature', 'temperature', change.temperature],
    ['instrument', 'program', change.program],
    ['tempo', 'qpm', change.qpm],
    ['length', 'defaultLength', change.defaultLength],
    ['user_queue_limit', 'maxPerUser', change.maxPerUser],
  ];
  for (const [option, key, value] of numbers) {
    if (value === undefined) continue;
    const { min, max, integer } = SETTINGS_LIMITS[option];
    assertInRange(option, value, min, max, { integer });
    (patch as Record<string, unknown>)[key] = value;
  }
  if (change.style !== undefined) patch.style = parseStyle(change.style).name;
  if (change.corpusRoleId !== undefined) patch.corpusRoleId = change.corpusRoleId;
  if (change.allowChannelId || change.disallowChannelId) {
    const channels = new Set(base.allowedChannelIds);
    if (change.allowChannelId) channels.add(change.allowChannelId);
    if (change.disallowChannelId) channels.delete(change.disallowChannelId);
    patch.allowedChannelIds = [...channels];
  }
  if (Object.keys(patch).length === 0) throw new MotifError('OPTION_OUT_OF_RANGE', 'Give at least one setting to change (see the options of `/settings set`).');
  return patch;
}

/**
 * SoundFont names a guild may choose whose name contains `typed` (case-insensitive), at most
 * `limit`: the renderer's own list, so every name offered renders.
 */
export function soundfontNames(deps: { config: Pick<GuildConfig, 'soundfontsDir'> }, typed = '', limit = 25): string[] {
  const wanted = typed.trim().toLowerCase();
  return listSoundfonts(deps.config.soundfontsDir)
    .map((f) => f.name)
    .filter((name) => name.toLowerCase().includes(wanted))
    .slice(0, limit);
}

/** The SoundFont a guild's pieces render with: its own choice, else the bot's default (unset = the renderer's). */
export function soundfontFor(settings: GuildSettings, config: Pick<GuildConfig, 'defaultSoundfont'>): string | undefined {
  return settings.soundfont ?? config.defaultSoundfont;
}
