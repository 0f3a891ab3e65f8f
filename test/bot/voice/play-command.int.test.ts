/**
 * /play, /skip, /stop and /leave end to end: the real bot (startBot, real storage and router) with
 * the voice service, driven through the local Discord-protocol server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VoiceBasedChannel } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as leave } from '../../../commands/leave.js';
import { command as play } from '../../../commands/play.js';
import { command as skip } from '../../../commands/skip.js';
import { command as stop } from '../../../commands/stop.js';
import { createLogger } from '../../../src/util/logger.js';
import { startBot, type BotHandle } from '../../../src/bot/start.js';
import { loadConfig } from '../../../src/config.js';
import { guildPaths } from '../../../src/storage/index.js';
import { createVoiceService } from '../../../src/bot/voice/index.js';
import { readOggOpusPackets } from '../../../src/audio/ogg-opus.js';
import { Permission, startDiscordServer, type DiscordTestServer, type SentInteraction } from '../../support/discord-server/index.js';
import { renderClip, resultRecord, type RenderedClip } from '../../support/voice-fixtures.js';

const EPHEMERAL = 64;
const LOADING = 128;

let server: DiscordTestServer;
let bot: BotHandle;
let dataDir: string;
let guildId: string;
let voiceChannelId: string;
let clip: RenderedClip;
const logLines: string[] = [];

beforeAll(async () => {
  server = await startDiscordServer();
  dataDir = mkdtempSync(join(tmpdir(), 'motif-voice-e2e-'));
  guildId = server.guild.id;
  voiceChannelId = server.guild.voiceChannel.id;
  const config = loadConfig({
    DISCORD_TOKEN: server.token,
    DISCORD_CLIENT_ID: server.applicationId,
    DISCORD_API_URL: server.apiUrl,
    DATA_DIR: dataDir,
    // Results composed without voice audio need ffmpeg to get it: this bot has none.
    FFMPEG_PATH: join(dataDir, 'no-ffmpeg-here'),
    LOG_LEVEL: 'warn',
  });
  bot = await startBot(config, {
    warmUp: false,
    logger: createLogger('warn', (line) => logLines.push(line)),
    commands: [play, skip, stop, leave],
    createVoice: (client, ctx) => createVoiceService(client, ctx, { connectTimeoutMs: 1500, maxReconnectAttempts: 2, emptyChannelGraceMs: 0 }),
  });
  await server.waitForReady();
  const resultsDir = guildPaths(dataDir, guildId).resultsDir;
  clip = await renderClip(join(resultsDir, 'r1'), 'motif-r1');
  const withoutOgg = await renderClip(join(resultsDir, 'r0'), 'motif-r0');
  await bot.ctx.storage.results.add(resultRecord(guildId, 'r0', join(resultsDir, 'r0'), withoutOgg, undefined, { opusPath: undefined }));
  rmSync(withoutOgg.oggPath);
  await bot.ctx.storage.results.add(resultRecord(guildId, 'r1', join(resultsDir, 'r1'), clip));
});

afterAll(async () => {
  await bot?.stop();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * The private (ephemeral) answer to `i`: an ephemeral reply, or — after a public defer — the
 * deleted "thinking…" message plus an ephemeral follow-up (read from the webhook request the bot
 * sent, because the test server lets that follow-up fill the deleted message; see the report).
 */
async function privateAnswer(i: SentInteraction): Promise<string> {
  const followUpPath = `/webhooks/${server.applicationId}/${i.token}`;
  const ephemeralFollowUp = (): { content: string; allowedMentions: unknown } | undefined => {
    const request = server.requests.find((r) => r.method === 'POST' && r.path === followUpPath && (Number(r.body?.flags ?? 0) & EPHEMERAL) !== 0);
    return request ? { content: String(request.body?.content ?? ''), allowedMentions: request.body?.allowed_mentions } : undefined;
  };
  const r = await server.waitForInteractionResponse(
    i,
    (res) => (res.message !== null && (res.message.flags & EPHEMERAL) !== 0 && res.message.content.length > 0) || (res.message?.deleted === true && ephemeralFollowUp() !== undefined),
    30_000,
  );
  const answer = r.message?.deleted ? ephemeralFollowUp()! : { content: r.message!.content, allowedMentions: r.message!.allowedMentions };
  expect(answer.allowedMentions).toMatchObject({ parse: [] });
  return answer.content;
}

