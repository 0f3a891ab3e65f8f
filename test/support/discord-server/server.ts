import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeGateway, shardOfGuild } from './gateway.js';
import {
  InteractionType,
  buildCommandData,
  findComponent,
  interactionPayload,
  listCustomIds,
  type OptionValue,
} from './interactions.js';
import { BOT_PERMISSIONS } from './permissions.js';
import { createRestHandler } from './rest.js';
import { createSnowflakeGenerator } from './snowflake.js';
import {
  ServerState,
  waitUntil,
  type CdnRequest,
  type InteractionResponse,
  type RecordedRequest,
  type RestFault,
  type SentInteraction,
} from './state.js';
import { MessageFlag, messageJson, type StoredAttachment, type StoredMessage } from './store.js';
import { readVoiceTls, trustLocalCertificate } from './tls-trust.js';
import { FakeVoiceEndpoint, type VoiceEndpointOptions } from './voice-endpoint.js';
import {
  addGuild,
  channelJson,
  createWorld,
  guildCreateJson,
  findChannel,
  memberJson,
  roleJson,
  voiceStateJson,
  type FakeGuild,
  type FakeOverwrite,
  type FakeUser,
  type Json,
} from './world.js';

export interface DiscordServerOptions {
  /** Bot token the client must use (REST `Authorization: Bot …` and gateway IDENTIFY). Default 'motif-test-token'. */
  token?: string;
  /** Gateway heartbeat interval sent in HELLO, ms. Default 1000 so heartbeats happen within short tests. */
  heartbeatIntervalMs?: number;
  /** Number of guilds, each with #general (text) and Music (voice). Default 2. */
  guildCount?: number;
  /**
   * Shard count GET /gateway/bot recommends (`shards`). With more than 1, guild i's id lands on shard
   * `i % shards` (so the two default guilds are on shards 0 and 1 with `shards: 2`). Default 1. The gateway
   * accepts any `[id, count]` in IDENTIFY whatever this says.
   */
  shards?: number;
  /** Permission bitfield of the bot's role in every guild. Default: view, send, embed, attach, connect, speak… */
  botPermissions?: bigint;
  botUsername?: string;
  /** Start the local voice endpoint (wss + UDP). Default true. */
  voice?: boolean | Omit<VoiceEndpointOptions, 'tls'>;
  /**
   * Make this process trust the voice endpoint's self-signed certificate (only for its 127.0.0.1 port), for a
   * bot running in the test process. Default true; a bot in a child process needs NODE_EXTRA_CA_CERTS instead.
   */
  trustVoiceCertificate?: boolean;
  /** Upload limit in bytes (see `DiscordTestServer.attachmentSizeLimit`). Default 10 MiB. */
  attachmentSizeLimit?: number;
}

/** Who sends an interaction and from where. */
export interface InteractionSender {
  /** Default: `users.member`. */
  user?: FakeUser;
  /** Default: the first guild. */
  guildId?: string;
  /** Default: the guild's #general. */
  channelId?: string;
  /** Override of `member.permissions` (bitfield) in the payload; default is computed from roles. */
  memberPermissions?: bigint;
  /** Default 'en-US'. */
  locale?: string;
}

export interface SlashCommandInput extends InteractionSender {
  name: string;
  /** Option values by name; attachments are objects from `addAttachment`. */
  options?: Record<string, OptionValue>;
  subcommand?: string;
  subcommandGroup?: string;
}

export interface AutocompleteInput extends SlashCommandInput {
  /** The option being typed; its value is what the user typed so far. */
  focused: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A local server that speaks Discord's REST API and gateway (and voice) protocols on 127.0.0.1, for
 * end-to-end tests of the bot with the real discord.js client. Create it with `startDiscordServer`.
 */
export class DiscordTestServer {
  /** Pass to discord.js as `rest: { api: server.apiUrl }`; it appends `/v10`. */
  readonly apiUrl: string;
  /** http://127.0.0.1:PORT (attachments are served from `${baseUrl}/attachments/…`). */
  readonly baseUrl: string;
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: FakeUser;
  /** `admin` has the Admin role (Manage Server); `member` has plain member permissions. */
  readonly users: { admin: FakeUser; member: FakeUser };
  readonly guilds: FakeGuild[];
  readonly gateway: FakeGateway;
  readonly voice: FakeVoiceEndpoint | null;
  /** Voice-server answers to op 4 can be turned off to test a bot whose voice join never completes. */
  answerVoiceStateUpdates = true;

