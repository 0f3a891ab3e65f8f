/**
 * The VoiceService with a real discord.js client against the local Discord-protocol server: the
 * voice-state handshake, the audio that reaches the voice endpoint, the queue, permissions, a
 * dropped connection, and the ways the player leaves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Events, type Client, type Guild, type VoiceBasedChannel } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../../src/bot/client.js';
import { MotifError } from '../../../src/errors.js';
import type { Track } from '../../../src/bot/voice/guild-player.js';
import { readOggOpusPackets } from '../../../src/audio/ogg-opus.js';
import { VoiceService } from '../../../src/bot/voice/voice-service.js';
import { Permission, startDiscordServer, type DiscordTestServer } from '../../support/discord-server/index.js';
import { renderClip, type RenderedClip } from '../../support/voice-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'motif-voice-service-'));
let server: DiscordTestServer;
let client: Client;
let service: VoiceService;
let clip: RenderedClip;
let clipPackets: Buffer[];

beforeAll(async () => {
  server = await startDiscordServer();
  client = createClient({ discordApiUrl: server.apiUrl });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(server.token);
  await ready;
  clip = await renderClip(root, 'clip');
  clipPackets = (await readOggOpusPackets(clip.oggPath)).packets;
  service = new VoiceService(client, { idleTimeoutSeconds: 600, connectTimeoutMs: 1500, maxReconnectAttempts: 2, emptyChannelGraceMs: 0 });
});

afterAll(async () => {
  await service?.destroy();
  await client?.destroy();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

function guildAt(index: number): Guild {
  return client.guilds.cache.get(server.guilds[index]!.id)!;
}

function voiceChannelOf(guild: Guild): VoiceBasedChannel {
  const fake = server.guilds.find((g) => g.id === guild.id)!;
  return guild.channels.cache.get(fake.voiceChannel.id) as VoiceBasedChannel;
}

function track(title: string, guild: Guild): Track {
  const fake = server.guilds.find((g) => g.id === guild.id)!;
  return { oggPath: clip.oggPath, title, requesterId: server.users.member.id, textChannelId: fake.textChannel.id };
}

/** Polls `check` until it holds (client caches update on gateway events). */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function memberJoinsVoice(guild: Guild): Promise<void> {
  server.joinVoice(server.users.member, { guildId: guild.id });
  await until(() => guild.voiceStates.cache.get(server.users.member.id)?.channelId != null, 'the member in voice');
}

async function untilTrackEnds(guild: Guild): Promise<void> {
  await until(() => service.nowPlaying(guild.id) === undefined, 'the track to end', 30_000);
}

