import type { IncomingMessage, ServerResponse } from 'node:http';
import { InteractionType, type RegisteredCommand } from './interactions.js';
import { Permission } from './permissions.js';
import type { InteractionRecord, RecordedRequest, RestFault, ServerState } from './state.js';
import { MessageFlag, messageJson, type StoredMessage, type UploadedFile } from './store.js';
import {
  channelJson,
  channelPermissions,
  findChannel,
  guildJson,
  memberJson,
  roleJson,
  allRoles,
  userJson,
  voiceStateJson,
  type Json,
} from './world.js';

interface RestRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Json | null;
  files: UploadedFile[];
  authorized: boolean;
}

interface RestResult {
  status: number;
  body?: unknown;
}

type Handler = (request: RestRequest) => RestResult;

interface Route {
  method: string;
  segments: string[];
  auth: boolean;
  handler: Handler;
}

/** Discord's JSON error body. */
function error(status: number, code: number, message: string): RestResult {
  return { status, body: { message, code } };
}

const notFound = (): RestResult => error(404, 0, '404: Not Found');
const unknownMessage = (): RestResult => error(404, 10008, 'Unknown Message');
const unknownChannel = (): RestResult => error(404, 10003, 'Unknown Channel');
const unknownGuild = (): RestResult => error(404, 10004, 'Unknown Guild');
const unknownWebhook = (): RestResult => error(404, 10015, 'Unknown Webhook');
const unknownInteraction = (): RestResult => error(404, 10062, 'Unknown interaction');

/**
 * Builds the HTTP handler for everything under `/api` plus the attachment CDN (`/attachments/:id/:name`).
 * Every API request is recorded in `state.requests` with its parsed body and files.
 */
export function createRestHandler(state: ServerState): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = buildRoutes(state);
  return (req, res) => {
    void handle(state, routes, req, res).catch((cause: unknown) => {
      // A harness bug must fail loudly in the bot's logs rather than hang the request.
      const message = cause instanceof Error ? cause.message : String(cause);
      send(res, { status: 500, body: { message: `Test server error: ${message}`, code: 0 } });
    });
  };
}

