/**
 * One guild's voice playback: a voice connection, an audio player and a queue of Ogg/Opus tracks.
 *
 * Every way out (queue finished and idle, channel empty, /leave, a connection that cannot be
 * recovered, shutdown) ends in the same teardown, after which the owner forgets the player and
 * the next /play starts clean — a guild is never left with a half-alive player.
 */
import { createReadStream } from 'node:fs';
import {
  AudioPlayerStatus,
  NoSubscriberBehavior,
  StreamType,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  entersState,
  joinVoiceChannel,
  type AudioPlayer,
  type AudioPlayerState,
  type DiscordGatewayAdapterCreator,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import { MotifError } from '../../errors.js';

export interface Track {
  /** Stored Ogg/Opus file (48 kHz, 20 ms frames), streamed without re-encoding. */
  oggPath: string;
  /** Shown in messages, e.g. "result 3fa2c1d0 (C major, 0:42)". */
  title: string;
  requesterId: string;
  /** Text channel for notices about this track (errors, a lost connection). */
  textChannelId?: string;
  resultId?: string;
}

export interface EnqueueResult {
  /** 0 when the track starts now, else its 1-based place among the waiting tracks. */
  position: number;
  startedNow: boolean;
}

/** Why a player closed (for logs and for the owner's bookkeeping). */
export type CloseReason = 'left' | 'idle' | 'channel-empty' | 'connection-lost' | 'connect-failed' | 'destroyed';

export interface PlayerTimings {
  /** Leave after this long with nothing playing, ms. */
  idleTimeoutMs: number;
  /** How long one attempt to (re)connect may take before the next, ms. */
  connectTimeoutMs: number;
  /** Rejoin attempts after a dropped connection (and extra attempts on first connect), ≥ 0. */
  maxReconnectAttempts: number;
}

export interface GuildPlayerHooks {
  /** A message for the guild's users (posted in `textChannelId`); must not throw. */
  notice(textChannelId: string | undefined, text: string): void;
  /** The player tore down; forget it. */
  closed(reason: CloseReason): void;
  log(level: 'debug' | 'info' | 'warn', message: string, fields?: object): void;
}

export class GuildPlayer {
  private connection: VoiceConnection | undefined;
  private readonly audio: AudioPlayer;
  private readonly waiting: Track[] = [];
  private current: Track | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private recovering = false;
  private closed = false;
  /** Serializes enqueue() so two /play at once share one connection attempt. */
  private pending: Promise<unknown> = Promise.resolve();
  /** The channel the last notice about the connection should go to. */
  private noticeChannelId: string | undefined;

  constructor(
    readonly guildId: string,
    private readonly adapterCreator: DiscordGatewayAdapterCreator,
    private readonly timings: PlayerTimings,
    private readonly hooks: GuildPlayerHooks,
  ) {
    // Pause (not stop) without a ready connection: audio resumes where it was after a reconnect.
    this.audio = createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Pause } });
    this.audio.on('stateChange', (from, to) => this.onPlayerState(from, to));
    this.audio.on('error', (error) => {
      const track = error.resource.metadata as Track | undefined;
      hooks.log('warn', 'voice track failed', { guildId, track: track?.title, error });
      hooks.notice(track?.textChannelId, `I could not play **${track?.title ?? 'that track'}** (its audio file is unreadable); skipping it.`);
    });
  }

  /** The voice channel the player is in (or joining), if any. */
  get channelId(): string | undefined {
    return this.closed ? undefined : (this.connection?.joinConfig.channelId ?? undefined);
  }

  get nowPlaying(): Track | undefined {
    return this.current;
  }

  get queue(): readonly Track[] {
    return [...this.waiting];
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True when nothing plays and nothing waits (so the player may move to another channel). */
  get isIdle(): boolean {
    return this.current === undefined && this.waiting.length === 0;
  }

  /**
   * Joins `channelId` if needed, then plays `track` now or queues it.
   * @throws MotifError VOICE_UNAVAILABLE when the connection fails after the bounded attempts
   *   (the player is closed then, unless it was already playing).
   */
  enqueue(channelId: string, track: Track): Promise<EnqueueResult> {
    const run = this.pending.then(() => this.enqueueNow(channelId, track));
    this.pending = run.catch(() => undefined);
    return run;
  }

  /** Stops the current track; the next one (if any) starts. Returns what was skipped. */
  skip(): Track | undefined {
    const skipped = this.current;
    if (skipped) this.audio.stop(true);
    return skipped;
  }

  /** Clears the queue and stops playing; stays in the channel until the idle timeout. Returns how many tracks were dropped. */
  stop(): number {
    const dropped = this.waiting.length + (this.current ? 1 : 0);
    this.waiting.length = 0;
    this.audio.stop(true);
    return dropped;
  }

  /** Leaves the voice channel and closes the player. Idempotent. */
  leave(reason: CloseReason = 'left'): void {
    if (this.closed) return;
    this.closed = true;
    this.clearIdleTimer();
    this.waiting.length = 0;
    this.current = undefined;
    this.audio.stop(true);
    const connection = this.connection;
    this.connection = undefined;
    if (connection && connection.state.status !== VoiceConnectionStatus.Destroyed) connection.destroy();
    this.hooks.log('info', 'left voice', { guildId: this.guildId, reason });
    this.hooks.closed(reason);
  }

  private async enqueueNow(channelId: string, track: Track): Promise<EnqueueResult> {
    if (this.closed) throw new MotifError('VOICE_UNAVAILABLE', 'The player just closed; please try again.');
    this.noticeChannelId = track.textChannelId ?? this.noticeChannelId;
    this.clearIdleTimer();
    await this.connect(channelId);
    if (this.current === undefined) {
      this.start(track);
      return { position: 0, startedNow: true };
    }
    this.waiting.push(track);
    return { position: this.waiting.length, startedNow: false };
  }

  /** Makes sure the connection is Ready in `channelId`, with bounded attempts. */
  private async connect(channelId: string): Promise<void> {
    const existing = this.connection;
    if (existing && existing.joinConfig.channelId === channelId && existing.state.status === VoiceConnectionStatus.Ready) return;
    const connection = existing ?? this.createConnection(channelId);
    if (existing && existing.joinConfig.channelId !== channelId) existing.rejoin({ channelId, selfDeaf: true, selfMute: false });
    for (let attempt = 0; attempt <= this.timings.maxReconnectAttempts; attempt++) {
      if (attempt > 0) connection.rejoin();
      try {
        await entersState(connection, VoiceConnectionStatus.Ready, this.timings.connectTimeoutMs);
        return;
      } catch {
        if (this.closed || connection.state.status === VoiceConnectionStatus.Destroyed) break;
        this.hooks.log('warn', 'voice connect attempt timed out', { guildId: this.guildId, attempt: attempt + 1 });
      }
    }
    const tries = this.timings.maxReconnectAttempts + 1;
    // A player that was already playing keeps its queue only if its old connection still works,
    // which it does not here: close it, so the guild starts clean.
    this.leave('connect-failed');
    throw new MotifError('VOICE_UNAVAILABLE', `I could not connect to the voice channel (tried ${tries} times). Please try again in a moment.`);
  }

  private createConnection(channelId: string): VoiceConnection {
    const connection = joinVoiceChannel({
      channelId,
      guildId: this.guildId,
      adapterCreator: this.adapterCreator,
      selfDeaf: true,
      selfMute: false,
    });
    this.connection = connection;
    connection.on('error', (error) => this.hooks.log('warn', 'voice connection error', { guildId: this.guildId, error }));
    connection.on('stateChange', (from, to) => this.onConnectionState(connection, from, to));
    connection.subscribe(this.audio);
    return connection;
  }

  private onConnectionState(connection: VoiceConnection, from: VoiceConnectionState, to: VoiceConnectionState): void {
    if (connection !== this.connection || this.closed) return;
    this.hooks.log('debug', 'voice connection state', { guildId: this.guildId, from: from.status, to: to.status });
    if (to.status === VoiceConnectionStatus.Destroyed) {
      this.leave('connection-lost');
    } else if (from.status === VoiceConnectionStatus.Ready && to.status !== VoiceConnectionStatus.Ready) {
      // 4014: a moderator disconnected the bot (or moved it, then Connecting follows): never force our way back.
      const kicked = to.status === VoiceConnectionStatus.Disconnected && to.reason === VoiceConnectionDisconnectReason.WebSocketClose && to.closeCode === 4014;
      void this.recover(connection, { rejoin: !kicked });
    }
  }

  /**
   * After a drop: give the library's own resume/rejoin one timeout, then rejoin up to
   * maxReconnectAttempts times; if still not Ready, say so and close.
   */
  private async recover(connection: VoiceConnection, opts: { rejoin: boolean }): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      const attempts = opts.rejoin ? this.timings.maxReconnectAttempts : 0;
      for (let attempt = 0; attempt <= attempts; attempt++) {
        if (attempt > 0) {
          this.hooks.log('warn', 'voice connection lost; rejoining', { guildId: this.guildId, attempt });
          connection.rejoin();
        }
        try {
          await entersState(connection, VoiceConnectionStatus.Ready, this.timings.connectTimeoutMs);
          this.hooks.log('info', 'voice connection recovered', { guildId: this.guildId, attempt });
          return;
        } catch {
          if (this.closed || connection !== this.connection || connection.state.status === VoiceConnectionStatus.Destroyed) return;
        }
      }
      const channel = this.channelId ? `<#${this.channelId}>` : 'the voice channel';
      this.hooks.notice(
        this.current?.textChannelId ?? this.noticeChannelId,
        opts.rejoin
          ? `I lost the connection to ${channel} and could not reconnect (${attempts} tries), so playback stopped. Use /play to start again.`
          : `I was disconnected from ${channel}, so playback stopped.`,
      );
      this.leave('connection-lost');
    } finally {
      this.recovering = false;
    }
  }

  private start(track: Track): void {
    this.current = track;
    // A file stream typed OggOpus is demuxed by prism-media and sent packet for packet: no FFmpeg, no Opus encoder.
    const resource = createAudioResource(createReadStream(track.oggPath), { inputType: StreamType.OggOpus, metadata: track });
    this.audio.play(resource);
  }

  private onPlayerState(from: AudioPlayerState, to: AudioPlayerState): void {
    if (to.status !== AudioPlayerStatus.Idle || from.status === AudioPlayerStatus.Idle || this.closed) return;
    this.current = undefined;
    const next = this.waiting.shift();
    if (next) this.start(next);
    else this.armIdleTimer();
  }

  private armIdleTimer(): void {
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => this.leave('idle'), this.timings.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
