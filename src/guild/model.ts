/** Which model a guild composes with: what /model info shows and what /model use switches. */
import { MotifError } from '../errors.js';
import type { GuildModel } from '../storage/index.js';
import { composerFor, isGuildModel } from './composer.js';
import { requireAdmin, type GuildActor, type GuildDeps } from './guild-deps.js';

export interface GuildModelInfo {
  /** What composes when no style is asked for (composerFor's answer). */
  inUse: 'guild' | 'default';
  /** The guild's trained model, if it has one. */
  own?: GuildModel;
}

export async function guildModelInfo(deps: GuildDeps, guildId: string): Promise<GuildModelInfo> {
  const settings = await deps.storage.settings.get(guildId);
  const [composer, own] = await Promise.all([composerFor(deps, guildId, settings), deps.storage.models.get(guildId)]);
  return { inUse: isGuildModel(composer) ? 'guild' : 'default', own };
}

/**
 * Switches between the shipped models and the guild's own.
 * @throws MotifError PERMISSION_DENIED for a member who may not manage the server,
 *   MODEL_NOT_FOUND when choosing the guild's model before one was trained.
 */
export async function useGuildModel(deps: GuildDeps, actor: GuildActor, choice: 'default' | 'guild'): Promise<void> {
  requireAdmin(actor, 'switch models');
  if (choice === 'guild' && !(await deps.storage.models.get(actor.guildId))) {
    throw new MotifError('MODEL_NOT_FOUND', 'This server has no trained model yet: add files with /corpus add, then /train start.');
  }
  await deps.storage.settings.update(actor.guildId, { model: choice });
}
