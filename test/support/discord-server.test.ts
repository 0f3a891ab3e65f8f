import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AudioPlayerStatus,
  StreamType,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  entersState,
  joinVoiceChannel,
} from '@discordjs/voice';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Routes,
  SlashCommandBuilder,
  type Interaction,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordServer, type DiscordTestServer } from './discord-server/index.js';
import { hchacha20 } from './discord-server/voice-crypto.js';

/*
 * Tests of the harness itself: a bare discord.js client (no Motif code) talks to the fake Discord.
 * The handler below is the smallest bot that exercises every protocol path the real bot uses.
 */

const MIDI_HEADER = Buffer.from('4d546864000000060000000100600000', 'hex');

let server: DiscordTestServer;
let client: Client;
const handlerErrors: unknown[] = [];

async function onInteraction(interaction: Interaction): Promise<void> {
  if (interaction.isAutocomplete()) {
    const typed = interaction.options.getFocused();
    await interaction.respond([{ name: `seed-${typed}`, value: `seed-${typed}` }]);
    return;
  }
  if (interaction.isButton()) {
    await interaction.update({ content: `pressed ${interaction.customId}`, components: [] });
    return;
  }
  if (!interaction.isChatInputCommand()) return;
  if (interaction.commandName === 'echo') {
    await interaction.deferReply();
    const midi = interaction.options.getAttachment('midi');
    const length = interaction.options.getInteger('length') ?? 0;
    const temperature = interaction.options.getNumber('temperature') ?? 0;
    const downloaded = midi ? Buffer.from(await (await fetch(midi.url)).arrayBuffer()) : Buffer.alloc(0);
    await interaction.editReply({
      content: `length=${length} temperature=${temperature} downloaded=${sha(downloaded)}`,
      files: [{ attachment: Buffer.concat([MIDI_HEADER, downloaded]), name: 'echo.mid' }],
      components: [
        new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('again').setLabel('Again').setStyle(ButtonStyle.Primary),
        ),
      ],
    });
    await interaction.followUp({ content: 'follow-up', files: [{ attachment: Buffer.from('png?'), name: 'roll.png' }] });
    if (interaction.channel?.isSendable()) await interaction.channel.send({ content: 'channel post' });
    return;
  }
  if (interaction.commandName === 'upload') {
    // Reports the limit discord.js read from the payload, then tries a file of `length` bytes.
    await interaction.deferReply();
    const bytes = interaction.options.getInteger('length') ?? 0;
    try {
      await interaction.editReply({ content: `limit=${interaction.attachmentSizeLimit}`, files: [{ attachment: Buffer.alloc(bytes), name: 'big.bin' }] });
    } catch (error) {
      await interaction.editReply({ content: `limit=${interaction.attachmentSizeLimit} refused: ${(error as DiscordAPIError).status} ${(error as DiscordAPIError).code}` });
    }
    return;
  }
  if (interaction.commandName === 'twice') {
    await interaction.reply({ content: 'first', flags: MessageFlags.Ephemeral });
    try {
      // discord.js refuses a second reply locally, so go around it to reach the server's check.
      await client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), {
        body: { type: 4, data: { content: 'second' } },
        auth: false,
      });
    } catch (error) {
      await interaction.followUp({ content: `second reply refused: ${(error as DiscordAPIError).code}`, flags: MessageFlags.Ephemeral });
    }
  }
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

beforeAll(async () => {
  server = await startDiscordServer({ heartbeatIntervalMs: 500 });
  client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: server.apiUrl } });
  client.on(Events.InteractionCreate, (interaction) => {
    onInteraction(interaction).catch((error: unknown) => handlerErrors.push(error));
  });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(server.token);
  await ready;
  const commands = [
    new SlashCommandBuilder()
      .setName('echo')
      .setDescription('echo')
      .addIntegerOption((o) => o.setName('length').setDescription('notes'))
      .addNumberOption((o) => o.setName('temperature').setDescription('t'))
      .addAttachmentOption((o) => o.setName('midi').setDescription('file'))
      .addStringOption((o) => o.setName('seed').setDescription('seed').setAutocomplete(true)),
    new SlashCommandBuilder().setName('twice').setDescription('replies twice'),
    new SlashCommandBuilder()
      .setName('upload')
      .setDescription('uploads a file of some size')
      .addIntegerOption((o) => o.setName('length').setDescription('bytes')),
  ];
  await client.application!.commands.set(commands.map((c) => c.toJSON()), server.guild.id);
});

