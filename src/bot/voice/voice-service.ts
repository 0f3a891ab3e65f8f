/**
 * Voice playback for the bot: one GuildPlayer per guild, created on the first /play and forgotten
 * when it closes. Checks what can be checked before joining (caller in voice, the bot's Connect
 * and Speak permissions, a busy player elsewhere) so that failures are clear messages, not hangs.
 */
import {
  Events,
  MessageFlags,
  PermissionFlagsBits,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Client,
  type Interaction,
  type VoiceBasedChannel,
  type VoiceState,
} from 'discord.js';
import type { VoiceService as BotVoiceService } from '../context.js';
import type { Logger } from '../../util/logger.js';
import { describeError, NO_MENTIONS } from '../replies.js';
import { MotifError } from '../../errors.js';
import type { ResultRecord } from '../../storage/index.js';
import { GuildPlayer, type CloseReason, type EnqueueResult, type Track } from './guild-player.js';
import { ensureVoiceAudio, type VoiceAudio, type VoiceAudioSource, type VoiceRenderSettings } from '../../audio/voice-audio.js';

export interface VoiceServiceOptions {
  /** Leave after this long with nothing playing, seconds (≥ 1). */
  idleTimeoutSeconds: number;
  /** One connection attempt may take this long, ms (default 15 000). */
  connectTimeoutMs?: number;
  /** Rejoins after a dropped connection before giving up (default 3). */
  maxReconnectAttempts?: number;
  /** Leave this long after the last listener left the channel, ms (default 15 000; 0 = at once). */
  emptyChannelGraceMs?: number;
  /** How to render a result's voice audio when it has none yet (SoundFont, ffmpeg). */
  renderSettings?: (guildId: string) => Promise<VoiceRenderSettings> | VoiceRenderSettings;
  /**
   * Gets a result's voice audio, rendering it when missing. Default: {@link ensureVoiceAudio} in this
   * thread; the bot passes one that renders in a queued worker job on behalf of `requester`.
   */
  prepareAudio?: (source: VoiceAudioSource, settings: VoiceRenderSettings, requester: VoiceRequester) => Promise<VoiceAudio>;
  logger?: Logger;
}

/** Who asked for a play, for queue limits and reports. */
export interface VoiceRequester {
  guildId: string;
  userId: string;
  channelId?: string;
  /** Called once when the render has to wait in the job queue, with the jobs ahead of it. */
  onWaiting?: (jobsAhead: number) => void;
}

/** The player controls /skip, /stop and /leave use, besides the bot's playResult hook. */
export interface VoiceControls extends BotVoiceService {
  enqueue(guildId: string, voiceChannel: VoiceBasedChannel, track: Track): Promise<EnqueueResult>;
  skip(guildId: string): Track | undefined;
  stop(guildId: string): number;
  leave(guildId: string): boolean;
  nowPlaying(guildId: string): Track | undefined;
  queue(guildId: string): readonly Track[];
  /** @throws MotifError NOT_FOUND (nothing playing) or NOT_IN_VOICE (caller elsewhere). */
  assertCanControl(interaction: Interaction): void;
}

