/** Permission checks done in handlers (default_member_permissions alone can be overridden by admins). */
import { PermissionFlagsBits, type Interaction } from 'discord.js';
import { MotifError } from '../errors.js';
import type { GuildSettings } from '../storage/index.js';
import { requireAdmin, type GuildActor } from '../guild/guild-deps.js';

/** The guild id of a guild interaction. @throws MotifError NOT_FOUND in DMs. */
export function guildIdOf(interaction: Interaction): string {
  if (!interaction.guildId) throw new MotifError('NOT_FOUND', 'Motif works in servers, not in direct messages.');
  return interaction.guildId;
}

export function hasManageGuild(interaction: Interaction): boolean {
  return interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
}

/** @throws MotifError PERMISSION_DENIED without Manage Server. */
export function requireManageGuild(interaction: Interaction, action: string): void {
  requireAdmin({ isAdmin: hasManageGuild(interaction) }, action);
}

/** Who sent a guild interaction, as the guild use-cases take it. @throws MotifError NOT_FOUND in DMs. */
export function actorOf(interaction: Interaction): GuildActor {
  return { guildId: guildIdOf(interaction), userId: interaction.user.id, isAdmin: hasManageGuild(interaction) };
}

/** @throws MotifError CHANNEL_NOT_ALLOWED when the guild limits the bot to other channels. */
export function requireAllowedChannel(interaction: Interaction, settings: GuildSettings): void {
  const allowed = settings.allowedChannelIds;
  if (allowed.length === 0 || (interaction.channelId && allowed.includes(interaction.channelId))) return;
  const list = allowed.map((id) => `<#${id}>`).join(', ');
  throw new MotifError('CHANNEL_NOT_ALLOWED', `Motif answers only in ${list} on this server.`);
}
