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

interface Session {
  id: string;
  /** Last sequence number handed out in this session. */
  seq: number;
  /** Every dispatch of the session, kept so RESUME can replay what the client missed. */
  sent: Array<{ s: number; t: string; d: unknown }>;
  socket: WebSocket | null;
}

export interface GatewayOptions {
  world: World;
  heartbeatIntervalMs: number;
  /** ws:// URL (no query) returned by GET /gateway/bot. */
  gatewayUrl: string;
  /** ws:// URL (no query) sent as READY.resume_gateway_url; the client must use it to RESUME. */
  resumeGatewayUrl: string;
  /** Called for every op 4 the client sends. */
  onVoiceStateUpdate: (d: Json) => void;
  /** Token the client must IDENTIFY/RESUME with. */
  token: string;
}

/**
 * One-connection Discord gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay of
 * missed dispatches, and dispatch of arbitrary events (buffered while the client is away).
 */
export class FakeGateway extends EventEmitter {
  private readonly wss = new WebSocketServer({ noServer: true });
  private session: Session | null = null;
  /** Dispatches requested before the first IDENTIFY; sent right after the GUILD_CREATEs. */
  private readonly beforeFirstSession: Array<{ t: string; d: unknown }> = [];
  private readonly sockets = new Set<WebSocket>();
  private ready = false;
  /** Every payload the client sent, in order. */
  readonly received: GatewayPayload[] = [];
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

  /** True while a client session is connected and past READY/RESUMED. */
  get isReady(): boolean {
    return this.ready && this.session?.socket != null;
  }

  get sessionId(): string | null {
    return this.session?.id ?? null;
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
  dispatch(t: string, d: unknown): void {
    const session = this.session;
    if (!session) {
      this.beforeFirstSession.push({ t, d });
      return;
    }
    session.seq += 1;
    const event = { s: session.seq, t, d };
    session.sent.push(event);
    if (session.socket && this.ready) this.send(session.socket, { op: GatewayOp.Dispatch, ...event });
  }

  /**
   * Cuts the client's connection. Codes other than 1000 and 4004/4010–4014 make discord.js RESUME.
   * `terminate: true` destroys the TCP socket without a close frame (the client sees 1006).
   */
  drop(options: { code?: number; terminate?: boolean } = {}): void {
    const socket = this.session?.socket;
    if (!socket) throw new Error('dropGateway: no client is connected to the gateway');
    this.detach(socket);
    if (options.terminate) socket.terminate();
    else socket.close(options.code ?? 4000, 'Test harness dropped the connection');
  }

  /** Asks the client to reconnect and resume (op 7), as Discord does before maintenance. */
  requestReconnect(): void {
    const socket = this.session?.socket;
    if (socket) this.send(socket, { op: GatewayOp.Reconnect, d: null });
  }

  /** Resolves once a client session is connected and past READY or RESUMED. */
  async waitForReady(timeoutMs = 10_000): Promise<void> {
    if (this.isReady) return;
    await waitForEvent(this, ['ready', 'resumed'], timeoutMs, 'gateway READY/RESUMED');
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
      case GatewayOp.VoiceStateUpdate:
        this.options.onVoiceStateUpdate(d);
        return;
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
    this.identifyCount += 1;
    const { world } = this.options;
    const previous = this.session;
    if (previous?.socket && previous.socket !== socket) previous.socket.close(4009, 'Session replaced');
    const session: Session = { id: randomHex(16), seq: 0, sent: [], socket };
    this.session = session;
    this.ready = true;
    this.dispatch('READY', {
      v: 10,
      user: { ...userJson(world.botUser), verified: true, mfa_enabled: false, email: null },
      guilds: world.guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.options.resumeGatewayUrl,
      shard: [0, 1],
      application: { id: world.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['local'],
      user_settings: {},
      _trace: ['["motif-test-gateway",{"micros":0}]'],
    });
    for (const guild of world.guilds) this.dispatch('GUILD_CREATE', guildCreateJson(guild));
    for (const queued of this.beforeFirstSession.splice(0)) this.dispatch(queued.t, queued.d);
    this.emit('ready');
  }

  private resume(socket: WebSocket, d: Json): void {
    const session = this.session;
    if (d.token !== this.options.token) {
      socket.close(4004, 'Authentication failed');
      return;
    }
    if (!session || session.id !== d.session_id || typeof d.seq !== 'number' || d.seq > session.seq) {
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
    this.ready = true;
    this.dispatch('RESUMED', { _trace: ['["motif-test-gateway",{"micros":0}]'] });
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

  private detach(socket: WebSocket): void {
    if (this.session?.socket === socket) {
      this.session.socket = null;
      this.ready = false;
      this.emit('disconnected');
    }
  }

  private send(socket: WebSocket, payload: GatewayPayload): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
  }
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