/** The public answer to `i` (a reply, or the edit of a deferred reply). */
async function publicAnswer(i: SentInteraction): Promise<string> {
  const r = await server.waitForInteractionResponse(i, (res) => res.message !== null && (res.message.flags & (EPHEMERAL | LOADING)) === 0 && res.message.content.length > 0, 30_000);
  return r.message!.content;
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function botGuild() {
  return bot.client.guilds.cache.get(guildId)!;
}

describe('/play through the local Discord server', () => {
  it('GIVEN the caller is not in a voice channel WHEN /play THEN a private "join a voice channel" reply and no voice request', async () => {
    const before = server.voiceStateRequests.length;
    expect(await privateAnswer(server.sendSlashCommand({ name: 'play' }))).toBe('Join a voice channel first, then try again.');
    expect(server.voiceStateRequests.length).toBe(before);
  });

  it('GIVEN the caller in voice WHEN /play THEN the latest result plays: the reply says so and the voice endpoint gets the stored Opus packets in order', async () => {
    server.joinVoice(server.users.member);
    await until(() => botGuild().voiceStates.cache.get(server.users.member.id)?.channelId === voiceChannelId, 'the member in voice');
    const answer = await publicAnswer(server.sendSlashCommand({ name: 'play' }));
    expect(answer).toBe(`Playing **result r1 (C major, 0:03)** in <#${voiceChannelId}>.`);
    expect(server.voiceStateRequests.at(-1)).toMatchObject({ guild_id: guildId, channel_id: voiceChannelId });
    const packets = await server.voice!.waitForSpeakingStopped(guildId);
    const expected = (await readOggOpusPackets(clip.oggPath)).packets;
    expect(packets.map((p) => p.opus)).toEqual(expected);
    const sequences = packets.map((p) => p.sequence);
    expect(sequences.slice(1).every((s, i) => s === ((sequences[i]! + 1) & 0xffff))).toBe(true);
    expect(Math.abs(packets.length * 0.02 - clip.durationSeconds) / clip.durationSeconds).toBeLessThanOrEqual(0.1);
    expect(server.voice!.connections.at(-1)?.maxDaveProtocolVersion).toBeGreaterThanOrEqual(1);
  });

  it('GIVEN a result playing WHEN /play again THEN it is queued and the reply gives its position; /skip, /stop and /leave answer', async () => {
    expect(await publicAnswer(server.sendSlashCommand({ name: 'play', options: { result: 'r1' } }))).toMatch(/^Playing /);
    expect(await publicAnswer(server.sendSlashCommand({ name: 'play', options: { result: 'r1' } }))).toBe(
      `Queued **result r1 (C major, 0:03)** in <#${voiceChannelId}> at position 1 (next up).`,
    );
    expect(await publicAnswer(server.sendSlashCommand({ name: 'skip' }))).toBe('Skipped **result r1 (C major, 0:03)**. The queue is empty.');
    expect(await publicAnswer(server.sendSlashCommand({ name: 'stop' }))).toBe('Stopped; cleared 1 track.');
    expect(await publicAnswer(server.sendSlashCommand({ name: 'leave' }))).toBe('Left the voice channel.');
    await until(() => server.botVoiceChannelId(guildId) === null, 'the bot to leave');
    expect(await privateAnswer(server.sendSlashCommand({ name: 'skip' }))).toBe('I am not playing anything in voice on this server.');
  });

  it('GIVEN a result id that expired WHEN /play THEN a private NOT_FOUND reply', async () => {
    expect(await privateAnswer(server.sendSlashCommand({ name: 'play', options: { result: 'gone1234' } }))).toBe(
      'That result has expired or was deleted (only the most recent results are kept). Pick another one.',
    );
  });

  it.each([
    ['Connect', Permission.Connect],
    ['Speak', Permission.Speak],
  ])('GIVEN the bot lacks %s in the caller\'s channel WHEN /play THEN a private reply names the permission, and /play works again once granted', async (name, bit) => {
    const channel = botGuild().channels.cache.get(voiceChannelId) as VoiceBasedChannel;
    server.setChannelOverwrites(voiceChannelId, [{ id: server.guild.roles.bot.id, type: 0, allow: 0n, deny: bit }]);
    await until(() => !channel.permissionsFor(botGuild().members.me!)!.has(bit), 'the overwrite');
    expect(await privateAnswer(server.sendSlashCommand({ name: 'play' }))).toBe(
      `I need the **${name}** permission in <#${voiceChannelId}> to play there. Ask a server admin.`,
    );
    server.setChannelOverwrites(voiceChannelId, []);
    await until(() => channel.permissionsFor(botGuild().members.me!)!.has(bit), 'the overwrite removed');
    expect(await publicAnswer(server.sendSlashCommand({ name: 'play' }))).toMatch(/^Playing /);
    expect(await publicAnswer(server.sendSlashCommand({ name: 'stop' }))).toBe('Stopped; cleared 1 track.');
  });

  it('GIVEN a result without voice audio and no ffmpeg WHEN /play THEN a private ffmpeg message, and the player still plays other results', async () => {
    expect(await privateAnswer(server.sendSlashCommand({ name: 'play', options: { result: 'r0' } }))).toBe('The audio tool (ffmpeg) could not be found.');
    expect(await publicAnswer(server.sendSlashCommand({ name: 'play', options: { result: 'r1' } }))).toMatch(/^Playing /);
    expect(await publicAnswer(server.sendSlashCommand({ name: 'stop' }))).toBe('Stopped; cleared 1 track.');
  });

  it('GIVEN playback WHEN the voice connection drops for good THEN after the bounded rejoins the channel is told, and /play works again', async () => {
    expect(await publicAnswer(server.sendSlashCommand({ name: 'play' }))).toMatch(/^Playing /);
    server.answerVoiceStateUpdates = false;
    server.voice!.drop(guildId, 4006);
    const notice = await server.waitForChannelMessage((m) => m.content.includes('lost the connection'), 20_000);
    expect(notice.channelId).toBe(server.guild.textChannel.id);
    expect(notice.content).toBe(`I lost the connection to <#${voiceChannelId}> and could not reconnect (2 tries), so playback stopped. Use /play to start again.`);
    server.answerVoiceStateUpdates = true;
    expect(await publicAnswer(server.sendSlashCommand({ name: 'play' }))).toMatch(/^Playing /);
    expect(await publicAnswer(server.sendSlashCommand({ name: 'leave' }))).toBe('Left the voice channel.');
  });

  it('GIVEN recent results WHEN /play autocompletes THEN it offers them newest first', async () => {
    const choices = await server.waitForAutocomplete(server.autocomplete({ name: 'play', options: { result: '' }, focused: 'result' }));
    expect(choices.map((c) => c.value)).toEqual(['r1', 'r0']);
  });

  it('GIVEN the whole session THEN the bot logged no incident', () => {
    expect(logLines.filter((l) => l.includes('incident'))).toEqual([]);
  });
});
