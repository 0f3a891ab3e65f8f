import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { VOICE_ENCRYPTION_MODES, decryptRtpSize, type VoiceEncryptionMode } from './voice-crypto.js';
import type { Json } from './world.js';

/** Voice gateway opcodes (v4–v8). */
export const VoiceOp = {
  Identify: 0,
  SelectProtocol: 1,
  Ready: 2,
  Heartbeat: 3,
  SessionDescription: 4,
  Speaking: 5,
  HeartbeatAck: 6,
  Resume: 7,
  Hello: 8,
  Resumed: 9,
  ClientsConnect: 11,
  ClientDisconnect: 13,
} as const;

/** The three-byte Opus silence frame @discordjs/voice sends five of when it stops. */
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

/** Session data the main gateway handed to the bot in VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE. */
export interface ExpectedVoiceSession {
  guildId: string;
  channelId: string;
  userId: string;
  sessionId: string;
  token: string;
}

/** One Opus packet the bot sent, decrypted, in arrival order. */
export interface ReceivedAudioPacket {
  guildId: string;
  ssrc: number;
  sequence: number;
  /** RTP timestamp, 48 kHz samples. */
  timestamp: number;
  opus: Buffer;
  /** True for the 3-byte Opus silence frame (f8 ff fe) sent when playback stops. */
  isSilence: boolean;
}

/** Everything one voice WebSocket connection did. */
export interface VoiceConnectionRecord {
  /** Voice gateway version from `?v=` (0.18 uses 4, 0.19 uses 8). */
  version: number;
  guildId: string | null;
  ssrc: number;
  identify: Json | null;
  resumed: boolean;
  selectProtocol: Json | null;
  mode: VoiceEncryptionMode | null;
  secretKey: Buffer | null;
  /** `max_dave_protocol_version` from IDENTIFY (v8); the endpoint always answers DAVE version 0. */
  maxDaveProtocolVersion: number | null;
  /** Speaking flags (op 5 `speaking`) in order. */
  speaking: number[];
  heartbeats: number;
  /** Opcodes of binary (DAVE MLS) messages received. */
  binaryOpcodes: number[];
  closedWithCode: number | null;
  socket: WebSocket;
}

export interface VoiceEndpointOptions {
  /** Voice heartbeat interval sent in HELLO, ms. */
  heartbeatIntervalMs?: number;
  /** Encryption modes offered in READY, in order (the client picks the first it supports). */
  modes?: VoiceEncryptionMode[];
  tls: { cert: string; key: string };
}

/**
 * A local Discord voice server: WebSocket (wss, voice gateway v4 and v8) for the handshake and a UDP socket on
 * 127.0.0.1 that answers IP discovery and decrypts the bot's RTP audio into Opus packets.
 */
export class FakeVoiceEndpoint extends EventEmitter {
  readonly connections: VoiceConnectionRecord[] = [];
  readonly packets: ReceivedAudioPacket[] = [];
  /** RTP packets that failed to decrypt (should stay empty). */
  readonly rejectedPackets: Array<{ bytes: number; reason: string }> = [];
  keepAlives = 0;
  private readonly expected = new Map<string, ExpectedVoiceSession>();
  private readonly wss: WebSocketServer;
  private nextSsrc = 1000;

  private constructor(
    private readonly https: Server,
    private readonly udp: Socket,
    private readonly options: Required<Omit<VoiceEndpointOptions, 'tls'>>,
  ) {
    super();
    this.setMaxListeners(0);
    this.wss = new WebSocketServer({ server: https });
    this.wss.on('connection', (socket, request) => {
      const version = Number(new URL(request.url ?? '/', 'https://127.0.0.1').searchParams.get('v') ?? 4);
      this.onConnection(socket, version);
    });
    udp.on('message', (message, remote) => this.onUdp(message, remote));
  }

  /** Starts the HTTPS/WebSocket and UDP listeners on 127.0.0.1 with random ports. */
  static async start(options: VoiceEndpointOptions): Promise<FakeVoiceEndpoint> {
    const https = createServer({ cert: options.tls.cert, key: options.tls.key });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    return new FakeVoiceEndpoint(https, udp, {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5_000,
      modes: options.modes ?? VOICE_ENCRYPTION_MODES,
    });
  }