  /**
   * The upload limit interactions report (`attachment_size_limit`) and uploads are held to (413,
   * code 40005, above it), bytes. Default 10 MiB; set it to test a bot against a small limit.
   */
  get attachmentSizeLimit(): number {
    return this.state.attachmentSizeLimit;
  }
  set attachmentSizeLimit(bytes: number) {
    this.state.attachmentSizeLimit = bytes;
  }

  private readonly state: ServerState;
  private readonly http: Server;
  private readonly undoTrust: () => void;
  private readonly botPermissions: bigint;

  /** @internal use `startDiscordServer`. */
  constructor(parts: {
    state: ServerState;
    http: Server;
    gateway: FakeGateway;
    voice: FakeVoiceEndpoint | null;
    undoTrust: () => void;
    botPermissions: bigint;
  }) {
    this.state = parts.state;
    this.botPermissions = parts.botPermissions;
    this.http = parts.http;
    this.gateway = parts.gateway;
    this.voice = parts.voice;
    this.undoTrust = parts.undoTrust;
    this.baseUrl = parts.state.baseUrl;
    this.apiUrl = `${this.baseUrl}/api`;
    this.token = parts.state.token;
    const { world } = parts.state;
    this.applicationId = world.applicationId;
    this.botUser = world.botUser;
    const byName = (name: string): FakeUser => [...world.users.values()].find((u) => u.username === name)!;
    this.users = { admin: byName('admin'), member: byName('member') };
    this.guilds = world.guilds;
  }

  /** The first guild (most tests need only one). */
  get guild(): FakeGuild {
    return this.guilds[0]!;
  }

  /** Every REST request the bot made, in order (method, path, parsed JSON body, uploaded files). */
  get requests(): readonly RecordedRequest[] {
    return this.state.requests;
  }

  /**
   * Answers the next matching REST requests with these faults instead of applying them (they are
   * still recorded, with the fault's status). The first pending fault that matches a request answers
   * it, `times` requests in a row (default 1), e.g. `[{ method: 'PATCH', path: /@original$/,
   * withFiles: true, status: 429, retryAfterSeconds: 0.5 }, { …, status: 500, times: 4 }]`.
   */
  injectRestFaults(faults: readonly RestFault[]): void {
    this.state.restFaults.push(...faults.map((fault) => ({ fault, remaining: fault.times ?? 1 })));
  }

  /** Drops the faults not served yet. */
  clearRestFaults(): void {
    this.state.restFaults.length = 0;
  }

  /** Every op 4 VOICE_STATE_UPDATE payload the bot sent. */
  get voiceStateRequests(): readonly Json[] {
    return this.state.voiceStateRequests;
  }

  /** Commands registered through the REST API: global, or for one guild. */
  registeredCommands(guildId?: string): readonly Json[] {
    return this.state.commandsFor(guildId);
  }

  /** Resolves once the bot's gateway sessions (one per shard) are connected and past READY (or RESUMED). */
  async waitForReady(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.gateway.waitForReady(timeoutMs);
  }

  /** Shard count GET /gateway/bot recommends (the `shards` option). */
  get shardCount(): number {
    return this.state.shardCount;
  }

  /** The shard a guild's events go to with `count` shards (default `shardCount`): `(guild_id >> 22) % count`. */
  shardOf(guildId: string, count = this.shardCount): number {
    return shardOfGuild(guildId, count);
  }

  /**
   * Adds a guild (as when the bot is invited to one) whose id lands on `shard` of `shardCount` (default: shard
   * 0 of the `shards` option), with the same channels, roles and members as the others. A connected session
   * of that shard gets its GUILD_CREATE; otherwise it comes with that shard's READY.
   */
  createGuild(options: { shard?: number; shardCount?: number } = {}): FakeGuild {
    const count = options.shardCount ?? this.shardCount;
    const guild = addGuild(this.state.world, this.state.nextId, {
      botPermissions: this.botPermissions,
      botUsername: this.botUser.username,
      shard: { id: options.shard ?? 0, count },
    });
    if (this.gateway.shardFor(guild.id) !== null) this.gateway.dispatch('GUILD_CREATE', guildCreateJson(guild));
    this.state.changed();
    return guild;
  }

