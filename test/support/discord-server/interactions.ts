import type { StoredAttachment, StoredMessage } from './store.js';
import { channelJson, channelPermissions, memberJson, type FakeChannel, type FakeGuild, type FakeMember, type Json } from './world.js';

/** Discord interaction types. */
export const InteractionType = { Ping: 1, ApplicationCommand: 2, MessageComponent: 3, Autocomplete: 4, ModalSubmit: 5 } as const;

/** Discord application command option types. */
export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
} as const;

/** A value a test can give an option: an attachment is the object `addAttachment` returned. */
export type OptionValue = string | number | boolean | StoredAttachment;

/** A registered application command as stored from PUT/POST …/commands. */
export type RegisteredCommand = Json & { id: string; name: string; options?: Json[]; guild_id?: string };

export interface CommandOptionsInput {
  name: string;
  options?: Record<string, OptionValue>;
  subcommand?: string;
  subcommandGroup?: string;
  /** Option name that has focus (autocomplete only). */
  focused?: string;
}

/**
 * Builds `data.options` (+ `resolved`) for a chat-input command. Option types come from the registered
 * command when there is one, so `length: 100` becomes an INTEGER and `temperature: 1` a NUMBER exactly as
 * Discord would send them; unknown option names are a test bug and throw.
 * @throws Error when an option is not declared by the registered command.
 */
export function buildCommandData(input: CommandOptionsInput, command: RegisteredCommand | undefined): Json {
  let schema: Json[] | undefined = command?.options;
  const wrapPath: Array<{ name: string; type: number }> = [];
  if (input.subcommandGroup) {
    schema = findSchema(schema, input.subcommandGroup, command)?.options as Json[] | undefined;
    wrapPath.push({ name: input.subcommandGroup, type: OptionType.SubcommandGroup });
  }
  if (input.subcommand) {
    schema = findSchema(schema, input.subcommand, command)?.options as Json[] | undefined;
    wrapPath.push({ name: input.subcommand, type: OptionType.Subcommand });
  }
  const attachments: Record<string, Json> = {};
  let options: Json[] = Object.entries(input.options ?? {}).map(([name, value]) => {
    const declared = command ? findSchema(schema, name, command) : undefined;
    const type = typeof declared?.type === 'number' ? declared.type : inferType(value);
    const option: Json = { name, type, value: optionValue(value, type) };
    if (isAttachment(value)) attachments[value.id] = attachmentPayload(value);
    if (input.focused === name) option.focused = true;
    return option;
  });
  for (const level of [...wrapPath].reverse()) options = [{ name: level.name, type: level.type, options }];
  const data: Json = { id: command?.id ?? '0', name: input.name, type: 1, options };
  if (command?.guild_id) data.guild_id = command.guild_id;
  if (Object.keys(attachments).length > 0) data.resolved = { attachments };
  return data;
}

function findSchema(schema: Json[] | undefined, name: string, command: RegisteredCommand | undefined): Json | undefined {
  if (!command) return undefined;
  const found = schema?.find((o) => o.name === name);
  if (!found) {
    const known = (schema ?? []).map((o) => String(o.name)).join(', ') || '(none)';
    throw new Error(`/${command.name} has no option or subcommand "${name}" (registered: ${known})`);
  }
  return found;
}

function isAttachment(value: OptionValue): value is StoredAttachment {
  return typeof value === 'object' && value !== null && 'url' in value;
}

function inferType(value: OptionValue): number {
  if (isAttachment(value)) return OptionType.Attachment;
  if (typeof value === 'boolean') return OptionType.Boolean;
  if (typeof value === 'number') return Number.isInteger(value) ? OptionType.Integer : OptionType.Number;
  return OptionType.String;
}

function optionValue(value: OptionValue, type: number): unknown {
  if (isAttachment(value)) return value.id;
  // Autocomplete sends what the user has typed so far, always as a string for string options.
  if (type === OptionType.String) return String(value);
  return value;
}

/** The `resolved.attachments` entry for an attachment option. */
export function attachmentPayload(attachment: StoredAttachment): Json {
  return {
    id: attachment.id,
    filename: attachment.filename,
    size: attachment.data.length,
    url: attachment.url,
    proxy_url: attachment.url,
    content_type: attachment.contentType,
    ephemeral: true,
  };
}

export interface InteractionContext {
  id: string;
  token: string;
  applicationId: string;
  guild: FakeGuild;
  channel: FakeChannel;
  member: FakeMember;
  botMember: FakeMember;
  /** Overrides the member's computed permissions (bitfield). */
  memberPermissions?: bigint;
  locale: string;
  /** Largest upload the bot may answer with, bytes (`attachment_size_limit`). */
  attachmentSizeLimit: number;
}

/** The INTERACTION_CREATE payload common to every interaction type. */
export function interactionPayload(ctx: InteractionContext, type: number, data: Json, message?: Json): Json {
  const member = memberJson(ctx.guild, ctx.member, { withPermissions: ctx.channel });
  if (ctx.memberPermissions !== undefined) member.permissions = ctx.memberPermissions.toString();
  const appPermissions = channelPermissions(ctx.guild, ctx.botMember, ctx.channel).toString();
  const payload: Json = {
    id: ctx.id,
    application_id: ctx.applicationId,
    type,
    data,
    guild: { id: ctx.guild.id, locale: 'en-US', features: [] },
    guild_id: ctx.guild.id,
    channel: { ...channelJson(ctx.channel), permissions: member.permissions },
    channel_id: ctx.channel.id,
    member,
    token: ctx.token,
    version: 1,
    app_permissions: appPermissions,
    locale: ctx.locale,
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': ctx.guild.id },
    context: 0,
    attachment_size_limit: ctx.attachmentSizeLimit,
  };
  if (message) payload.message = message;
  return payload;
}

/** Finds a component by custom_id anywhere in a message's component tree. */
export function findComponent(components: Json[], customId: string): Json | undefined {
  for (const component of components) {
    if (component.custom_id === customId) return component;
    if (Array.isArray(component.components)) {
      const inner = findComponent(component.components as Json[], customId);
      if (inner) return inner;
    }
    if (component.accessory && typeof component.accessory === 'object') {
      const inner = findComponent([component.accessory as Json], customId);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** Every custom_id in a message, for helpful errors. */
export function listCustomIds(message: StoredMessage): string[] {
  const ids: string[] = [];
  const walk = (components: Json[]): void => {
    for (const c of components) {
      if (typeof c.custom_id === 'string') ids.push(c.custom_id);
      if (Array.isArray(c.components)) walk(c.components as Json[]);
      if (c.accessory && typeof c.accessory === 'object') walk([c.accessory as Json]);
    }
  };
  walk(message.components);
  return ids;
}
