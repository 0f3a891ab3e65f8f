/**
 * Which model composes for a guild, and in which style. Decided here once: /compose and the
 * result buttons ask it which model to load, /model info asks it which model is in use.
 */
import { DEFAULT_STYLE, isStyleName, parseStyle, STYLES, styleModelDir, type Style } from '../jobs/styles.js';
import type { GuildSettings, Storage } from '../storage/index.js';
import type { GuildConfig } from './guild-deps.js';

export interface Composer {
  /** The model to load: a shipped model's folder, or the guild model version's blob prefix (`guilds/<g>/models/<version>/`). */
  modelDir: string;
  /** The shipped style composing; absent when the guild's own model composes. */
  style?: Style;
}

/**
 * The style asked for; else the guild's own model when /model use chose it and one exists; else
 * the guild's default style (/settings), else the bot's.
 * @param requested a style name (from styles.ts) the member asked for, if any.
 * @throws MotifError OPTION_OUT_OF_RANGE for a requested style that does not exist.
 */
export async function composerFor(
  deps: { storage: Pick<Storage, 'models'>; config: Pick<GuildConfig, 'modelsDir'> },
  guildId: string,
  settings: GuildSettings,
  requested?: string,
): Promise<Composer> {
  if (!requested && settings.model === 'guild') {
    const own = await deps.storage.models.get(guildId);
    if (own) return { modelDir: own.modelDir };
  }
  const style = requested ? parseStyle(requested) : STYLES[settings.style && isStyleName(settings.style) ? settings.style : DEFAULT_STYLE];
  return { modelDir: styleModelDir(deps.config.modelsDir, style), style };
}

/** Whether a composer is the guild's own model rather than a shipped style's. */
export function isGuildModel(composer: Composer): boolean {
  return composer.style === undefined;
}