  /**
   * Stores a file on the fake CDN and returns the attachment (with an http://127.0.0.1 `url`) to pass as an
   * attachment option or check downloads against.
   */
  addAttachment(data: Buffer, filename: string, contentType = 'application/octet-stream', options: { stall?: boolean } = {}): StoredAttachment {
    const attachment = this.state.storeAttachment(data, filename, contentType);
    if (options.stall) this.state.stalledAttachments.add(attachment.id);
    return attachment;
  }

  /** Every download from the fake CDN, in order, with where it fell among the API requests. */
  get cdnRequests(): readonly CdnRequest[] {
    return this.state.cdnRequests;
  }

  /** Adds a user to every guild (`admin: true` gives the Admin role with Manage Server). */
  createUser(username: string, options: { admin?: boolean } = {}): FakeUser {
    const { world } = this.state;
    const user: FakeUser = { id: this.state.nextId(), username, globalName: username, bot: false };
    world.users.set(user.id, user);
    for (const guild of world.guilds) {
      const member = { user, roleIds: options.admin ? [guild.roles.admin.id] : [], joinedAt: new Date().toISOString() };
      guild.members.set(user.id, member);
      this.gateway.dispatch('GUILD_MEMBER_ADD', { ...memberJson(guild, member), guild_id: guild.id });
    }
    return user;
  }

  /** Dispatches a chat-input command (INTERACTION_CREATE type 2). Options are typed from the registered command. */
  sendSlashCommand(input: SlashCommandInput): SentInteraction {
    const guild = this.state.findGuildOrThrow(input.guildId);
    const data = buildCommandData(input, this.findCommand(input.name, guild.id));
    return this.dispatchInteraction(InteractionType.ApplicationCommand, input.name, data, input);
  }

  /** Dispatches an autocomplete interaction (type 4) with `focused` set on one option. */
  autocomplete(input: AutocompleteInput): SentInteraction {
    const guild = this.state.findGuildOrThrow(input.guildId);
    const data = buildCommandData(input, this.findCommand(input.name, guild.id));
    return this.dispatchInteraction(InteractionType.Autocomplete, input.name, data, input);
  }

  /**
   * Presses a button on a message the bot sent (INTERACTION_CREATE type 3).
   * @throws Error when the message has no enabled button with that custom_id.
   */
  pressButton(message: StoredMessage, customId: string, sender: InteractionSender = {}): SentInteraction {
    const component = findComponent(message.components, customId);
    if (!component || component.type !== 2) {
      throw new Error(`Message ${message.id} has no button "${customId}" (custom_ids: ${listCustomIds(message).join(', ') || 'none'})`);
    }
    if (component.disabled === true) throw new Error(`Button "${customId}" is disabled`);
    return this.dispatchInteraction(
      InteractionType.MessageComponent,
      customId,
      { custom_id: customId, component_type: 2 },
      { guildId: message.guildId ?? undefined, channelId: message.channelId, ...sender },
      message,
    );
  }

  /**
   * Picks values in a select menu on a bot message (component types 3, 5–8).
   * @throws Error when the message has no such select menu.
   */
  selectMenu(message: StoredMessage, customId: string, values: string[], sender: InteractionSender = {}): SentInteraction {
    const component = findComponent(message.components, customId);
    if (!component || ![3, 5, 6, 7, 8].includes(Number(component.type))) {
      throw new Error(`Message ${message.id} has no select menu "${customId}" (custom_ids: ${listCustomIds(message).join(', ') || 'none'})`);
    }
    return this.dispatchInteraction(
      InteractionType.MessageComponent,
      customId,
      { custom_id: customId, component_type: component.type, values },
      { guildId: message.guildId ?? undefined, channelId: message.channelId, ...sender },
      message,
    );
  }

  /**
   * Submits the modal the bot opened in answer to `opener` (INTERACTION_CREATE type 5).
   * @throws Error when the bot did not answer `opener` with a modal.
   */
  submitModal(opener: SentInteraction, fields: Record<string, string>, sender: InteractionSender = {}): SentInteraction {
    const modal = this.response(opener).modal;
    if (!modal) throw new Error(`Interaction ${opener.id} was not answered with a modal`);
    const customId = String(modal.custom_id);
    const components = Object.entries(fields).map(([id, value]) => ({
      type: 1,
      components: [{ type: 4, custom_id: id, value }],
    }));
    const user = this.state.world.users.get(opener.userId);
    return this.dispatchInteraction(
      InteractionType.ModalSubmit,
      customId,
      { custom_id: customId, components },
      { guildId: opener.guildId, channelId: opener.channelId, user, ...sender },
    );
  }

