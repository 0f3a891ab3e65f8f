import { ALL_PERMISSIONS, MEMBER_PERMISSIONS, Permission, effectivePermissions } from './permissions.js';
import type { ShardRef, SnowflakeGenerator } from './snowflake.js';

/** A Discord user as the harness models it. */
export interface FakeUser {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

export interface FakeRole {
  id: string;
  name: string;
  /** Permission bitfield granted by the role. */
  permissions: bigint;
  position: number;
}

/** One permission overwrite on a channel; `type` 0 = role, 1 = member (Discord's values). */
export interface FakeOverwrite {
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface FakeChannel {
  id: string;
  guildId: string;
  name: string;
  /** Discord channel type: 0 = text, 2 = voice. */
  type: 0 | 2;
  position: number;
  overwrites: FakeOverwrite[];
}

export interface FakeMember {
  user: FakeUser;
  roleIds: string[];
  joinedAt: string;
}

export interface FakeVoiceState {
  userId: string;
  channelId: string;
  sessionId: string;
  selfMute: boolean;
  selfDeaf: boolean;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  roles: { everyone: FakeRole; admin: FakeRole; bot: FakeRole };
  textChannel: FakeChannel;
  voiceChannel: FakeChannel;
  channels: FakeChannel[];
  members: Map<string, FakeMember>;
  voiceStates: Map<string, FakeVoiceState>;
}

/** Everything the fake Discord knows about users and guilds. */
export interface World {
  botUser: FakeUser;
  applicationId: string;
  users: Map<string, FakeUser>;
  guilds: FakeGuild[];
}

export interface WorldOptions {
  guildCount: number;
  botPermissions: bigint;
  botUsername: string;
  /**
   * Gateway shards the default guilds are spread over: guild i gets an id on shard `i % shards`. Default 1
   * (ids are then plain snowflakes, as before sharding existed).
   */
  shards?: number;
}

/** How a new guild is made; with `shard`, its id lands on that gateway shard. */
export interface NewGuildOptions {
  botPermissions: bigint;
  botUsername: string;
  shard?: ShardRef;
}

/** Builds the default world: a bot, an `admin` (Manage Server) and a plain `member`, in every guild. */
export function createWorld(nextId: SnowflakeGenerator, options: WorldOptions): World {
  const botUser: FakeUser = { id: nextId(), username: options.botUsername, globalName: null, bot: true };
  const admin: FakeUser = { id: nextId(), username: 'admin', globalName: 'Admin', bot: false };
  const member: FakeUser = { id: nextId(), username: 'member', globalName: 'Member', bot: false };
  const users = new Map([botUser, admin, member].map((u) => [u.id, u]));
  const world: World = { botUser, applicationId: botUser.id, users, guilds: [] };
  const shards = options.shards ?? 1;
  for (let index = 0; index < options.guildCount; index++) {
    addGuild(world, nextId, {
      botPermissions: options.botPermissions,
      botUsername: options.botUsername,
      ...(shards > 1 ? { shard: { id: index % shards, count: shards } } : {}),
    });
  }
  return world;
}

/**
 * Adds a guild with #general (text), Music (voice), @everyone/Admin/bot roles and a separate owner. Its
 * members are the bot, `admin`, `member` and every user `createUser` added (same roles as in the first
 * guild). With `shard`, its id maps to that gateway shard.
 */
export function addGuild(world: World, nextId: SnowflakeGenerator, options: NewGuildOptions): FakeGuild {
  const index = world.guilds.length;
  const guildId = nextId(options.shard);
  const everyone: FakeRole = { id: guildId, name: '@everyone', permissions: MEMBER_PERMISSIONS, position: 0 };
  const adminRole: FakeRole = {
    id: nextId(),
    name: 'Admin',
    permissions: MEMBER_PERMISSIONS | Permission.ManageGuild | Permission.ManageMessages,
    position: 2,
  };
  const botRole: FakeRole = { id: nextId(), name: options.botUsername, permissions: options.botPermissions, position: 1 };
  const textChannel: FakeChannel = { id: nextId(), guildId, name: 'general', type: 0, position: 0, overwrites: [] };
  const voiceChannel: FakeChannel = { id: nextId(), guildId, name: 'Music', type: 2, position: 1, overwrites: [] };
  const joinedAt = new Date().toISOString();
  // The guild owner is a separate account so `admin` gets Manage Server from its role, not from ownership.
  const owner: FakeUser = { id: nextId(), username: `owner${index}`, globalName: null, bot: false };
  world.users.set(owner.id, owner);
  const members = new Map<string, FakeMember>();
  const first = world.guilds[0];
  if (first) {
    // Everyone who is in every guild (the bot, admin, member, users from createUser): not the first owner.
    for (const m of first.members.values()) {
      if (m.user.id === first.ownerId) continue;
      const roleIds: string[] = [];
      if (m.roleIds.includes(first.roles.admin.id)) roleIds.push(adminRole.id);
      if (m.roleIds.includes(first.roles.bot.id)) roleIds.push(botRole.id);
      members.set(m.user.id, { user: m.user, roleIds, joinedAt });
    }
  } else {
    const byName = (name: string): FakeUser => [...world.users.values()].find((u) => u.username === name)!;
    members.set(world.botUser.id, { user: world.botUser, roleIds: [botRole.id], joinedAt });
    members.set(byName('admin').id, { user: byName('admin'), roleIds: [adminRole.id], joinedAt });
    members.set(byName('member').id, { user: byName('member'), roleIds: [], joinedAt });
  }
  members.set(owner.id, { user: owner, roleIds: [], joinedAt });
  const guild: FakeGuild = {
    id: guildId,
    name: `Motif Test Guild ${index + 1}`,
    ownerId: owner.id,
    roles: { everyone, admin: adminRole, bot: botRole },
    textChannel,
    voiceChannel,
    channels: [textChannel, voiceChannel],
    members,
    voiceStates: new Map(),
  };
  world.guilds.push(guild);
  return guild;
}

/** Base permissions of a member in a guild (roles, ownership, Administrator). */
export function guildPermissions(guild: FakeGuild, member: FakeMember): bigint {
  if (member.user.id === guild.ownerId) return ALL_PERMISSIONS;
  let bits = guild.roles.everyone.permissions;
  for (const role of allRoles(guild)) if (member.roleIds.includes(role.id)) bits |= role.permissions;
  return effectivePermissions(bits);
}

/** Permissions of a member in a channel, applying overwrites in Discord's order (everyone, roles, member). */
export function channelPermissions(guild: FakeGuild, member: FakeMember, channel: FakeChannel): bigint {
  let bits = guildPermissions(guild, member);
  if ((bits & Permission.Administrator) === Permission.Administrator) return ALL_PERMISSIONS;
  const apply = (overwrite: FakeOverwrite | undefined): void => {
    if (overwrite) bits = (bits & ~overwrite.deny) | overwrite.allow;
  };
  apply(channel.overwrites.find((o) => o.id === guild.id));
  let roleAllow = 0n;
  let roleDeny = 0n;
  for (const o of channel.overwrites) {
    if (o.type === 0 && o.id !== guild.id && member.roleIds.includes(o.id)) {
      roleAllow |= o.allow;
      roleDeny |= o.deny;
    }
  }
  bits = (bits & ~roleDeny) | roleAllow;
  apply(channel.overwrites.find((o) => o.type === 1 && o.id === member.user.id));
  return bits;
}

export function allRoles(guild: FakeGuild): FakeRole[] {
  return [guild.roles.everyone, guild.roles.admin, guild.roles.bot];
}

export function findChannel(world: World, channelId: string): { guild: FakeGuild; channel: FakeChannel } | undefined {
  for (const guild of world.guilds) {
    const channel = guild.channels.find((c) => c.id === channelId);
    if (channel) return { guild, channel };
  }
  return undefined;
}

export function findGuild(world: World, guildId: string): FakeGuild | undefined {
  return world.guilds.find((g) => g.id === guildId);
}

// ---- JSON shapes as Discord sends them (API v10) ----

export type Json = Record<string, unknown>;

export function userJson(user: FakeUser): Json {
  return {
    id: user.id,
    username: user.username,
    global_name: user.globalName,
    discriminator: '0',
    avatar: null,
    bot: user.bot,
    system: false,
    public_flags: 0,
    flags: 0,
    avatar_decoration_data: null,
  };
}

export function roleJson(role: FakeRole): Json {
  return {
    id: role.id,
    name: role.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

export function channelJson(channel: FakeChannel): Json {
  const base: Json = {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guildId,
    name: channel.name,
    position: channel.position,
    permission_overwrites: channel.overwrites.map((o) => ({
      id: o.id,
      type: o.type,
      allow: o.allow.toString(),
      deny: o.deny.toString(),
    })),
    parent_id: null,
    nsfw: false,
    rate_limit_per_user: 0,
    flags: 0,
  };
  if (channel.type === 0) return { ...base, topic: null, last_message_id: null };
  return { ...base, bitrate: 64_000, user_limit: 0, rtc_region: null, last_message_id: null };
}

export function memberJson(guild: FakeGuild, member: FakeMember, options: { withPermissions?: FakeChannel } = {}): Json {
  const json: Json = {
    user: userJson(member.user),
    nick: null,
    avatar: null,
    banner: null,
    roles: [...member.roleIds],
    joined_at: member.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  };
  if (options.withPermissions) {
    json.permissions = channelPermissions(guild, member, options.withPermissions).toString();
  }
  return json;
}

export function voiceStateJson(guild: FakeGuild, state: FakeVoiceState, channelId: string | null): Json {
  const member = guild.members.get(state.userId);
  return {
    guild_id: guild.id,
    channel_id: channelId,
    user_id: state.userId,
    member: member ? memberJson(guild, member) : undefined,
    session_id: state.sessionId,
    deaf: false,
    mute: false,
    self_deaf: state.selfDeaf,
    self_mute: state.selfMute,
    self_stream: false,
    self_video: false,
    suppress: false,
    request_to_speak_timestamp: null,
  };
}

export function guildJson(guild: FakeGuild): Json {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 1,
    explicit_content_filter: 0,
    roles: allRoles(guild).map(roleJson),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: guild.textChannel.id,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    max_members: 500_000,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
  };
}

/** The full GUILD_CREATE payload: guild plus channels, members (incl. the bot) and voice states. */
export function guildCreateJson(guild: FakeGuild): Json {
  return {
    ...guildJson(guild),
    joined_at: guild.members.values().next().value?.joinedAt ?? new Date().toISOString(),
    large: false,
    unavailable: false,
    member_count: guild.members.size,
    members: [...guild.members.values()].map((m) => memberJson(guild, m)),
    channels: guild.channels.map(channelJson),
    threads: [],
    presences: [],
    voice_states: [...guild.voiceStates.values()].map((s) => voiceStateJson(guild, s, s.channelId)),
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
