import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { guildCreateJson, memberJson, userJson, type Json, type World } from './world.js';

/** Gateway opcodes (Discord API v10). */
export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

export interface GatewayPayload {
  op: number;
  d: unknown;
  s?: number | null;
  t?: string | null;
}

/** `[shard_id, num_shards]` as IDENTIFY and READY carry it. */
export type ShardTuple = [id: number, count: number];

/**
 * The shard that receives a guild's events: `(guild_id >> 22) % num_shards`, Discord's formula (the
 * snowflake's timestamp part, modulo the shard count).
 */
export function shardOfGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

interface Session {
  id: string;
  /** The shard this session IDENTIFYed as; `[0, 1]` when the IDENTIFY carried none. */
  shard: ShardTuple;
  /** Last sequence number handed out in this session. */
  seq: number;
  /** Every dispatch of the session, kept so RESUME can replay what the client missed. */
  sent: Array<{ s: number; t: string; d: unknown }>;
  socket: WebSocket | null;
  /** True once READY or RESUMED was sent on the current socket. */
  ready: boolean;
}

/** A dispatch waiting for the session of its shard; `guildId` null = not guild-scoped (shard 0). */
interface PendingDispatch {
  t: string;
  d: unknown;
  guildId: string | null;
}

export interface GatewayOptions {
  world: World;
  heartbeatIntervalMs: number;
  /** ws:// URL (no query) returned by GET /gateway/bot. */
  gatewayUrl: string;
  /** ws:// URL (no query) sent as READY.resume_gateway_url; the client must use it to RESUME. */
  resumeGatewayUrl: string;
  /**
   * Called for every op 4 the client sends on the shard that owns the guild. An op 4 for a guild of
   * another shard is recorded in `received` but not answered: that connection does not carry the guild.
   */
  onVoiceStateUpdate: (d: Json) => void;
  /** Token the client must IDENTIFY/RESUME with. */
  token: string;
}

/**
 * Discord gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay of missed
 * dispatches, and dispatch of arbitrary events (buffered while the client is away).
 *
 * Sharding: each IDENTIFY may carry `shard: [id, count]` (default `[0, 1]`), and each shard is its own
 * session (one per shard id; a new IDENTIFY for a shard replaces its session). A session's READY lists only
 * its shard's guilds, with a GUILD_CREATE for each, and a guild-scoped dispatch goes to the session whose
 * shard is `(guild_id >> 22) % count`; one without a guild (a DM) goes to shard 0. With one unsharded client
 * this is exactly one session that gets everything.
 */
export class FakeGateway extends EventEmitter {
  private readonly wss = new WebSocketServer({ noServer: true });
  /** Live sessions, oldest first (at most one per shard id). */
  private readonly sessions: Session[] = [];
  /** Dispatches requested before any session of their shard existed; sent right after its GUILD_CREATEs. */
  private readonly beforeFirstSession: PendingDispatch[] = [];
  private readonly sockets = new Set<WebSocket>();
  /** Every payload the client sent, in order. */
  readonly received: GatewayPayload[] = [];
  /** `[shard_id, num_shards]` of every accepted IDENTIFY, in order (`[0, 1]` when it carried none). */
  readonly identifiedShards: ShardTuple[] = [];
  /** URL paths (with query) of every gateway connection, in order. */
  readonly connectionUrls: string[] = [];
  identifyCount = 0;
  resumeCount = 0;
  heartbeatCount = 0;
  /** `performance.now()` of every heartbeat received, to check the client kept its rhythm under load. */
  readonly heartbeatTimes: number[] = [];

  constructor(private readonly options: GatewayOptions) {
    super();
  }

  /**
   * True while the client is connected and past READY/RESUMED on every shard: the connected sessions share
   * one shard count, there is one for each id `0 … count-1`, and each is ready. (Sessions whose client is
   * gone, e.g. a stopped bot's, stay resumable but do not count.)
   */
  get isReady(): boolean {
    const connected = this.sessions.filter((s) => s.socket !== null);
    const count = connected[0]?.shard[1];
    if (count === undefined || connected.some((s) => s.shard[1] !== count)) return false;
    for (let id = 0; id < count; id++) {
      const session = connected.find((s) => s.shard[0] === id);
      if (!session?.ready) return false;
    }
    return true;
  }

