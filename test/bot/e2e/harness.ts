/**
 * Starts the real bot (real discord.js client, real storage, real queue and workers) against the
 * local Discord-protocol server, with commands registered as `npm run deploy-commands` would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from '../../../commands/index.js';
import { loadConfig, type BotConfig, type Environment } from '../../../src/config.js';
import { deployCommands } from '../../../src/bot/deploy-commands.js';
import { createLogger } from '../../../src/util/logger.js';
import { startBot, type BotDeps, type BotHandle } from '../../../src/bot/start.js';
import { emptySequence, type NoteSequence } from '../../../src/music/note-sequence.js';
import { writeMidi } from '../../../src/music/midi-io.js';
import { startDiscordServer, type DiscordServerOptions, type DiscordTestServer } from '../../support/discord-server/index.js';

export interface Harness {
  server: DiscordTestServer;
  bot: BotHandle;
  config: BotConfig;
  dataDir: string;
  /** Lines the bot logged (info and above: job logs too), to find incident ids and explain failures. */
  logLines: string[];
  /** What the bot and the fake Discord are in the middle of: print it when a test fails. */
  describeState(): Promise<string>;
  /**
   * Stops the bot (grace 0 by default: what a restart under a process manager amounts to) and
   * starts a new one on the same server, settings and data folder; `bot` is the new one afterwards.
   * @param opts.beforeStart runs while no bot is up (e.g. let a worker finish jobs meanwhile).
   */
  restartBot(opts?: { graceMs?: number; beforeStart?: () => Promise<void> }): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(
  /** `deps.commands` defaults to every command; what is registered is always every command, as deploy-commands does. */
  opts: { env?: Environment; deps?: Partial<BotDeps>; server?: DiscordServerOptions } = {},
): Promise<Harness> {
  const server = await startDiscordServer(opts.server);
  const dataDir = mkdtempSync(join(tmpdir(), 'motif-e2e-'));
  const config = loadConfig({
    DISCORD_TOKEN: server.token,
    DISCORD_CLIENT_ID: server.applicationId,
    DEV_GUILD_ID: server.guild.id,
    DISCORD_API_URL: server.apiUrl,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // The local server's CDN is plain http on 127.0.0.1; production allows only Discord's CDN hosts.
    ATTACHMENT_HOSTS: '127.0.0.1',
    // Suites send dozens of commands a minute from one test user; the abuse limits have their own test.
    RATE_USER_PER_MINUTE: '100000',
    RATE_GUILD_PER_MINUTE: '100000',
    ...opts.env,
  });
  await deployCommands(config, COMMANDS);
  const logLines: string[] = [];
  // Info, not warn: a job that hangs logs nothing at warn, and its progress lines show where it stopped.
  const logger = createLogger('info', (line) => logLines.push(line));
  const start = (): Promise<BotHandle> => startBot(config, { warmUp: false, logger, commands: COMMANDS, ...opts.deps });
  const harness: Harness = {
    server,
    bot: await start(),
    config,
    dataDir,
    logLines,
    describeState: async () =>
      [
        `jobs: ${JSON.stringify(await harness.bot.ctx.queue.list().catch((error: unknown) => String(error)))}`,
        `gateway: ${server.gateway.isReady ? 'ready' : 'NOT ready'}, ${server.gateway.identifyCount} identify, ${server.gateway.resumeCount} resume`,
        `bot log:`,
        ...logLines,
      ].join('\n'),
    restartBot: async (restart = {}) => {
      await harness.bot.stop({ graceMs: restart.graceMs ?? 0 });
      await restart.beforeStart?.();
      harness.bot = await start();
      await server.waitForReady();
    },
    stop: async () => {
      await harness.bot.stop({ graceMs: 0 });
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await server.waitForReady();
  return harness;
}

/**
 * Polls `condition` until it holds (state the bot changes after its last request, e.g. a result
 * recorded once its files are posted); throws after `timeoutMs`.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 60_000, what = 'a condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A real Standard MIDI File: a C-major scale in quarter notes. */
export function scaleMidi(pitches = [60, 62, 64, 65, 67, 69, 71, 72]): Buffer {
  const seq: NoteSequence = emptySequence();
  seq.notes = pitches.map((pitch, i) => ({ pitch, velocity: 90, startStep: i * 4, endStep: i * 4 + 4, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = pitches.length * 4;
  return Buffer.from(writeMidi(seq));
}

/** PNG files start with this signature; the IHDR chunk follows with width and height. */
export function pngSize(data: Buffer): { width: number; height: number } | undefined {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!data.subarray(0, 8).equals(signature) || data.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

/**
 * Uploads `count` copies of a scale to a guild's corpus as its admin. Which uploads the corpus split
 * holds out for validation depends on their random ids (1 in 10 each): with four, a real training
 * run has data to train on but for a 1-in-10,000 chance; with one it would fail one run in ten.
 */
export async function addCorpusPieces(h: Harness, count: number, opts: { guildId?: string; channelId?: string; midi?: Buffer } = {}): Promise<void> {
  const { midi, ...where } = opts;
  for (let i = 0; i < count; i++) {
    const file = h.server.addAttachment(midi ?? scaleMidi(), `piece-${i}.mid`, 'audio/midi');
    const added = await h.server.waitForInteractionResponse(
      h.server.sendSlashCommand({ name: 'corpus', subcommand: 'add', options: { file, confirm_rights: true, licence: 'own-work' }, user: h.server.users.admin, ...where }),
    );
    const text = [added.message?.content ?? '', ...added.followUps.map((f) => f.content)].join(' ');
    if (!/Added `/.test(text)) throw new Error(`corpus add failed: ${text}`);
  }
}