  /** `host:port` as VOICE_SERVER_UPDATE.endpoint (the client prepends `wss://`). */
  get endpoint(): string {
    return `127.0.0.1:${(this.https.address() as AddressInfo).port}`;
  }

  get wsPort(): number {
    return (this.https.address() as AddressInfo).port;
  }

  get udpPort(): number {
    return this.udp.address().port;
  }

  /** Registers the token the next IDENTIFY must present (called by the main gateway). */
  expectSession(session: ExpectedVoiceSession): void {
    this.expected.set(session.token, session);
  }

  /** Audio packets of one guild, in arrival order. */
  packetsFor(guildId: string, options: { includeSilence?: boolean } = {}): ReceivedAudioPacket[] {
    return this.packets.filter((p) => p.guildId === guildId && (options.includeSilence || !p.isSilence));
  }

  /** Resolves when `predicate` holds, re-checked on every voice event. */
  async waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const first = check();
    if (first !== undefined) return first;
    return await new Promise<T>((resolve, reject) => {
      const onChange = (): void => {
        const result = check();
        if (result !== undefined) {
          cleanup();
          resolve(result);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('change', onChange);
      };
      this.on('change', onChange);
    });
  }

  /** Resolves once the bot has sent at least `count` non-silent audio packets for the guild. */
  async waitForPackets(guildId: string, count: number, timeoutMs = 30_000): Promise<ReceivedAudioPacket[]> {
    return await this.waitFor(
      () => {
        const packets = this.packetsFor(guildId);
        return packets.length >= count ? packets : undefined;
      },
      timeoutMs,
      `${count} audio packets in guild ${guildId} (have ${this.packetsFor(guildId).length})`,
    );
  }

  /** Resolves when the bot announces it stopped speaking (op 5 with 0) after having spoken in the guild. */
  async waitForSpeakingStopped(guildId: string, timeoutMs = 60_000): Promise<ReceivedAudioPacket[]> {
    return await this.waitFor(
      () => {
        const spoke = this.connections.some((c) => c.guildId === guildId && c.speaking.includes(1) && c.speaking.at(-1) === 0);
        return spoke ? this.packetsFor(guildId) : undefined;
      },
      timeoutMs,
      `the bot to stop speaking in guild ${guildId}`,
    );
  }