  /** Session id of shard 0 (the only session of an unsharded client); null before IDENTIFY. */
  get sessionId(): string | null {
    return this.sessionOfShard(0)?.id ?? null;
  }

  /** `[shard_id, num_shards]` of each live session, ordered by shard id. */
  get shards(): ShardTuple[] {
    return this.sessions.map((s) => [...s.shard] as ShardTuple).sort((a, b) => a[0] - b[0]);
  }

  /** The shard id whose session receives this guild's events, or null when no session carries it. */
  shardFor(guildId: string): number | null {
    return this.sessions.find((s) => carries(s, guildId))?.shard[0] ?? null;
  }

  /** Attaches an HTTP upgrade request for a `/gateway…` path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, url));
  }

  /**
   * Sends a dispatch event (op 0) with the next sequence number. While the client is disconnected the event
   * is only recorded in the session, so a RESUME replays it; before the first session it is queued.
   */
  /**
   * Sends a dispatch event (op 0) with the next sequence number of the session it belongs to: the shard of
   * its `guild_id` (`id` for GUILD_CREATE/UPDATE/DELETE), shard 0 for events without a guild. While that
   * session's client is disconnected the event is only recorded in the session, so a RESUME replays it;
   * before any session of that shard exists it is queued.
   */
  dispatch(t: string, d: unknown): void {
    const guildId = guildOf(t, d);
    const targets = this.sessions.filter((s) => (guildId ? carries(s, guildId) : s.shard[0] === 0));
    if (targets.length === 0) {
      this.beforeFirstSession.push({ t, d, guildId });
      return;
    }
    for (const session of targets) this.sendToSession(session, t, d);
  }

  /**
   * Cuts the connection of one shard (default 0, the only one of an unsharded client). Codes other than
   * 1000 and 4004/4010–4014 make discord.js RESUME. `terminate: true` destroys the TCP socket without a close
   * frame (the client sees 1006).
   */
  drop(options: { code?: number; terminate?: boolean; shard?: number } = {}): void {
    const socket = this.sessionOfShard(options.shard ?? 0)?.socket;
    if (!socket) throw new Error(`dropGateway: no client is connected to the gateway${options.shard ? ` as shard ${options.shard}` : ''}`);
    this.detach(socket);
    if (options.terminate) socket.terminate();
    else socket.close(options.code ?? 4000, 'Test harness dropped the connection');
  }

  /** Asks the client to reconnect and resume (op 7) on every shard, as Discord does before maintenance. */
  requestReconnect(): void {
    for (const session of this.sessions) if (session.socket) this.send(session.socket, { op: GatewayOp.Reconnect, d: null });
  }