  /** The live response state of an interaction. */
  response(interaction: SentInteraction): InteractionResponse {
    const record = this.state.interactions.get(interaction.id);
    if (!record) throw new Error(`Unknown interaction ${interaction.id}`);
    return record.response;
  }

  /**
   * Waits until the bot's answer to `interaction` satisfies `predicate` (default: settled — a reply, an edit
   * of a deferred reply, an update, autocomplete choices or a modal) and returns the live response, whose
   * `message` holds content, embeds, components and attachments with their bytes.
   */
  async waitForInteractionResponse(
    interaction: SentInteraction,
    predicate: (response: InteractionResponse) => boolean = isSettled,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<InteractionResponse> {
    const response = this.response(interaction);
    return await waitUntil(this.state, () => (predicate(response) ? response : undefined), timeoutMs, () =>
      `the answer to ${interaction.name} (${interaction.id}); so far: ${describeResponse(response)}`,
    );
  }

  /** Waits for the autocomplete choices the bot returned. */
  async waitForAutocomplete(interaction: SentInteraction, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Json[]> {
    const response = await this.waitForInteractionResponse(interaction, (r) => r.autocompleteChoices !== null, timeoutMs);
    return response.autocompleteChoices ?? [];
  }

  /** Makes the interaction token invalid, as Discord does 15 minutes after the interaction. */
  expireInteraction(interaction: SentInteraction): void {
    this.response(interaction).expired = true;
  }

  /** Every message the bot created (replies, follow-ups, channel posts), oldest first, including deleted ones. */
  messages(): StoredMessage[] {
    return [...this.state.messages.values()];
  }

  /** Messages the bot posted with POST /channels/:id/messages (not interaction replies), oldest first. */
  channelMessages(channelId?: string): StoredMessage[] {
    return this.messages().filter((m) => m.source === 'channel' && (!channelId || m.channelId === channelId));
  }

  /** Waits for a channel message (POST /channels/:id/messages) matching `predicate`. */
  async waitForChannelMessage(
    predicate: (message: StoredMessage) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<StoredMessage> {
    return await waitUntil(this.state, () => this.channelMessages().find(predicate), timeoutMs, () =>
      `a matching channel message (have ${this.channelMessages().length}: ${this.channelMessages().map((m) => JSON.stringify(m.content)).join(', ')})`,
    );
  }

  /** Waits for a REST request matching `predicate` (e.g. the command registration PUT). */
  async waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RecordedRequest> {
    return await waitUntil(this.state, () => this.state.requests.find(predicate), timeoutMs, () => 'a matching REST request');
  }

  /**
   * Cuts the bot's gateway connection without ending the session (close code 4000 by default), so
   * discord.js RESUMEs; events dispatched meanwhile are replayed on RESUME. `shard` picks the connection
   * of a sharded bot (default 0).
   */
  dropGateway(options: { code?: number; terminate?: boolean; shard?: number } = {}): void {
    this.gateway.drop(options);
  }

  /** Puts a user into a voice channel (default: the guild's Music channel) and tells the bot. */
  joinVoice(user: FakeUser, options: { guildId?: string; channelId?: string } = {}): void {
    const guild = this.state.findGuildOrThrow(options.guildId);
    const state = {
      userId: user.id,
      channelId: options.channelId ?? guild.voiceChannel.id,
      sessionId: randomBytes(16).toString('hex'),
      selfMute: false,
      selfDeaf: false,
    };
    guild.voiceStates.set(user.id, state);
    this.gateway.dispatch('VOICE_STATE_UPDATE', voiceStateJson(guild, state, state.channelId));
  }

  /** Removes a user from voice and tells the bot. */
  leaveVoice(user: FakeUser, options: { guildId?: string } = {}): void {
    const guild = this.state.findGuildOrThrow(options.guildId);
    const state = guild.voiceStates.get(user.id);
    if (!state) return;
    guild.voiceStates.delete(user.id);
    this.gateway.dispatch('VOICE_STATE_UPDATE', voiceStateJson(guild, state, null));
  }

  /** The channel the bot's own voice state says it is in, per guild. */
  botVoiceChannelId(guildId?: string): string | null {
    return this.state.findGuildOrThrow(guildId).voiceStates.get(this.botUser.id)?.channelId ?? null;
  }

  /** Replaces a channel's permission overwrites (e.g. deny the bot Connect) and dispatches CHANNEL_UPDATE. */
  setChannelOverwrites(channelId: string, overwrites: FakeOverwrite[]): void {
    const found = findChannel(this.state.world, channelId);
    if (!found) throw new Error(`Unknown channel ${channelId}`);
    found.channel.overwrites = overwrites;
    this.gateway.dispatch('CHANNEL_UPDATE', channelJson(found.channel));
  }

  /** Changes a role's permissions and dispatches GUILD_ROLE_UPDATE. */
  setRolePermissions(guildId: string, roleId: string, permissions: bigint): void {
    const guild = this.state.findGuildOrThrow(guildId);
    const role = Object.values(guild.roles).find((r) => r.id === roleId);
    if (!role) throw new Error(`Unknown role ${roleId}`);
    role.permissions = permissions;
    this.gateway.dispatch('GUILD_ROLE_UPDATE', { guild_id: guild.id, role: roleJson(role) });
  }

  /** JSON of a stored message as the API returns it. */
  messageJson(message: StoredMessage): Json {
    return messageJson(message, this.applicationId);
  }

  async close(): Promise<void> {
    this.undoTrust();
    await this.gateway.close();
    await this.voice?.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private findCommand(name: string, guildId: string): ReturnType<ServerState['commandsFor']>[number] | undefined {
    return this.state.commandsFor(guildId).find((c) => c.name === name) ?? this.state.globalCommands.find((c) => c.name === name);
  }

  private dispatchInteraction(type: number, name: string, data: Json, sender: InteractionSender, message?: StoredMessage): SentInteraction {
    const { world } = this.state;
    const guild = this.state.findGuildOrThrow(sender.guildId);
    const user = sender.user ?? this.users.member;
    const member = guild.members.get(user.id);
    const botMember = guild.members.get(world.botUser.id);
    const channel = guild.channels.find((c) => c.id === (sender.channelId ?? guild.textChannel.id));
    if (!member || !botMember || !channel) throw new Error(`User ${user.username} or channel is not in guild ${guild.id}`);
    const id = this.state.nextId();
    const token = `aW50ZXJhY3Rpb24${randomBytes(24).toString('base64url')}`;
    const payload = interactionPayload(
      {
        id,
        token,
        applicationId: world.applicationId,
        guild,
        channel,
        member,
        botMember,
        memberPermissions: sender.memberPermissions,
        locale: sender.locale ?? 'en-US',
        attachmentSizeLimit: this.state.attachmentSizeLimit,
      },
      type,
      data,
      message ? messageJson(message, world.applicationId) : undefined,
    );
    const interaction: SentInteraction = { id, token, type, name, guildId: guild.id, channelId: channel.id, userId: user.id, payload };
    const record = {
      response: {
        interaction,
        callbackType: null,
        acknowledged: false,
        deferred: false,
        ephemeral: false,
        message: null,
        followUps: [],
        autocompleteChoices: null,
        modal: null,
        editCount: 0,
        expired: false,
        dispatchedAt: performance.now(),
        acknowledgedAt: null,
        acknowledgedRequestIndex: null,
      },
      sourceMessage: message ?? null,
    };
    this.state.interactions.set(id, record);
    this.state.interactionsByToken.set(token, record);
    this.gateway.dispatch('INTERACTION_CREATE', payload);
    return interaction;
  }
}

/** The default "the bot has answered" check used by `waitForInteractionResponse`. */
export function isSettled(response: InteractionResponse): boolean {
  switch (response.callbackType) {
    case 4:
    case 7:
    case 8:
    case 9:
      return true;
    case 5:
      return response.message !== null && (response.message.flags & MessageFlag.Loading) === 0;
    case 6:
      return response.editCount > 0 || response.followUps.length > 0;
    default:
      return false;
  }
}

function describeResponse(response: InteractionResponse): string {
  if (!response.acknowledged) return 'not acknowledged';
  const message = response.message;
  const parts = [`callback type ${response.callbackType}`, `${response.editCount} edit(s)`, `${response.followUps.length} follow-up(s)`];
  if (message) {
    parts.push(`content ${JSON.stringify(message.content.slice(0, 200))}`);
    parts.push(`attachments [${message.attachments.map((a) => a.filename).join(', ')}]`);
    if (message.embeds.length > 0) parts.push(`embeds ${JSON.stringify(message.embeds).slice(0, 300)}`);
    if (message.deleted) parts.push('reply deleted');
  }
  // The bot reports failures in follow-ups: a wait that times out should say what they were.
  for (const followUp of response.followUps) parts.push(`follow-up ${JSON.stringify(followUp.content.slice(0, 200))}`);
  return parts.join(', ');
}

/**
 * Starts the fake Discord on 127.0.0.1 with random ports: REST under `/api`, the gateway at `/gateway`, the
 * attachment CDN at `/attachments/…`, and (unless `voice: false`) the voice endpoint.
 */
export async function startDiscordServer(options: DiscordServerOptions = {}): Promise<DiscordTestServer> {
  const nextId = createSnowflakeGenerator();
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a whole number ≥ 1, not ${shards}`);
  const botPermissions = options.botPermissions ?? BOT_PERMISSIONS;
  const world = createWorld(nextId, {
    guildCount: options.guildCount ?? 2,
    botPermissions,
    botUsername: options.botUsername ?? 'Motif',
    shards,
  });
  const token = options.token ?? 'motif-test-token';
  const state = new ServerState(world, token, nextId);
  state.shardCount = shards;
  if (options.attachmentSizeLimit !== undefined) state.attachmentSizeLimit = options.attachmentSizeLimit;
  const http = createServer(createRestHandler(state));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  state.baseUrl = `http://127.0.0.1:${port}`;

  const voiceOptions = options.voice ?? true;
  const tlsMaterial = voiceOptions ? readVoiceTls() : null;
  const voice =
    voiceOptions && tlsMaterial
      ? await FakeVoiceEndpoint.start({ ...(typeof voiceOptions === 'object' ? voiceOptions : {}), tls: tlsMaterial })
      : null;
  const undoTrust =
    voice && tlsMaterial && (options.trustVoiceCertificate ?? true) ? trustLocalCertificate(voice.wsPort, tlsMaterial.cert) : () => undefined;

  let server: DiscordTestServer | null = null;
  const gateway = new FakeGateway({
    world,
    token,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000,
    gatewayUrl: `ws://127.0.0.1:${port}/gateway`,
    resumeGatewayUrl: `ws://127.0.0.1:${port}/gateway/resume`,
    onVoiceStateUpdate: (d) => {
      state.voiceStateRequests.push(d);
      state.changed();
      if (server?.answerVoiceStateUpdates === false) return;
      answerVoiceStateUpdate(state, gateway, voice, d);
    },
  });
  state.gateway = gateway;
  http.on('upgrade', (request, socket, head) => {
    if ((request.url ?? '').startsWith('/gateway')) gateway.handleUpgrade(request, socket, head);
    else socket.destroy();
  });
  server = new DiscordTestServer({ state, http, gateway, voice, undoTrust, botPermissions });
  return server;
}

/** Discord's answer to op 4: the bot's new voice state, then (when joining) where its voice server is. */
function answerVoiceStateUpdate(state: ServerState, gateway: FakeGateway, voice: FakeVoiceEndpoint | null, d: Json): void {
  const guild = state.world.guilds.find((g) => g.id === d.guild_id);
  if (!guild) return;
  const botId = state.world.botUser.id;
  const channelId = typeof d.channel_id === 'string' ? d.channel_id : null;
  const previous = guild.voiceStates.get(botId);
  const voiceState = {
    userId: botId,
    channelId: channelId ?? previous?.channelId ?? '',
    sessionId: previous?.sessionId ?? randomBytes(16).toString('hex'),
    selfMute: d.self_mute === true,
    selfDeaf: d.self_deaf === true,
  };
  if (channelId) guild.voiceStates.set(botId, voiceState);
  else guild.voiceStates.delete(botId);
  gateway.dispatch('VOICE_STATE_UPDATE', voiceStateJson(guild, voiceState, channelId));
  if (!channelId || !voice) return;
  const voiceToken = randomBytes(8).toString('hex');
  voice.expectSession({ guildId: guild.id, channelId, userId: botId, sessionId: voiceState.sessionId, token: voiceToken });
  gateway.dispatch('VOICE_SERVER_UPDATE', { token: voiceToken, guild_id: guild.id, endpoint: voice.endpoint });
}
