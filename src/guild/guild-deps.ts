/**
 * What every guild use-case receives: the stores and the few folders and defaults it needs. The
 * bot's context satisfies this shape, so commands pass theirs; tests pass real storage and a
 * temporary folder. Nothing in src/guild knows Discord: callers translate interactions into the
 * plain values below (ids, an admin flag) and the MotifErrors thrown here into replies.
 */
import type { CoreConfig } from '../config.js';
import { MotifError } from '../errors.js';
import type { Storage } from '../storage/index.js';

export type GuildConfig = Pick<CoreConfig, 'dataDir' | 'modelsDir' | 'soundfontsDir' | 'defaultSoundfont'>;

export interface GuildDeps {
  storage: Storage;
  config: GuildConfig;
}

/** Who asks, in one guild. */
export interface GuildActor {
  guildId: string;
  userId: string;
  /** The member may manage the server (Discord's Manage Server permission, as the caller read it). */
  isAdmin: boolean;
}

/**
 * @param action what the member tried, completing "You need … to", e.g. "change settings".
 * @throws MotifError PERMISSION_DENIED unless the actor may manage the server.
 */
export function requireAdmin(actor: Pick<GuildActor, 'isAdmin'>, action: string): void {
  if (!actor.isAdmin) throw new MotifError('PERMISSION_DENIED', `You need the **Manage Server** permission to ${action}.`);
}