  /** Resolves once the client is connected and past READY or RESUMED on every shard (see `isReady`). */
  async waitForReady(timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.isReady) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for gateway READY/RESUMED (shards: ${JSON.stringify(this.shards)})`);
      await waitForEvent(this, ['ready', 'resumed'], left, 'gateway READY/RESUMED').catch(() => undefined);
    }
  }

  /**
   * Resolves once the client has sent a heartbeat (at once if it already has). Its first beat comes a
   * random 0–1 × the interval after HELLO, so a short test must wait rather than check the count.
   */
  async waitForHeartbeat(timeoutMs = 10_000): Promise<void> {
    if (this.heartbeatCount > 0) return;
    await waitForEvent(this, ['heartbeat'], timeoutMs, 'a gateway heartbeat');
  }

  /** Resolves on the next RESUMED sent to the client. */
  async waitForResumed(timeoutMs = 10_000): Promise<void> {
    await waitForEvent(this, ['resumed'], timeoutMs, 'gateway RESUMED');
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(socket: WebSocket, url: URL): void {
    this.sockets.add(socket);
    this.connectionUrls.push(url.pathname + url.search);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.detach(socket);
    });
    socket.on('error', () => undefined);
    if (url.searchParams.get('v') !== '10') {
      socket.close(4012, 'Invalid API version');
      return;
    }
    if (url.searchParams.get('encoding') !== 'json' || url.searchParams.has('compress')) {
      // The harness speaks plain JSON only; zlib-sync must not be installed in tests.
      socket.close(4002, 'Only encoding=json without compression is supported');
      return;
    }
    socket.on('message', (raw, isBinary) => {
      if (isBinary) {
        socket.close(4002, 'Binary payloads are not supported');
        return;
      }
      let payload: GatewayPayload;
      try {
        payload = JSON.parse(String(raw)) as GatewayPayload;
      } catch {
        socket.close(4002, 'Decode error');
        return;
      }
      this.received.push(payload);
      this.onPayload(socket, payload);
    });
    this.send(socket, { op: GatewayOp.Hello, d: { heartbeat_interval: this.options.heartbeatIntervalMs } });
  }

  private onPayload(socket: WebSocket, payload: GatewayPayload): void {
    const d = (payload.d ?? {}) as Json;
    switch (payload.op) {
      case GatewayOp.Heartbeat:
        this.heartbeatCount += 1;
        this.heartbeatTimes.push(performance.now());
        this.send(socket, { op: GatewayOp.HeartbeatAck, d: null });
        this.emit('heartbeat');
        return;
      case GatewayOp.Identify:
        this.identify(socket, d);
        return;
      case GatewayOp.Resume:
        this.resume(socket, d);
        return;
      case GatewayOp.VoiceStateUpdate: {
        const session = this.sessions.find((s) => s.socket === socket);
        if (session && typeof d.guild_id === 'string' && !carries(session, d.guild_id)) return;
        this.options.onVoiceStateUpdate(d);
        return;
      }
      case GatewayOp.RequestGuildMembers:
        this.sendMemberChunk(d);
        return;
      case GatewayOp.PresenceUpdate:
        return;
      default:
        socket.close(4001, 'Unknown opcode');
    }
  }

  private identify(socket: WebSocket, d: Json): void {
    if (d.token !== this.options.token) {
      socket.close(4004, 'Authentication failed');
      return;
    }
    const shard = parseShard(d.shard);
    if (!shard) {
      socket.close(4010, 'Invalid shard');
      return;
    }
    this.identifyCount += 1;
    this.identifiedShards.push(shard);
    const { world } = this.options;
    // A new IDENTIFY for a shard replaces that shard's session (and a leftover session of the same id).
    for (const previous of this.sessions.filter((s) => s.shard[0] === shard[0] || s.socket === socket)) {
      this.sessions.splice(this.sessions.indexOf(previous), 1);
      if (previous.socket && previous.socket !== socket) previous.socket.close(4009, 'Session replaced');
    }
    const session: Session = { id: randomHex(16), shard, seq: 0, sent: [], socket, ready: true };
    this.sessions.push(session);
    const guilds = world.guilds.filter((g) => carries(session, g.id));
    this.sendToSession(session, 'READY', {
      v: 10,
      user: { ...userJson(world.botUser), verified: true, mfa_enabled: false, email: null },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.options.resumeGatewayUrl,
      shard: [...shard],
      application: { id: world.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['local'],
      user_settings: {},
      _trace: ['["motif-test-gateway",{"micros":0}]'],
    });
    for (const guild of guilds) this.sendToSession(session, 'GUILD_CREATE', guildCreateJson(guild));
    for (const queued of [...this.beforeFirstSession]) {
      if (queued.guildId ? carries(session, queued.guildId) : shard[0] === 0) {
        this.beforeFirstSession.splice(this.beforeFirstSession.indexOf(queued), 1);
        this.sendToSession(session, queued.t, queued.d);
      }
    }
    this.emit('ready');
  }

  private resume(socket: WebSocket, d: Json): void {
    if (d.token !== this.options.token) {
      socket.close(4004, 'Authentication failed');
      return;
    }
    const session = this.sessions.find((s) => s.id === d.session_id);
    if (!session || typeof d.seq !== 'number' || d.seq > session.seq) {
      // Not resumable: discord.js answers op 9 (false) with a fresh IDENTIFY.
      this.send(socket, { op: GatewayOp.InvalidSession, d: false });
      return;
    }
    this.resumeCount += 1;
    if (session.socket && session.socket !== socket) session.socket.close(4009, 'Session resumed elsewhere');
    session.socket = socket;
    const clientSeq = d.seq;
    for (const event of session.sent) {
      if (event.s > clientSeq) this.send(socket, { op: GatewayOp.Dispatch, ...event });
    }
    session.ready = true;
    this.sendToSession(session, 'RESUMED', { _trace: ['["motif-test-gateway",{"micros":0}]'] });
    this.emit('resumed');
  }

  private sendMemberChunk(d: Json): void {
    const guild = this.options.world.guilds.find((g) => g.id === d.guild_id);
    if (!guild) return;
    const wanted = Array.isArray(d.user_ids) ? (d.user_ids as string[]) : typeof d.user_ids === 'string' ? [d.user_ids] : null;
    const members = [...guild.members.values()].filter((m) => !wanted || wanted.includes(m.user.id));
    this.dispatch('GUILD_MEMBERS_CHUNK', {
      guild_id: guild.id,
      members: members.map((m) => memberJson(guild, m)),
      chunk_index: 0,
      chunk_count: 1,
      not_found: wanted ? wanted.filter((id) => !guild.members.has(id)) : [],
      nonce: d.nonce,
    });
  }

  /** Records a dispatch in the session (for RESUME) and sends it when the session's client is connected. */
  private sendToSession(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const event = { s: session.seq, t, d };
    session.sent.push(event);
    if (session.socket && session.ready) this.send(session.socket, { op: GatewayOp.Dispatch, ...event });
  }

  private sessionOfShard(shardId: number): Session | undefined {
    return this.sessions.find((s) => s.shard[0] === shardId);
  }

  private detach(socket: WebSocket): void {
    const session = this.sessions.find((s) => s.socket === socket);
    if (session) {
      session.socket = null;
      session.ready = false;
      this.emit('disconnected');
    }
  }

  private send(socket: WebSocket, payload: GatewayPayload): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
  }
}

/** Whether a session's shard carries this guild. */
function carries(session: Session, guildId: string): boolean {
  return shardOfGuild(guildId, session.shard[1]) === session.shard[0];
}

/** IDENTIFY's `shard`: absent → `[0, 1]`; anything but `[id, count]` with 0 ≤ id < count → null (close 4010). */
function parseShard(value: unknown): ShardTuple | null {
  if (value === undefined || value === null) return [0, 1];
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [id, count] = value as unknown[];
  if (!Number.isInteger(id) || !Number.isInteger(count)) return null;
  const [i, n] = [id as number, count as number];
  return i >= 0 && n >= 1 && i < n ? [i, n] : null;
}

/** The guild a dispatch belongs to, for routing: `guild_id`, or `id` for the guild's own events. */
function guildOf(t: string, d: unknown): string | null {
  if (!d || typeof d !== 'object') return null;
  const fields = d as Json;
  if (typeof fields.guild_id === 'string') return fields.guild_id;
  if ((t === 'GUILD_CREATE' || t === 'GUILD_UPDATE' || t === 'GUILD_DELETE') && typeof fields.id === 'string') return fields.id;
  return null;
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Resolves on the first of `events`, rejects after `timeoutMs` with a message naming `what`. */
export async function waitForEvent(emitter: EventEmitter, events: string[], timeoutMs: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const onEvent = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      for (const event of events) emitter.off(event, onEvent);
    };
    for (const event of events) emitter.on(event, onEvent);
  });
}