describe('VoiceService against the local Discord server', () => {
  it('GIVEN a member in voice WHEN a stored clip is enqueued THEN the server answers the voice-state request and its voice endpoint receives every Opus packet of the file, in order', async () => {
    const guild = guildAt(0);
    await memberJoinsVoice(guild);
    const result = await service.enqueue(guild.id, voiceChannelOf(guild), track('clip A', guild));
    expect(result).toEqual({ position: 0, startedNow: true });
    expect(server.voiceStateRequests.at(-1)).toMatchObject({ guild_id: guild.id, channel_id: voiceChannelOf(guild).id, self_mute: false });
    expect(server.botVoiceChannelId(guild.id)).toBe(voiceChannelOf(guild).id);

    const packets = await server.voice!.waitForSpeakingStopped(guild.id);
    expect(packets.map((p) => p.opus)).toEqual(clipPackets);
    const sequences = packets.map((p) => p.sequence);
    expect(sequences.slice(1).every((s, i) => s === ((sequences[i]! + 1) & 0xffff))).toBe(true);
    const receivedSeconds = packets.length * 0.02;
    expect(Math.abs(receivedSeconds - clip.durationSeconds) / clip.durationSeconds).toBeLessThanOrEqual(0.1);
    expect(server.voice!.rejectedPackets).toEqual([]);
    expect(server.voice!.connections.at(-1)).toMatchObject({ version: 8, mode: 'aead_aes256_gcm_rtpsize' });
    await untilTrackEnds(guild);
  });

  it('GIVEN a track playing WHEN two more are enqueued THEN they queue with positions 1 and 2, skip moves on and stop clears the rest', async () => {
    const guild = guildAt(0);
    const channel = voiceChannelOf(guild);
    expect(await service.enqueue(guild.id, channel, track('first', guild))).toEqual({ position: 0, startedNow: true });
    expect(await service.enqueue(guild.id, channel, track('second', guild))).toEqual({ position: 1, startedNow: false });
    expect(await service.enqueue(guild.id, channel, track('third', guild))).toEqual({ position: 2, startedNow: false });
    expect(service.nowPlaying(guild.id)?.title).toBe('first');
    expect(service.queue(guild.id).map((t) => t.title)).toEqual(['second', 'third']);
    expect(service.skip(guild.id)?.title).toBe('first');
    await until(() => service.nowPlaying(guild.id)?.title === 'second', 'the second track to start');
    expect(service.stop(guild.id)).toBe(2);
    await untilTrackEnds(guild);
    expect(service.queue(guild.id)).toEqual([]);
  });

  it.each([
    ['Connect', Permission.Connect],
    ['Speak', Permission.Speak],
  ])('GIVEN the bot is denied %s in the channel WHEN a track is enqueued THEN VOICE_UNAVAILABLE names it, and once allowed it plays', async (name, bit) => {
    const guild = guildAt(0);
    const channel = voiceChannelOf(guild);
    const me = guild.members.me!;
    server.setChannelOverwrites(channel.id, [{ id: server.botUser.id, type: 1, allow: 0n, deny: bit }]);
    await until(() => !channel.permissionsFor(me)!.has(bit), `${name} to be denied`);
    const error = await service.enqueue(guild.id, channel, track('denied', guild)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotifError);
    expect((error as MotifError).code).toBe('VOICE_UNAVAILABLE');
    expect((error as MotifError).userMessage).toContain(`**${name}**`);
    server.setChannelOverwrites(channel.id, []);
    await until(() => channel.permissionsFor(me)!.has(bit), `${name} to be allowed`);
    expect((await service.enqueue(guild.id, channel, track('allowed', guild))).startedNow).toBe(true);
    service.stop(guild.id);
    await untilTrackEnds(guild);
  });

  it('GIVEN a track playing WHEN the voice server drops the connection resumably (4015) THEN the bot resumes and plays on to the end', async () => {
    const guild = guildAt(0);
    const before = server.voice!.packetsFor(guild.id).length;
    await service.enqueue(guild.id, voiceChannelOf(guild), track('resumed', guild));
    await server.voice!.waitForPackets(guild.id, before + 20);
    server.voice!.drop(guild.id, 4015);
    await untilTrackEnds(guild);
    const connection = server.voice!.connections.at(-1)!;
    expect(connection.resumed).toBe(true);
    const received = server.voice!.packetsFor(guild.id).slice(before).map((p) => p.opus);
    expect(received).toEqual(clipPackets);
  });

  it('GIVEN the voice server drops the connection and Discord stops answering WHEN the bounded rejoins fail THEN the channel is told, the player closes, and a later play works', async () => {
    const guild = guildAt(0);
    const textChannelId = server.guilds[0]!.textChannel.id;
    await service.enqueue(guild.id, voiceChannelOf(guild), track('doomed', guild));
    const requestsBefore = server.voiceStateRequests.length;
    server.answerVoiceStateUpdates = false;
    server.voice!.drop(guild.id, 4006);
    const notice = await server.waitForChannelMessage((m) => m.channelId === textChannelId && m.content.includes('lost the connection'), 20_000);
    expect(notice.content).toBe(`I lost the connection to <#${voiceChannelOf(guild).id}> and could not reconnect (2 tries), so playback stopped. Use /play to start again.`);
    // The library's own rejoin plus our two, then the leave: bounded.
    expect(server.voiceStateRequests.length - requestsBefore).toBeLessThanOrEqual(4);
    expect(service.nowPlaying(guild.id)).toBeUndefined();
    server.answerVoiceStateUpdates = true;
    expect(await service.enqueue(guild.id, voiceChannelOf(guild), track('after', guild))).toEqual({ position: 0, startedNow: true });
    service.stop(guild.id);
    await untilTrackEnds(guild);
  });

  it('GIVEN Discord never answers the join WHEN a track is enqueued THEN VOICE_UNAVAILABLE after the bounded tries, and nothing is left behind', async () => {
    const guild = guildAt(0);
    service.leave(guild.id);
    server.answerVoiceStateUpdates = false;
    try {
      const error = await service.enqueue(guild.id, voiceChannelOf(guild), track('never', guild)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'VOICE_UNAVAILABLE', userMessage: 'I could not connect to the voice channel (tried 3 times). Please try again in a moment.' });
      expect(service.nowPlaying(guild.id)).toBeUndefined();
    } finally {
      server.answerVoiceStateUpdates = true;
    }
    expect((await service.enqueue(guild.id, voiceChannelOf(guild), track('again', guild))).startedNow).toBe(true);
    service.stop(guild.id);
    await untilTrackEnds(guild);
  });

  it('GIVEN the last listener leaves the channel THEN the bot leaves voice', async () => {
    const guild = guildAt(0);
    await service.enqueue(guild.id, voiceChannelOf(guild), track('alone', guild));
    server.leaveVoice(server.users.member, { guildId: guild.id });
    // The server records the request before it applies it: wait for the applied state, then check the request.
    await until(() => server.botVoiceChannelId(guild.id) === null && service.nowPlaying(guild.id) === undefined, 'the bot to leave');
    expect(server.voiceStateRequests.some((r) => r.guild_id === guild.id && r.channel_id === null)).toBe(true);
  });

  it('GIVEN the queue has ended WHEN the idle time passes THEN the bot leaves voice', async () => {
    const guild = guildAt(1);
    const idle = new VoiceService(client, { idleTimeoutSeconds: 1, connectTimeoutMs: 1500, maxReconnectAttempts: 1, emptyChannelGraceMs: 60_000 });
    try {
      await memberJoinsVoice(guild);
      await idle.enqueue(guild.id, voiceChannelOf(guild), track('short', guild));
      await until(() => server.botVoiceChannelId(guild.id) === null, 'the idle leave', 20_000);
      expect(idle.nowPlaying(guild.id)).toBeUndefined();
      expect(server.voice!.packetsFor(guild.id).length).toBe(clipPackets.length);
    } finally {
      await idle.destroy();
    }
  });
});