const NOOP_LOGGER: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export class VoiceService implements VoiceControls {
  private readonly players = new Map<string, GuildPlayer>();
  private readonly emptyTimers = new Map<string, NodeJS.Timeout>();
  private readonly logger: Logger;
  private readonly onVoiceStateUpdate = (oldState: VoiceState, newState: VoiceState): void => this.checkListeners(newState.guild.id, oldState);
  private destroyed = false;

  constructor(
    private readonly client: Client,
    private readonly options: VoiceServiceOptions,
  ) {
    this.logger = options.logger ?? NOOP_LOGGER;
    client.on(Events.VoiceStateUpdate, this.onVoiceStateUpdate);
  }

  /**
   * Joins `voiceChannel` (if needed) and plays `track` now or queues it.
   * @throws MotifError VOICE_UNAVAILABLE (missing Connect/Speak/View Channel, full channel, connection
   *   failed after retries), NOT_IN_VOICE (the player is busy in another channel).
   */
  async enqueue(guildId: string, voiceChannel: VoiceBasedChannel, track: Track): Promise<EnqueueResult> {
    if (this.destroyed) throw new MotifError('VOICE_UNAVAILABLE', 'Voice playback is shutting down.');
    assertBotCanPlayIn(voiceChannel);
    const player = this.playerFor(voiceChannel);
    return await player.enqueue(voiceChannel.id, track);
  }

  skip(guildId: string): Track | undefined {
    return this.players.get(guildId)?.skip();
  }

  stop(guildId: string): number {
    return this.players.get(guildId)?.stop() ?? 0;
  }

  /** @returns false when the bot was not in voice in this guild. */
  leave(guildId: string): boolean {
    const player = this.players.get(guildId);
    player?.leave('left');
    return player !== undefined;
  }

  nowPlaying(guildId: string): Track | undefined {
    return this.players.get(guildId)?.nowPlaying;
  }

  queue(guildId: string): readonly Track[] {
    return this.players.get(guildId)?.queue ?? [];
  }

  assertCanControl(interaction: Interaction): void {
    const player = interaction.guildId ? this.players.get(interaction.guildId) : undefined;
    if (!player?.channelId) throw new MotifError('NOT_FOUND', 'I am not playing anything in voice on this server.');
    const callerChannelId = interaction.guild?.voiceStates.cache.get(interaction.user.id)?.channelId;
    if (callerChannelId !== player.channelId) {
      throw new MotifError('NOT_IN_VOICE', `Join <#${player.channelId}> to control the music playing there.`);
    }
  }

  /**
   * The bot's hook (Play button, /play, /compose play:true): renders the result's voice audio if it
   * has none (once), joins the caller's channel and plays or queues it, and answers the interaction.
   * Already-answered interactions (compose results) get follow-ups, and their errors are answered
   * here so the result message stays.
   * @throws MotifError NOT_IN_VOICE, VOICE_UNAVAILABLE, FFMPEG_FAILED, … (only for unanswered interactions).
   */
  async playResult(interaction: ChatInputCommandInteraction | ButtonInteraction, result: ResultRecord): Promise<void> {
    const answered = interaction.deferred || interaction.replied;
    try {
      const asked = callerVoiceChannel(interaction);
      assertBotCanPlayIn(asked);
      this.assertPlayerFree(asked);
      // Rendering (first play of an old result) and connecting can outlast Discord's 3 s.
      if (!answered) await interaction.deferReply();
      const settings = (await this.options.renderSettings?.(asked.guild.id)) ?? {};
      const requester: VoiceRequester = {
        guildId: asked.guild.id,
        userId: interaction.user.id,
        ...(interaction.channelId ? { channelId: interaction.channelId } : {}),
        // A render queued behind other jobs says so instead of "thinking…" with no end in sight.
        onWaiting: (ahead) => {
          const content = `Preparing the voice audio: ${ahead} job${ahead === 1 ? '' : 's'} ahead of it in the queue.`;
          const shown = answered
            ? interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS })
            : interaction.editReply({ content, allowedMentions: NO_MENTIONS });
          shown.catch((error: unknown) => this.logger.debug('could not show the voice queue position', { error }));
        },
      };
      const prepare = this.options.prepareAudio ?? ((source: VoiceAudioSource, renderSettings: VoiceRenderSettings) => ensureVoiceAudio(source, renderSettings));
      const audio = await prepare(result, settings, requester);
      // Preparing may have waited: play where the caller is now, or nowhere if they left.
      const channel = callerVoiceChannel(interaction);
      assertBotCanPlayIn(channel);
      this.assertPlayerFree(channel);
      const track: Track = {
        oggPath: audio.oggPath,
        title: trackTitle(result),
        requesterId: interaction.user.id,
        textChannelId: interaction.channelId ?? undefined,
        resultId: result.id,
      };
      const { position, startedNow } = await this.enqueue(channel.guild.id, channel, track);
      const content = startedNow
        ? `Playing **${track.title}** in <#${channel.id}>.`
        : `Queued **${track.title}** in <#${channel.id}> at position ${position} (${position === 1 ? 'next up' : `${position - 1} ahead of it`}).`;
      if (answered) await interaction.followUp({ content, allowedMentions: NO_MENTIONS });
      else await interaction.editReply({ content, allowedMentions: NO_MENTIONS });
    } catch (error) {
      if (!answered) throw error;
      const text = describeError(error, this.logger, { guildId: interaction.guildId, what: 'play in voice' });
      await interaction.followUp({ content: text, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    }
  }

  /** Leaves every voice channel and stops listening to the client. Idempotent. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    this.client.off(Events.VoiceStateUpdate, this.onVoiceStateUpdate);
    for (const timer of this.emptyTimers.values()) clearTimeout(timer);
    this.emptyTimers.clear();
    for (const player of [...this.players.values()]) player.leave('destroyed');
    this.players.clear();
  }

  /** A busy player stays where it is; an idle one may follow the caller to another channel. */
  private assertPlayerFree(channel: VoiceBasedChannel): void {
    const player = this.players.get(channel.guild.id);
    if (player?.channelId && player.channelId !== channel.id && !player.isIdle) {
      throw new MotifError('NOT_IN_VOICE', `I am already playing in <#${player.channelId}>. Join that channel to add music to its queue.`);
    }
  }

  private playerFor(channel: VoiceBasedChannel): GuildPlayer {
    const guildId = channel.guild.id;
    this.assertPlayerFree(channel);
    const existing = this.players.get(guildId);
    if (existing && !existing.isClosed) return existing;
    // The guild's own adapter sends op 4 on the gateway shard that carries the guild (guild.shard), and its
    // VOICE_STATE/SERVER_UPDATEs come back on that shard: with `npm run start:sharded` voice stays in the
    // process of the guild's shard, and nothing here assumes shard 0.
    const player: GuildPlayer = new GuildPlayer(
      guildId,
      channel.guild.voiceAdapterCreator,
      {
        idleTimeoutMs: this.options.idleTimeoutSeconds * 1000,
        connectTimeoutMs: this.options.connectTimeoutMs ?? 15_000,
        maxReconnectAttempts: this.options.maxReconnectAttempts ?? 3,
      },
      {
        notice: (textChannelId, text) => void this.notice(textChannelId, text),
        closed: (reason) => this.forget(player, reason),
        log: (level, message, fields) => this.logger[level](message, fields),
      },
    );
    this.players.set(guildId, player);
    return player;
  }

  private forget(player: GuildPlayer, reason: CloseReason): void {
    if (this.players.get(player.guildId) === player) this.players.delete(player.guildId);
    const timer = this.emptyTimers.get(player.guildId);
    if (timer) clearTimeout(timer);
    this.emptyTimers.delete(player.guildId);
    this.logger.debug('voice player closed', { guildId: player.guildId, reason });
  }

  /** Leaves (after a grace period) when no human is left in the bot's channel. */
  private checkListeners(guildId: string, _previous: VoiceState): void {
    const player = this.players.get(guildId);
    const channelId = player?.channelId;
    if (!player || !channelId) return;
    const channel = this.client.guilds.cache.get(guildId)?.channels.cache.get(channelId);
    const listeners = channel?.isVoiceBased() ? channel.members.filter((m) => !m.user.bot).size : 0;
    const timer = this.emptyTimers.get(guildId);
    if (listeners > 0) {
      if (timer) clearTimeout(timer);
      this.emptyTimers.delete(guildId);
      return;
    }
    if (timer) return;
    const leave = (): void => {
      this.emptyTimers.delete(guildId);
      if (this.players.get(guildId) === player) player.leave('channel-empty');
    };
    const grace = this.options.emptyChannelGraceMs ?? 15_000;
    if (grace <= 0) {
      leave();
      return;
    }
    const armed = setTimeout(leave, grace);
    armed.unref();
    this.emptyTimers.set(guildId, armed);
  }

  private async notice(textChannelId: string | undefined, text: string): Promise<void> {
    if (!textChannelId) return;
    try {
      const channel = await this.client.channels.fetch(textChannelId);
      if (channel?.isSendable()) await channel.send({ content: text, allowedMentions: NO_MENTIONS });
    } catch (error) {
      this.logger.warn('could not post a voice notice', { textChannelId, error });
    }
  }
}