async function handle(state: ServerState, routes: Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const rawBody = await readBody(req);
  if (url.pathname.startsWith('/attachments/')) {
    serveAttachment(state, url.pathname, method, res);
    return;
  }
  const apiMatch = /^\/api(?:\/v(\d+))?(\/.*)$/.exec(url.pathname);
  if (!apiMatch) {
    send(res, notFound());
    return;
  }
  // @discordjs/rest may percent-encode `@original`; decode each segment, never the separators.
  const segments = (apiMatch[2] ?? '/').split('/').filter(Boolean).map(safeDecode);
  const path = `/${segments.join('/')}`;
  const contentType = req.headers['content-type'] ?? null;
  const { body, files } = await parseBody(rawBody, contentType);
  const authorization = req.headers.authorization ?? null;
  const record: RecordedRequest = {
    method,
    path,
    query: Object.fromEntries(url.searchParams),
    authorization,
    contentType,
    body,
    files,
    status: 0,
  };
  const faultIndex = state.restFaults.findIndex(
    ({ fault: f }) => f.method === method && f.path.test(path) && (!f.withFiles || files.length > 0) && (!f.match || f.match({ method, path, files })),
  );
  if (faultIndex >= 0) {
    const pending = state.restFaults[faultIndex]!;
    if (--pending.remaining <= 0) state.restFaults.splice(faultIndex, 1);
    record.status = pending.fault.status;
    state.requests.push(record);
    sendFault(res, pending.fault);
    state.changed();
    return;
  }
  let result: RestResult;
  const oversized = files.find((f) => f.data.length > state.attachmentSizeLimit);
  if (apiMatch[1] !== undefined && apiMatch[1] !== '10' && apiMatch[1] !== '9') {
    result = error(400, 50041, 'Invalid API version');
  } else if (oversized) {
    // Discord refuses the whole request, before looking at the route, when one file is over the limit.
    result = error(413, 40005, 'Request entity too large');
  } else {
    const match = matchRoute(routes, method, segments);
    if (!match) result = notFound();
    else if (match.route.auth && authorization !== `Bot ${state.token}`) result = error(401, 0, '401: Unauthorized');
    else {
      result = match.route.handler({
        method,
        params: match.params,
        query: url.searchParams,
        body,
        files,
        authorized: authorization === `Bot ${state.token}`,
      });
    }
  }
  record.status = result.status;
  state.requests.push(record);
  send(res, result);
  state.changed();
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Discord's shapes: 429 with `retry_after` (seconds) in body and header, or a bare 5xx. */
function sendFault(res: ServerResponse, fault: RestFault): void {
  if (fault.status === 429) {
    const retryAfter = fault.retryAfterSeconds ?? 0.1;
    const payload = JSON.stringify({ message: 'You are being rate limited.', retry_after: retryAfter, global: false });
    res.writeHead(429, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      'retry-after': String(Math.ceil(retryAfter)),
      'x-ratelimit-scope': 'user',
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset-after': String(retryAfter),
    });
    res.end(payload);
    return;
  }
  const payload = JSON.stringify({ message: `${fault.status}: Internal Server Error`, code: 0 });
  res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function send(res: ServerResponse, result: RestResult): void {
  if (result.body === undefined) {
    res.writeHead(result.status).end();
    return;
  }
  const payload = JSON.stringify(result.body);
  res.writeHead(result.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses JSON or multipart/form-data (`files[n]` parts + `payload_json`) bodies. */
async function parseBody(raw: Buffer, contentType: string | null): Promise<{ body: Json | null; files: UploadedFile[] }> {
  if (raw.length === 0 || !contentType) return { body: null, files: [] };
  if (contentType.startsWith('multipart/form-data')) {
    // undici's spec-compliant multipart parser, reached through the fetch Response API.
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const files: UploadedFile[] = [];
    let body: Json | null = null;
    const fields: Json = {};
    for (const [name, value] of form) {
      if (typeof value === 'string') {
        if (name === 'payload_json') body = JSON.parse(value) as Json;
        else fields[name] = value;
      } else {
        files.push({
          fieldName: name,
          filename: value.name,
          contentType: value.type || 'application/octet-stream',
          data: Buffer.from(await value.arrayBuffer()),
        });
      }
    }
    return { body: body ?? fields, files };
  }
  if (contentType.startsWith('application/json')) return { body: JSON.parse(raw.toString('utf8')) as Json, files: [] };
  return { body: null, files: [] };
}

function serveAttachment(state: ServerState, pathname: string, method: string, res: ServerResponse): void {
  const [, , id] = pathname.split('/');
  const attachment = id ? state.attachments.get(id) : undefined;
  if (!attachment || (method !== 'GET' && method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    return;
  }
  state.cdnRequests.push({ attachmentId: attachment.id, afterRequests: state.requests.length, at: performance.now() });
  state.changed();
  if (state.stalledAttachments.has(attachment.id)) {
    // Headers and the first bytes, then silence: the connection stays open until the server closes.
    res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': attachment.data.length });
    res.write(attachment.data.subarray(0, Math.min(16, attachment.data.length)));
    return;
  }
  res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': attachment.data.length });
  res.end(method === 'HEAD' ? undefined : attachment.data);
}

function matchRoute(routes: Route[], method: string, segments: string[]): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = route.segments.every((pattern, index) => {
      const actual = segments[index] ?? '';
      if (pattern.startsWith(':')) {
        params[pattern.slice(1)] = actual;
        return true;
      }
      return pattern === actual;
    });
    if (ok) return { route, params };
  }
  return null;
}

function buildRoutes(state: ServerState): Route[] {
  const routes: Route[] = [];
  const add = (method: string, path: string, handler: Handler, auth = true): void => {
    routes.push({ method, segments: path.split('/').filter(Boolean), auth, handler });
  };
  const { world } = state;
  const bot = world.botUser;

  // ---- gateway, users, application ----
  const gatewayInfo = (): Json => ({ url: state.gateway ? `${state.baseUrl.replace('http', 'ws')}/gateway` : '' });
  add('GET', '/gateway', () => ({ status: 200, body: gatewayInfo() }), false);
  add('GET', '/gateway/bot', () => ({
    status: 200,
    body: {
      ...gatewayInfo(),
      shards: state.shardCount,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
    },
  }));
  add('GET', '/users/@me', () => ({ status: 200, body: { ...userJson(bot), verified: true, mfa_enabled: false } }));
  add('GET', '/users/:userId', ({ params }) => {
    const user = world.users.get(params.userId ?? '');
    return user ? { status: 200, body: userJson(user) } : error(404, 10013, 'Unknown User');
  });
  const application = (): RestResult => ({
    status: 200,
    body: {
      id: world.applicationId,
      name: bot.username,
      icon: null,
      description: 'Motif test application',
      bot_public: true,
      bot_require_code_grant: false,
      flags: 0,
      bot: userJson(bot),
      owner: userJson(bot),
      verify_key: '0'.repeat(64),
      team: null,
      approximate_guild_count: world.guilds.length,
    },
  });
  add('GET', '/applications/@me', application);
  add('GET', '/oauth2/applications/@me', application);

  // ---- application commands (global and per guild) ----
  const commandList = (params: Record<string, string>): RegisteredCommand[] | null => {
    if (params.appId !== world.applicationId) return null;
    if (params.guildId === undefined) return state.globalCommands;
    if (!world.guilds.some((g) => g.id === params.guildId)) return null;
    let list = state.guildCommands.get(params.guildId);
    if (!list) state.guildCommands.set(params.guildId, (list = []));
    return list;
  };
  const toRegistered = (body: Json, params: Record<string, string>, existing?: RegisteredCommand): RegisteredCommand => ({
    type: 1,
    description: '',
    options: [],
    default_member_permissions: null,
    dm_permission: true,
    nsfw: false,
    ...body,
    id: existing?.id ?? state.nextId(),
    application_id: world.applicationId,
    guild_id: params.guildId,
    version: state.nextId(),
    name: String(body.name),
  });
  for (const prefix of ['/applications/:appId/commands', '/applications/:appId/guilds/:guildId/commands']) {
    add('GET', prefix, ({ params }) => {
      const list = commandList(params);
      return list ? { status: 200, body: list } : unknownGuild();
    });
    add('PUT', prefix, ({ params, body }) => {
      const list = commandList(params);
      if (!list) return unknownGuild();
      if (!Array.isArray(body)) return error(400, 50035, 'Invalid Form Body');
      const next = (body as Json[]).map((c) => toRegistered(c, params, list.find((old) => old.name === c.name)));
      list.splice(0, list.length, ...next);
      return { status: 200, body: list };
    });
    add('POST', prefix, ({ params, body }) => {
      const list = commandList(params);
      if (!list || !body) return unknownGuild();
      const index = list.findIndex((old) => old.name === body.name);
      const command = toRegistered(body, params, list[index]);
      if (index >= 0) list[index] = command;
      else list.push(command);
      return { status: index >= 0 ? 200 : 201, body: command };
    });
    add('GET', `${prefix}/:commandId`, ({ params }) => {
      const command = commandList(params)?.find((c) => c.id === params.commandId);
      return command ? { status: 200, body: command } : error(404, 10063, 'Unknown application command');
    });
    add('PATCH', `${prefix}/:commandId`, ({ params, body }) => {
      const list = commandList(params);
      const index = list?.findIndex((c) => c.id === params.commandId) ?? -1;
      const old = list?.[index];
      if (!list || !old) return error(404, 10063, 'Unknown application command');
      list[index] = toRegistered({ ...old, ...body }, params, old);
      return { status: 200, body: list[index] };
    });
    add('DELETE', `${prefix}/:commandId`, ({ params }) => {
      const list = commandList(params);
      const index = list?.findIndex((c) => c.id === params.commandId) ?? -1;
      if (!list || index < 0) return error(404, 10063, 'Unknown application command');
      list.splice(index, 1);
      return { status: 204 };
    });
  }

  // ---- interaction callback ----
  add(
    'POST',
    '/interactions/:interactionId/:token/callback',
    ({ params, body, files, query }) => {
      const record = state.interactions.get(params.interactionId ?? '');
      if (!record || record.response.interaction.token !== params.token || record.response.expired) return unknownInteraction();
      const { response } = record;
      if (response.acknowledged) return error(400, 40060, 'Interaction has already been acknowledged.');
      const type = typeof body?.type === 'number' ? body.type : -1;
      const data = (body?.data ?? {}) as Json;
      const interaction = response.interaction;
      const isComponent = interaction.type === InteractionType.MessageComponent;
      const ephemeral = typeof data.flags === 'number' && (data.flags & MessageFlag.Ephemeral) !== 0;
      switch (type) {
        case 4:
        case 5: {
          if (interaction.type === InteractionType.Autocomplete) return error(400, 50035, 'Invalid Form Body');
          response.message = state.createMessage({
            channelId: interaction.channelId,
            guildId: interaction.guildId,
            source: 'interaction-response',
            author: bot,
            body: type === 4 ? data : { flags: data.flags },
            files: type === 4 ? files : [],
            interactionId: interaction.id,
            extraFlags: type === 5 ? MessageFlag.Loading : 0,
          });
          response.deferred = type === 5;
          response.ephemeral = ephemeral;
          break;
        }
        case 6:
        case 7: {
          if (!isComponent && interaction.type !== InteractionType.ModalSubmit) return error(400, 40043, 'Interaction is not a component interaction');
          response.message = record.sourceMessage;
          if (type === 7 && record.sourceMessage) state.editMessage(record.sourceMessage, data, files);
          response.deferred = type === 6;
          break;
        }
        case 8:
          if (interaction.type !== InteractionType.Autocomplete) return error(400, 50035, 'Invalid Form Body');
          response.autocompleteChoices = Array.isArray(data.choices) ? (data.choices as Json[]) : [];
          break;
        case 9:
          response.modal = data;
          break;
        default:
          return error(400, 50035, `Invalid interaction callback type ${type}`);
      }
      response.callbackType = type;
      response.acknowledged = true;
      response.acknowledgedAt = performance.now();
      // This request is recorded right after its handler returns, at the current end of the list.
      response.acknowledgedRequestIndex = state.requests.length;
      state.changed();
      if (query.get('with_response') !== 'true') return { status: 204 };
      const message = response.message;
      return {
        status: 200,
        body: {
          interaction: {
            id: interaction.id,
            type: interaction.type,
            response_message_id: message?.id,
            response_message_loading: message ? (message.flags & MessageFlag.Loading) !== 0 : undefined,
            response_message_ephemeral: message ? (message.flags & MessageFlag.Ephemeral) !== 0 : undefined,
          },
          resource: { type, message: message ? messageJson(message, world.applicationId) : undefined },
        },
      };
    },
    false,
  );

  // ---- interaction webhooks: @original and follow-ups ----
  const webhookRecord = (params: Record<string, string>): InteractionRecord | RestResult => {
    const record = state.interactionsByToken.get(params.token ?? '');
    if (!record || params.appId !== world.applicationId) return unknownWebhook();
    if (record.response.expired) return error(401, 50027, 'Invalid Webhook Token');
    return record;
  };
  const isResult = (value: InteractionRecord | RestResult): value is RestResult => 'status' in value;
  const webhookMessage = (record: InteractionRecord, messageId: string): StoredMessage | undefined => {
    const { response } = record;
    if (messageId === '@original') return response.message ?? undefined;
    if (response.message?.id === messageId) return response.message;
    return response.followUps.find((m) => m.id === messageId);
  };
  const json = (message: StoredMessage): RestResult => ({ status: 200, body: messageJson(message, world.applicationId) });

  add(
    'POST',
    '/webhooks/:appId/:token',
    ({ params, body, files }) => {
      const record = webhookRecord(params);
      if (isResult(record)) return record;
      const { response } = record;
      if (!response.acknowledged) return unknownWebhook();
      const original = response.message;
      if (response.callbackType === 5 && original && (original.flags & MessageFlag.Loading) !== 0) {
        // Discord: after a deferred reply, the first follow-up fills the "thinking…" message.
        state.editMessage(original, body ?? {}, files);
        response.editCount += 1;
        return json(original);
      }
      const interaction = response.interaction;
      const message = state.createMessage({
        channelId: interaction.channelId,
        guildId: interaction.guildId,
        source: 'follow-up',
        author: bot,
        body: body ?? {},
        files,
        interactionId: interaction.id,
      });
      response.followUps.push(message);
      state.changed();
      return json(message);
    },
    false,
  );
  add(
    'GET',
    '/webhooks/:appId/:token/messages/:messageId',
    ({ params }) => {
      const record = webhookRecord(params);
      if (isResult(record)) return record;
      const message = webhookMessage(record, params.messageId ?? '');
      return message && !message.deleted ? json(message) : unknownMessage();
    },
    false,
  );
  add(
    'PATCH',
    '/webhooks/:appId/:token/messages/:messageId',
    ({ params, body, files }) => {
      const record = webhookRecord(params);
      if (isResult(record)) return record;
      const message = webhookMessage(record, params.messageId ?? '');
      if (!message || message.deleted) return unknownMessage();
      state.editMessage(message, body ?? {}, files);
      if (message === record.response.message) record.response.editCount += 1;
      state.changed();
      return json(message);
    },
    false,
  );
  add(
    'DELETE',
    '/webhooks/:appId/:token/messages/:messageId',
    ({ params }) => {
      const record = webhookRecord(params);
      if (isResult(record)) return record;
      const message = webhookMessage(record, params.messageId ?? '');
      if (!message || message.deleted) return unknownMessage();
      message.deleted = true;
      state.changed();
      return { status: 204 };
    },
    false,
  );

  // ---- channels and channel messages ----
  const botCan = (channelId: string, bits: bigint): boolean | null => {
    const found = findChannel(world, channelId);
    if (!found) return null;
    const member = found.guild.members.get(bot.id);
    if (!member) return false;
    return (channelPermissions(found.guild, member, found.channel) & bits) === bits;
  };
  const channelMessage = (params: Record<string, string>): StoredMessage | undefined => {
    const message = state.messages.get(params.messageId ?? '');
    if (!message || message.deleted || message.channelId !== params.channelId) return undefined;
    return (message.flags & MessageFlag.Ephemeral) !== 0 ? undefined : message;
  };
  add('GET', '/channels/:channelId', ({ params }) => {
    const found = findChannel(world, params.channelId ?? '');
    return found ? { status: 200, body: channelJson(found.channel) } : unknownChannel();
  });
  add('POST', '/channels/:channelId/messages', ({ params, body, files }) => {
    const channelId = params.channelId ?? '';
    const allowed = botCan(channelId, Permission.ViewChannel | Permission.SendMessages | (files.length > 0 ? Permission.AttachFiles : 0n));
    if (allowed === null) return unknownChannel();
    if (!allowed) return error(403, 50013, 'Missing Permissions');
    const found = findChannel(world, channelId);
    const message = state.createMessage({
      channelId,
      guildId: found?.guild.id ?? null,
      source: 'channel',
      author: bot,
      body: body ?? {},
      files,
      interactionId: null,
    });
    return json(message);
  });
  add('GET', '/channels/:channelId/messages', ({ params, query }) => {
    if (!findChannel(world, params.channelId ?? '')) return unknownChannel();
    const limit = Math.min(100, Number(query.get('limit') ?? 50));
    const list = [...state.messages.values()]
      .filter((m) => m.channelId === params.channelId && !m.deleted && (m.flags & MessageFlag.Ephemeral) === 0)
      .reverse()
      .slice(0, limit)
      .map((m) => messageJson(m, world.applicationId));
    return { status: 200, body: list };
  });
  add('GET', '/channels/:channelId/messages/:messageId', ({ params }) => {
    const message = channelMessage(params);
    return message ? json(message) : unknownMessage();
  });
  add('PATCH', '/channels/:channelId/messages/:messageId', ({ params, body, files }) => {
    const message = channelMessage(params);
    if (!message) return unknownMessage();
    if (message.author.id !== bot.id) return error(403, 50005, 'Cannot edit a message authored by another user');
    state.editMessage(message, body ?? {}, files);
    return json(message);
  });
  add('DELETE', '/channels/:channelId/messages/:messageId', ({ params }) => {
    const message = channelMessage(params);
    if (!message) return unknownMessage();
    message.deleted = true;
    state.changed();
    return { status: 204 };
  });
  add('POST', '/channels/:channelId/typing', ({ params }) =>
    findChannel(world, params.channelId ?? '') ? { status: 204 } : unknownChannel(),
  );

  // ---- guilds ----
  const guildOf = (params: Record<string, string>) => world.guilds.find((g) => g.id === params.guildId);
  add('GET', '/guilds/:guildId', ({ params }) => {
    const guild = guildOf(params);
    return guild ? { status: 200, body: { ...guildJson(guild), approximate_member_count: guild.members.size } } : unknownGuild();
  });
  add('GET', '/guilds/:guildId/channels', ({ params }) => {
    const guild = guildOf(params);
    return guild ? { status: 200, body: guild.channels.map(channelJson) } : unknownGuild();
  });
  add('GET', '/guilds/:guildId/roles', ({ params }) => {
    const guild = guildOf(params);
    return guild ? { status: 200, body: allRoles(guild).map(roleJson) } : unknownGuild();
  });
  add('GET', '/guilds/:guildId/members', ({ params }) => {
    const guild = guildOf(params);
    return guild ? { status: 200, body: [...guild.members.values()].map((m) => memberJson(guild, m)) } : unknownGuild();
  });
  add('GET', '/guilds/:guildId/members/:userId', ({ params }) => {
    const guild = guildOf(params);
    if (!guild) return unknownGuild();
    const userId = params.userId === '@me' ? bot.id : (params.userId ?? '');
    const member = guild.members.get(userId);
    return member ? { status: 200, body: memberJson(guild, member) } : error(404, 10007, 'Unknown Member');
  });
  add('GET', '/guilds/:guildId/voice-states/:userId', ({ params }) => {
    const guild = guildOf(params);
    if (!guild) return unknownGuild();
    const userId = params.userId === '@me' ? bot.id : (params.userId ?? '');
    const voiceState = guild.voiceStates.get(userId);
    return voiceState ? { status: 200, body: voiceStateJson(guild, voiceState, voiceState.channelId) } : error(404, 10065, 'Unknown Voice State');
  });

  return routes;
}