afterAll(async () => {
  await client?.destroy();
  await server?.close();
});

describe('fake Discord server with a bare discord.js client', () => {
  it('GIVEN a client logging in THEN it is ready with both guilds, their channels and its own member cached', () => {
    expect(client.user?.id).toBe(server.botUser.id);
    expect(client.application?.id).toBe(server.applicationId);
    expect([...client.guilds.cache.keys()].sort()).toEqual(server.guilds.map((g) => g.id).sort());
    const guild = client.guilds.cache.get(server.guild.id)!;
    expect(guild.channels.cache.get(server.guild.textChannel.id)?.isTextBased()).toBe(true);
    expect(guild.channels.cache.get(server.guild.voiceChannel.id)?.isVoiceBased()).toBe(true);
    expect(guild.members.me?.permissions.has('Connect')).toBe(true);
    expect(server.gateway.connectionUrls[0]).toBe('/gateway?v=10&encoding=json');
  });

  it('GIVEN commands registered per guild THEN the server stored them with ids', () => {
    const names = server.registeredCommands(server.guild.id).map((c) => c.name);
    expect(names).toEqual(['echo', 'twice', 'upload']);
    expect(server.registeredCommands()).toEqual([]);
  });

  it('GIVEN /echo with an attachment WHEN the bot defers, edits with a file, follows up and posts THEN all of it is parsed', async () => {
    const upload = server.addAttachment(Buffer.from('hello midi'), 'in.mid', 'audio/midi');
    const interaction = server.sendSlashCommand({ name: 'echo', options: { length: 100, temperature: 1, midi: upload } });
    const response = await server.waitForInteractionResponse(interaction, (r) => r.followUps.length === 1);
    expect(response.callbackType).toBe(5);
    const message = response.message!;
    // temperature 1 is sent as a NUMBER option because the registered schema says so.
    expect(message.content).toBe(`length=100 temperature=1 downloaded=${sha(Buffer.from('hello midi'))}`);
    expect(message.attachments.map((a) => a.filename)).toEqual(['echo.mid']);
    expect(message.attachments[0]!.data).toEqual(Buffer.concat([MIDI_HEADER, Buffer.from('hello midi')]));
    expect(message.history[0]!.flags & 128).toBe(128);
    expect(response.followUps[0]!.attachments[0]!.data.toString()).toBe('png?');
    const post = await server.waitForChannelMessage((m) => m.content === 'channel post');
    expect(post.channelId).toBe(server.guild.textChannel.id);
    const edit = server.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original'));
    expect(edit?.files[0]).toMatchObject({ fieldName: 'files[0]', filename: 'echo.mid' });
    expect(edit?.body?.attachments).toEqual([expect.objectContaining({ id: '0' })]);
  });

  it('GIVEN a reply with a button WHEN a user presses it THEN the update edits the same message', async () => {
    const first = server.sendSlashCommand({ name: 'echo', options: {} });
    const answered = await server.waitForInteractionResponse(first, (r) => r.followUps.length === 1);
    const press = server.pressButton(answered.message!, 'again', { user: server.users.admin });
    const pressed = await server.waitForInteractionResponse(press);
    expect(pressed.callbackType).toBe(7);
    expect(pressed.message).toBe(answered.message);
    expect(answered.message!.content).toBe('pressed again');
    expect(() => server.pressButton(answered.message!, 'again')).toThrow(/no button "again"/);
  });

  it('GIVEN a focused option THEN the autocomplete choices come back', async () => {
    const interaction = server.autocomplete({ name: 'echo', options: { seed: 'ba' }, focused: 'seed' });
    expect(await server.waitForAutocomplete(interaction)).toEqual([{ name: 'seed-ba', value: 'seed-ba' }]);
  });

  it('GIVEN a second reply to one interaction THEN Discord error 40060 reaches the bot', async () => {
    const interaction = server.sendSlashCommand({ name: 'twice' });
    const response = await server.waitForInteractionResponse(interaction, (r) => r.followUps.length === 1);
    expect(response.ephemeral).toBe(true);
    expect(response.followUps[0]!.content).toBe('second reply refused: 40060');
  });

  it('GIVEN an upload limit THEN interactions report it (attachmentSizeLimit) and a bigger file is refused with 413 / 40005', async () => {
    server.attachmentSizeLimit = 1000;
    try {
      const fits = await server.waitForInteractionResponse(server.sendSlashCommand({ name: 'upload', options: { length: 1000 } }));
      expect(fits.message?.content).toBe('limit=1000');
      expect(fits.message?.attachments.map((a) => a.data.length)).toEqual([1000]);
      const tooBig = await server.waitForInteractionResponse(server.sendSlashCommand({ name: 'upload', options: { length: 1001 } }));
      expect(tooBig.message?.content).toBe('limit=1000 refused: 413 40005');
      expect(tooBig.message?.attachments).toEqual([]);
    } finally {
      server.attachmentSizeLimit = 10 * 1024 * 1024;
    }
  });

  it('GIVEN an unknown route THEN the client gets a 404 DiscordAPIError', async () => {
    await expect(client.rest.get('/nowhere/at/all')).rejects.toMatchObject({ status: 404, code: 0 });
  });

  it('GIVEN a dropped gateway WHEN an interaction is sent meanwhile THEN the client resumes and still answers it', async () => {
    const resumed = new Promise<void>((resolve) => client.once(Events.ShardResume, () => resolve()));
    const identifiesBefore = server.gateway.identifyCount;
    server.dropGateway();
    const interaction = server.sendSlashCommand({ name: 'echo', options: { length: 7 } });
    await resumed;
    const response = await server.waitForInteractionResponse(interaction);
    expect(response.message?.content).toMatch(/^length=7 /);
    expect(server.gateway.resumeCount).toBe(1);
    expect(server.gateway.identifyCount).toBe(identifiesBefore);
    expect(server.gateway.connectionUrls.at(-1)).toBe('/gateway/resume?v=10&encoding=json');
    await server.gateway.waitForHeartbeat();
  });

  it('GIVEN @discordjs/voice joining and playing Opus THEN the voice endpoint decrypts every packet in order', async () => {
    const guild = client.guilds.cache.get(server.guild.id)!;
    const connection = joinVoiceChannel({
      channelId: server.guild.voiceChannel.id,
      guildId: guild.id,
      adapterCreator: guild.voiceAdapterCreator,
    });
    try {
      await entersState(connection, VoiceConnectionStatus.Ready, 15_000);
      expect(server.voiceStateRequests.at(-1)).toMatchObject({ guild_id: guild.id, channel_id: server.guild.voiceChannel.id });
      expect(server.botVoiceChannelId(guild.id)).toBe(server.guild.voiceChannel.id);
      const frames = Array.from({ length: 20 }, (_, index) => Buffer.from([0xfc, index, 0xaa, 0x55, index]));
      const player = createAudioPlayer();
      connection.subscribe(player);
      player.play(createAudioResource(Readable.from(frames), { inputType: StreamType.Opus }));
      await entersState(player, AudioPlayerStatus.Playing, 5_000);
      await entersState(player, AudioPlayerStatus.Idle, 15_000);
      const packets = await server.voice!.waitForSpeakingStopped(guild.id);
      expect(packets.map((p) => p.opus)).toEqual(frames);
      const sequences = packets.map((p) => p.sequence);
      expect(sequences.slice(1).every((s, i) => s === ((sequences[i]! + 1) & 0xffff))).toBe(true);
      expect(server.voice!.rejectedPackets).toEqual([]);
      expect(server.voice!.connections.at(-1)?.mode).toBe('aead_aes256_gcm_rtpsize');
    } finally {
      connection.destroy();
    }
  });

  it('GIVEN a follow-up edit addressed to %40original THEN it edits the original reply', async () => {
    const interaction = server.sendSlashCommand({ name: 'twice' });
    await server.waitForInteractionResponse(interaction, (r) => r.followUps.length === 1);
    const url = `${server.apiUrl}/v10/webhooks/${server.applicationId}/${interaction.token}/messages/%40original`;
    const res = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"content":"edited"}' });
    expect(res.status).toBe(200);
    expect(server.response(interaction).message?.content).toBe('edited');
    server.expireInteraction(interaction);
    const expired = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(await expired.json()).toEqual({ message: 'Invalid Webhook Token', code: 50027 });
  });

  it('GIVEN the whole session THEN no handler threw', () => {
    expect(handlerErrors).toEqual([]);
  });
});