/**
 * The voice channel the interaction's user is in.
 * @throws MotifError NOT_IN_VOICE.
 */
export function callerVoiceChannel(interaction: Interaction): VoiceBasedChannel {
  const channel = interaction.guild?.voiceStates.cache.get(interaction.user.id)?.channel;
  if (!channel) throw new MotifError('NOT_IN_VOICE', 'Join a voice channel first, then try again.');
  return channel;
}

const REQUIRED_PERMISSIONS = [
  [PermissionFlagsBits.ViewChannel, 'View Channel'],
  [PermissionFlagsBits.Connect, 'Connect'],
  [PermissionFlagsBits.Speak, 'Speak'],
] as const;

/**
 * @throws MotifError VOICE_UNAVAILABLE naming the missing permissions, or when the channel is full.
 */
export function assertBotCanPlayIn(channel: VoiceBasedChannel): void {
  const me = channel.guild.members.me;
  const permissions = me ? channel.permissionsFor(me) : null;
  const missing = REQUIRED_PERMISSIONS.filter(([bit]) => !permissions?.has(bit)).map(([, name]) => `**${name}**`);
  if (missing.length > 0) {
    throw new MotifError('VOICE_UNAVAILABLE', `I need the ${missing.join(' and ')} permission${missing.length > 1 ? 's' : ''} in <#${channel.id}> to play there. Ask a server admin.`);
  }
  if (channel.full && !permissions?.has(PermissionFlagsBits.MoveMembers)) {
    throw new MotifError('VOICE_UNAVAILABLE', `<#${channel.id}> is full.`);
  }
}

/** "result 3fa2c1d0 (C major, 0:42)". */
export function trackTitle(result: Pick<ResultRecord, 'id' | 'keyGuess' | 'durationSeconds'>): string {
  const seconds = Math.max(0, Math.round(result.durationSeconds));
  const length = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  return `result ${result.id} (${result.keyGuess}, ${length})`;
}
