/**
 * The Discord permission bits the harness needs (values from Discord's documented bitfield), so the test
 * server does not depend on discord.js internals.
 */
export const Permission = {
  CreateInstantInvite: 1n << 0n,
  KickMembers: 1n << 1n,
  BanMembers: 1n << 2n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ManageGuild: 1n << 5n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  Connect: 1n << 20n,
  Speak: 1n << 21n,
  UseVAD: 1n << 25n,
  ManageRoles: 1n << 28n,
  UseApplicationCommands: 1n << 31n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** What a plain member can do: talk, attach files, join voice, use slash commands. */
export const MEMBER_PERMISSIONS: bigint =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.AddReactions |
  Permission.Connect |
  Permission.Speak |
  Permission.UseVAD |
  Permission.UseApplicationCommands |
  Permission.SendMessagesInThreads;

/** What the invite URL in the README asks for: send, attach, embed, connect and speak. */
export const BOT_PERMISSIONS: bigint = MEMBER_PERMISSIONS;

/** Every bit Discord defines today (Administrator implies all of them). */
export const ALL_PERMISSIONS: bigint = (1n << 51n) - 1n;

/** Effective permissions: Administrator expands to every bit, as Discord computes it. */
export function effectivePermissions(bits: bigint): bigint {
  return (bits & Permission.Administrator) === Permission.Administrator ? ALL_PERMISSIONS : bits;
}
