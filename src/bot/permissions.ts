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

/** Manage Server, or the guild's configured corpus role. @throws MotifError PERMISSION_DENIED. */
export function requireCorpusManager(interaction: Interaction, settings: GuildSettings): void {
  if (hasManageGuild(interaction)) return;
  const roleId = settings.corpusRoleId;
  const roles = interaction.member?.roles;
  const hasRole = roleId !== undefined && roles !== undefined && (Array.isArray(roles) ? roles.includes(roleId) : roles.cache.has(roleId));
  if (!hasRole) {
    throw new MotifError('PERMISSION_DENIED', 'You need **Manage Server** or the corpus role to change the corpus.');
  }
}

/** @throws MotifError CHANNEL_NOT_ALLOWED when the guild limits the bot to other channels. */
export function requireAllowedChannel(interaction: Interaction, settings: GuildSettings): void {
  const allowed = settings.allowedChannelIds;
  if (allowed.length === 0 || (interaction.channelId && allowed.includes(interaction.channelId))) return;
  const list = allowed.map((id) => `<#${id}>`).join(', ');
  throw new MotifError('CHANNEL_NOT_ALLOWED', `Motif answers only in ${list} on this server.`);
}