  /** Closes the bot's voice WebSocket for a guild (4015 = resumable "server crashed"; 4006 = session gone). */
  drop(guildId: string, code = 4015): void {
    const connection = [...this.connections].reverse().find((c) => c.guildId === guildId && c.closedWithCode === null);
    if (!connection) throw new Error(`No open voice connection for guild ${guildId}`);
    connection.socket.close(code, 'Test harness dropped the voice connection');
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.https.close(() => resolve()));
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
  }

  private onConnection(socket: WebSocket, version: number): void {
    const record: VoiceConnectionRecord = {
      version,
      guildId: null,
      ssrc: this.nextSsrc++,
      identify: null,
      resumed: false,
      selectProtocol: null,
      mode: null,
      secretKey: null,
      maxDaveProtocolVersion: null,
      speaking: [],
      heartbeats: 0,
      binaryOpcodes: [],
      closedWithCode: null,
      socket,
    };
    this.connections.push(record);
    let seq = 0;
    const send = (op: number, d: unknown): void => {
      if (socket.readyState !== socket.OPEN) return;
      // v8 servers number their messages so clients can ack them in heartbeats and resumes.
      socket.send(JSON.stringify(version >= 8 ? { op, d, seq: ++seq } : { op, d }));
    };
    socket.on('close', (code) => {
      record.closedWithCode = code;
      this.emit('change');
    });
    socket.on('error', () => undefined);
    socket.on('message', (raw, isBinary) => {
      if (isBinary) {
        const bytes = raw as Buffer;
        if (bytes.length > 0) record.binaryOpcodes.push(bytes[0]!);
        this.emit('change');
        return;
      }
      let payload: { op: number; d: Json | number | null };
      try {
        payload = JSON.parse(String(raw)) as { op: number; d: Json | number | null };
      } catch {
        socket.close(4002, 'Failed to decode payload');
        return;
      }
      this.onPayload(record, payload.op, payload.d, send);
      this.emit('change');
    });
    send(VoiceOp.Hello, { heartbeat_interval: this.options.heartbeatIntervalMs, v: version });
  }

  private onPayload(record: VoiceConnectionRecord, op: number, d: Json | number | null, send: (op: number, d: unknown) => void): void {
    const data = (d !== null && typeof d === 'object' ? d : {}) as Json;
    switch (op) {
      case VoiceOp.Identify: {
        const session = this.expected.get(String(data.token));
        if (!session || session.guildId !== data.server_id || session.userId !== data.user_id || session.sessionId !== data.session_id) {
          record.socket.close(4004, 'Authentication failed');
          return;
        }
        record.identify = data;
        record.guildId = session.guildId;
        record.maxDaveProtocolVersion = typeof data.max_dave_protocol_version === 'number' ? data.max_dave_protocol_version : null;
        send(VoiceOp.Ready, {
          ssrc: record.ssrc,
          ip: '127.0.0.1',
          port: this.udpPort,
          modes: this.options.modes,
          heartbeat_interval: this.options.heartbeatIntervalMs,
          experiments: [],
          streams: [],
        });
        return;
      }
      case VoiceOp.SelectProtocol: {
        const mode = (data.data as Json | undefined)?.mode as VoiceEncryptionMode | undefined;
        if (!mode || !this.options.modes.includes(mode)) {
          record.socket.close(4016, 'Unknown encryption mode');
          return;
        }
        record.selectProtocol = data;
        record.mode = mode;
        record.secretKey = randomBytes(32);
        send(VoiceOp.SessionDescription, {
          audio_codec: 'opus',
          video_codec: null,
          media_session_id: randomBytes(16).toString('hex'),
          mode,
          secret_key: [...record.secretKey],
          // Version 0 = no end-to-end encryption, so the bot's Opus frames arrive as plain Opus after transport decryption.
          dave_protocol_version: 0,
        });
        return;
      }
      case VoiceOp.Heartbeat: {
        record.heartbeats += 1;
        const nonce = typeof d === 'number' ? d : data.t;
        send(VoiceOp.HeartbeatAck, record.version >= 8 ? { t: nonce } : nonce);
        return;
      }
      case VoiceOp.Speaking:
        record.speaking.push(Number(data.speaking));
        return;
      case VoiceOp.Resume: {
        const previous = [...this.connections].reverse().find((c) => c !== record && c.guildId === data.server_id && c.secretKey);
        const session = this.expected.get(String(data.token));
        if (!previous || !session || session.sessionId !== data.session_id) {
          record.socket.close(4006, 'Session no longer valid');
          return;
        }
        Object.assign(record, {
          guildId: previous.guildId,
          ssrc: previous.ssrc,
          mode: previous.mode,
          secretKey: previous.secretKey,
          identify: previous.identify,
          resumed: true,
        });
        send(VoiceOp.Resumed, null);
        return;
      }
      default:
        // DAVE JSON opcodes (21–31) and client info are accepted and ignored: DAVE stays at version 0.
        return;
    }
  }

  private onUdp(message: Buffer, remote: RemoteInfo): void {
    if (message.length === 74 && message.readUInt16BE(0) === 1) {
      const reply = Buffer.alloc(74);
      reply.writeUInt16BE(2, 0);
      reply.writeUInt16BE(70, 2);
      reply.writeUInt32BE(message.readUInt32BE(4), 4);
      reply.write(remote.address, 8, 'utf8');
      reply.writeUInt16BE(remote.port, 72);
      this.udp.send(reply, remote.port, remote.address);
      return;
    }
    if (message.length === 8) {
      this.keepAlives += 1;
      return;
    }
    const ssrc = message.length >= 12 ? message.readUInt32BE(8) : -1;
    const connection = [...this.connections].reverse().find((c) => c.ssrc === ssrc && c.secretKey && c.mode);
    if (!connection?.secretKey || !connection.mode || !connection.guildId) {
      this.rejectedPackets.push({ bytes: message.length, reason: `unknown ssrc ${ssrc}` });
      return;
    }
    try {
      const rtp = decryptRtpSize(message, connection.mode, connection.secretKey);
      this.packets.push({
        guildId: connection.guildId,
        ssrc: rtp.ssrc,
        sequence: rtp.sequence,
        timestamp: rtp.timestamp,
        opus: rtp.opus,
        isSilence: rtp.opus.equals(OPUS_SILENCE),
      });
    } catch (cause) {
      this.rejectedPackets.push({ bytes: message.length, reason: cause instanceof Error ? cause.message : String(cause) });
    }
    this.emit('change');
  }
}