describe('sharded gateway', () => {
  let sharded: DiscordTestServer;
  const clients: Client[] = [];
  /** Which client (by shard id) saw each interaction id. */
  const seenBy = new Map<string, number>();

  beforeAll(async () => {
    sharded = await startDiscordServer({ shards: 2 });
    // Sent before anyone connects: queued for the shard of its guild.
    early = sharded.sendSlashCommand({ name: 'ping', guildId: sharded.guilds[1]!.id, channelId: sharded.guilds[1]!.textChannel.id });
    // One client per shard, as a ShardingManager's processes would be.
    for (const shardId of [0, 1]) {
      const c = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: sharded.apiUrl }, shards: [shardId], shardCount: 2 });
      c.on(Events.InteractionCreate, (interaction) => {
        seenBy.set(interaction.id, shardId);
        if (interaction.isChatInputCommand()) void interaction.reply(`pong from shard ${shardId}`).catch((error: unknown) => handlerErrors.push(error));
      });
      clients.push(c);
    }
    await Promise.all(
      clients.map(async (c) => {
        const ready = new Promise<void>((resolve) => c.once(Events.ClientReady, () => resolve()));
        await c.login(sharded.token);
        await ready;
      }),
    );
    await sharded.waitForReady();
  });
  let early: ReturnType<DiscordTestServer['sendSlashCommand']>;

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.destroy()));
    await sharded?.close();
  });

  it('GIVEN shards: 2 THEN /gateway/bot recommends 2 and the default guilds land one on each shard', async () => {
    const rest = clients[0]!.rest;
    expect(await rest.get(Routes.gatewayBot())).toMatchObject({ shards: 2 });
    expect(sharded.guilds.map((g) => sharded.shardOf(g.id))).toEqual([0, 1]);
    expect(sharded.guilds.map((g) => Number((BigInt(g.id) >> 22n) % 2n))).toEqual([0, 1]);
  });

  it('GIVEN one client per shard THEN each IDENTIFYed with its shard and holds only its own guild', () => {
    expect([...sharded.gateway.identifiedShards].sort()).toEqual([[0, 2], [1, 2]]);
    expect(sharded.gateway.shards).toEqual([[0, 2], [1, 2]]);
    expect(sharded.gateway.isReady).toBe(true);
    expect(clients.map((c) => [...c.guilds.cache.keys()])).toEqual([[sharded.guilds[0]!.id], [sharded.guilds[1]!.id]]);
  });

  it('GIVEN interactions in both guilds (one queued before login) THEN each reaches the client of its guild\'s shard only', async () => {
    const answers = await Promise.all(
      [early, sharded.sendSlashCommand({ name: 'ping' })].map((i) => sharded.waitForInteractionResponse(i)),
    );
    expect(answers.map((r) => r.message?.content)).toEqual(['pong from shard 1', 'pong from shard 0']);
    expect(seenBy.get(early.id)).toBe(1);
  });

  it('GIVEN a new guild on shard 1 THEN only that shard gets its GUILD_CREATE, and its voice join is answered on that shard', async () => {
    const created = new Promise<string>((resolve) => clients[1]!.once(Events.GuildCreate, (g) => resolve(g.id)));
    const guild = sharded.createGuild({ shard: 1 });
    expect(sharded.shardOf(guild.id)).toBe(1);
    expect(await created).toBe(guild.id);
    expect(clients[0]!.guilds.cache.has(guild.id)).toBe(false);
    expect(sharded.gateway.shardFor(guild.id)).toBe(1);

    const discordGuild = clients[1]!.guilds.cache.get(guild.id)!;
    const connection = joinVoiceChannel({ channelId: guild.voiceChannel.id, guildId: guild.id, adapterCreator: discordGuild.voiceAdapterCreator, group: 'shard-1' });
    try {
      await entersState(connection, VoiceConnectionStatus.Ready, 15_000);
      expect(sharded.botVoiceChannelId(guild.id)).toBe(guild.voiceChannel.id);
    } finally {
      connection.destroy();
    }
  });

  it('GIVEN a raw connection WHEN IDENTIFY names a shard outside its count THEN it is closed with 4010', async () => {
    const { WebSocket } = await import('ws');
    const url = `${sharded.baseUrl.replace('http', 'ws')}/gateway?v=10&encoding=json`;
    const socket = new WebSocket(url);
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('message', (raw) => {
      if ((JSON.parse(String(raw)) as { op: number }).op === 10) {
        socket.send(JSON.stringify({ op: 2, d: { token: sharded.token, intents: 1, properties: {}, shard: [2, 2] } }));
      }
    });
    expect(await closed).toBe(4010);
  });
});

describe('voice transport crypto', () => {
  it('GIVEN the draft-irtf-cfrg-xchacha §2.2.1 vector WHEN HChaCha20 runs THEN it yields the published subkey', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const nonce = Buffer.from('000000090000004a0000000031415927', 'hex');
    expect(hchacha20(key, nonce).toString('hex')).toBe('82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
  });
});
