/** Per-guild defaults for /compose and the bot's behaviour, one record per guild. */
import type Keyv from 'keyv';
import { assertGuildId } from './guild-paths.js';
import { KeyLock } from './key-lock.js';
import { storedSettingsSchema } from './schemas.js';
import type { RecordReader } from './validated-read.js';

export interface GuildSettings {
  /** Default sampling temperature, > 0. */
  temperature?: number;
  /** Default General MIDI program 0–127. */
  program?: number;
  /** Default tempo in quarter notes per minute. */
  qpm?: number;
  /** SoundFont name from the soundfonts folder. */
  soundfont?: string;
  /** Default /compose length in notes-or-chords. */
  defaultLength?: number;
  /** Default /compose style (a name from src/jobs/styles.ts); unset = the bot's default style. */
  style?: string;
  /** Which model /compose uses: the shipped one or the guild's own (after a successful /train). */
  model: 'default' | 'guild';
  /** Jobs one member may have waiting or running; unset = the bot-wide limit. */
  maxPerUser?: number;
  /** Channels the bot answers in; empty = everywhere. */
  allowedChannelIds: string[];
  /** Members with this role may manage the corpus without Manage Server. */
  corpusRoleId?: string;
}

export const DEFAULT_GUILD_SETTINGS: Readonly<GuildSettings> = Object.freeze({ model: 'default', allowedChannelIds: [] });

/** A change to settings: `null` clears an optional field back to its default. */
export type GuildSettingsPatch = {
  [K in keyof GuildSettings]?: GuildSettings[K] | (undefined extends GuildSettings[K] ? null : never);
};

export class GuildSettingsRepo {
  private readonly lock = new KeyLock();

  constructor(
    private readonly keyv: Keyv,
    private readonly reader: RecordReader,
  ) {}

  /** The guild's settings with defaults filled in (a copy); defaults alone for a damaged record. */
  async get(guildId: string): Promise<GuildSettings> {
    assertGuildId(guildId);
    const stored = await this.reader.read(guildId, storedSettingsSchema);
    const defined = Object.fromEntries(Object.entries(stored ?? {}).filter(([, v]) => v !== undefined));
    return { ...DEFAULT_GUILD_SETTINGS, allowedChannelIds: [], ...defined };
  }

  /** Applies `patch` atomically (per process) and returns the new settings. */
  async update(guildId: string, patch: GuildSettingsPatch): Promise<GuildSettings> {
    return this.lock.run(guildId, async () => {
      const next: Record<string, unknown> = { ...(await this.get(guildId)) };
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete next[key];
        else if (value !== undefined) next[key] = value;
      }
      await this.keyv.set(guildId, next);
      return next as unknown as GuildSettings;
    });
  }
}
