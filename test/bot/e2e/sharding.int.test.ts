/**
 * `npm run start:sharded` as an operator runs it, against the local Discord-protocol server with two
 * gateway shards and a guild on each: both shard processes IDENTIFY with their shard, each answers
 * commands in its own guild (a /compose proves each runs its own queue and workers), SIGTERM stops
 * them all gracefully and exit code 0; SHARD_COUNT=auto asks the configured server; a bad
 * SHARD_COUNT is one line.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployCommands } from '../../../src/bot/deploy-commands.js';
import { COMMANDS } from '../../../commands/index.js';
import { startCaptured, type CapturedProcess } from '../../support/captured-process.js';
import { startDiscordServer, type DiscordTestServer, type InteractionResponse } from '../../support/discord-server/index.js';

const TOKEN = `motif.${randomBytes(18).toString('base64url')}.shards`;
/** Two shard processes start one after the other, each loading the model first: generous on a loaded machine. */
const START_MS = 300_000;
const ANSWER_MS = 180_000;

let server: DiscordTestServer;
let dataDir: string;
beforeAll(async () => {
  server = await startDiscordServer({ token: TOKEN, shards: 2 });
  dataDir = mkdtempSync(join(tmpdir(), 'motif-shards-'));
  // Globally, as for a real sharded bot: the commands exist in both guilds.
  await deployCommands({ discordToken: TOKEN, discordClientId: server.applicationId, discordApiUrl: server.apiUrl }, COMMANDS);
});
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function runSharded(env: Record<string, string | undefined>): CapturedProcess {
  return startCaptured(process.execPath, ['--import', 'tsx', 'src/bot/sharded.ts'], {
    ...process.env,
    DISCORD_TOKEN: TOKEN,
    DISCORD_CLIENT_ID: server.applicationId,
    DISCORD_API_URL: server.apiUrl,
    DATA_DIR: dataDir,
    // The local server's CDN is plain http on 127.0.0.1.
    ATTACHMENT_HOSTS: '127.0.0.1',
    // Info, not warn: the shards' start-up lines explain a failure, and the test reads the stop lines.
    LOG_LEVEL: 'info',
    ...env,
  });
}

interface LogEntry {
  level: string;
  msg: string;
  shard?: number;
  pid?: number;
  shardCount?: number;
  setting?: unknown;
}

function logEntries(output: string): LogEntry[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogEntry);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what is left of a run (the manager and its shard processes) after a failed test. */
function cleanUp(run: CapturedProcess): void {
  for (const entry of logEntries(run.output())) {
    if (entry.msg === 'shard starting' && entry.pid && alive(entry.pid)) process.kill(entry.pid, 'SIGKILL');
  }
  if (run.child.exitCode === null) run.child.kill('SIGKILL');
}

/** Waits until every shard is connected and ready; fails at once, with the output, if the run ends first. */
async function readyOrExit(run: CapturedProcess): Promise<void> {
  await Promise.race([
    server.waitForReady(START_MS).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${run.output()}`);
    }),
    run.exited.then((code) => {
      throw new Error(`exited with ${code} before the gateway was ready:\n${run.output()}`);
    }),
  ]);
}

const hasResult = (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= 3 || r.followUps.length > 0;

describe('npm run start:sharded', () => {
  it('GIVEN SHARD_COUNT=2 and a guild on each shard WHEN commands are sent in both THEN each shard answers its guild, and SIGTERM stops every shard with exit 0', async () => {
    const [guild0, guild1] = [server.guilds[0]!, server.guilds[1]!];
    expect([server.shardOf(guild0.id), server.shardOf(guild1.id)]).toEqual([0, 1]);
    const run = runSharded({ SHARD_COUNT: '2', SHUTDOWN_GRACE_SECONDS: '60' });
    try {
      await readyOrExit(run);
      expect([...server.gateway.identifiedShards].sort()).toEqual([[0, 2], [1, 2]]);
      expect(server.gateway.shards).toEqual([[0, 2], [1, 2]]);

      const where = [guild0, guild1].map((g) => ({ guildId: g.id, channelId: g.textChannel.id }));
      const lists = where.map((w) => server.sendSlashCommand({ name: 'queue', subcommand: 'list', ...w }));
      for (const list of lists) {
        const answer = await server.waitForInteractionResponse(list, undefined, ANSWER_MS);
        expect(answer.message?.content, run.output()).toBe('Nothing is queued on this server.');
      }
      // A compose in each guild at once: each runs in the queue and workers of its guild's shard process.
      const composes = where.map((w) => server.sendSlashCommand({ name: 'compose', options: { length: 8 }, ...w }));
      for (const compose of composes) {
        const done = await server.waitForInteractionResponse(compose, hasResult, ANSWER_MS);
        expect(done.followUps.map((f) => f.content), run.output()).toEqual([]);
        expect(done.message?.attachments.map((a) => a.filename.split('.').pop()).sort()).toEqual(['mid', 'mp3', 'png']);
      }
      // Nothing made the shards reconnect or start again.
      expect(server.gateway.identifyCount).toBe(2);

      const shardPids = logEntries(run.output())
        .filter((e) => e.msg === 'shard starting')
        .map((e) => e.pid!);
      expect(shardPids).toHaveLength(2);
      run.child.kill('SIGTERM');
      expect(await run.exited, run.output()).toBe(0);
      for (const pid of shardPids) await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);

      const entries = logEntries(run.output());
      expect(run.output()).not.toContain(TOKEN);
      expect(entries.filter((e) => e.msg === 'shard ready').map((e) => e.shard).sort()).toEqual([0, 1]);
      // Each shard got the signal once and stopped gracefully; its lines carry its shard id.
      expect(entries.filter((e) => e.msg === 'SIGTERM: shutting down').map((e) => e.shard).sort()).toEqual([0, 1]);
      expect(entries.filter((e) => e.msg === 'stopped').map((e) => e.shard).sort()).toEqual([0, 1]);
      expect(entries.at(-1)).toMatchObject({ msg: 'all shards stopped' });
    } finally {
      cleanUp(run);
    }
  }, START_MS + 2 * ANSWER_MS);

  it('GIVEN a shard process that crashes after it was ready THEN it is started again and answers; WHEN the manager is killed THEN no shard is left logged in', async () => {
    const guild1 = server.guilds[1]!;
    const identifiesBefore = server.gateway.identifyCount;
    const run = runSharded({ SHARD_COUNT: '2' });
    try {
      await readyOrExit(run);
      // Ready for the manager too (the shard has told it), not only for the gateway: a shard that dies
      // before that counts as a failed start-up.
      await expect.poll(() => logEntries(run.output()).filter((e) => e.msg === 'shard ready').length, { timeout: 60_000, interval: 100 }).toBe(2);
      const firstPids = logEntries(run.output()).filter((e) => e.msg === 'shard starting').map((e) => e.pid!);
      expect(firstPids).toHaveLength(2);
      process.kill(firstPids[1]!, 'SIGKILL');
      await expect.poll(() => server.gateway.identifyCount, { timeout: START_MS, interval: 200 }).toBe(identifiesBefore + 3);
      await server.waitForReady(START_MS);
      expect(server.gateway.identifiedShards.slice(-1)).toEqual([[1, 2]]);
      const list = server.sendSlashCommand({ name: 'queue', subcommand: 'list', guildId: guild1.id, channelId: guild1.textChannel.id });
      expect((await server.waitForInteractionResponse(list, undefined, ANSWER_MS)).message?.content).toBe('Nothing is queued on this server.');
      expect(logEntries(run.output()).find((e) => e.msg === 'shard process ended; starting it again')).toMatchObject({ shard: 1 });

      // The first two and shard 1's second process.
      const shardPids = logEntries(run.output()).filter((e) => e.msg === 'shard starting').map((e) => e.pid!);
      expect(shardPids).toHaveLength(3);
      run.child.kill('SIGKILL');
      for (const pid of shardPids) await expect.poll(() => alive(pid), { timeout: 60_000 }).toBe(false);
      const stopped = logEntries(run.output()).filter((e) => e.msg === 'stopped').map((e) => e.shard).sort();
      expect(stopped, run.output()).toEqual([0, 1]);
    } finally {
      cleanUp(run);
    }
  }, 2 * START_MS + ANSWER_MS);

  it('GIVEN a shard whose start-up fails (no model) THEN the others are stopped and the manager exits 1', async () => {
    const missing = join(dataDir, 'no-models-here');
    const run = runSharded({ SHARD_COUNT: '2', MODELS_DIR: missing });
    try {
      expect(await run.exited, run.output()).toBe(1);
      const entries = logEntries(run.output());
      expect(entries.find((e) => e.msg === 'shard stopped before it was ready; stopping the other shards')).toMatchObject({ shard: 0 });
      // Shard 1 was never started: shard 0 failed first.
      expect(entries.filter((e) => e.msg === 'shard starting').map((e) => e.shard)).toEqual([0]);
    } finally {
      cleanUp(run);
    }
  }, START_MS);

  it('GIVEN SHARD_COUNT=auto WHEN the configured server recommends 2 THEN two shards start (asked through DISCORD_API_URL), and SIGTERM during start-up still exits 0', async () => {
    const gatewayCallsBefore = server.requests.filter((r) => r.path === '/gateway/bot').length;
    const run = runSharded({ SHARD_COUNT: 'auto' });
    try {
      await expect.poll(() => logEntries(run.output()).some((e) => e.msg === 'shard starting'), { timeout: 60_000, interval: 100 }).toBe(true);
      expect(logEntries(run.output()).find((e) => e.msg === 'starting 2 shards')).toMatchObject({ shardCount: 2, setting: 'auto' });
      expect(server.requests.filter((r) => r.path === '/gateway/bot').length).toBeGreaterThan(gatewayCallsBefore);
      run.child.kill('SIGTERM');
      expect(await run.exited, run.output()).toBe(0);
    } finally {
      cleanUp(run);
    }
  }, 120_000);

  it('GIVEN SHARD_COUNT=auto in the environment (systemd EnvironmentFile, docker --env-file) WHEN npm start runs THEN it is one unsharded bot, not a discord.js option error', async () => {
    const identifiesBefore = server.gateway.identifyCount;
    const run = startCaptured(process.execPath, ['--import', 'tsx', 'src/bot/main.ts'], {
      ...process.env,
      DISCORD_TOKEN: TOKEN,
      DISCORD_CLIENT_ID: server.applicationId,
      DISCORD_API_URL: server.apiUrl,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SHARD_COUNT: 'auto',
    });
    const { child } = run;
    try {
      // Earlier tests' shard sessions are gone from the gateway; this client alone makes it ready.
      await readyOrExit(run);
      expect(server.gateway.identifyCount).toBe(identifiesBefore + 1);
      expect(server.gateway.identifiedShards.at(-1)).toEqual([0, 1]);
      const list = server.sendSlashCommand({ name: 'queue', subcommand: 'list', guildId: server.guilds[1]!.id, channelId: server.guilds[1]!.textChannel.id });
      expect((await server.waitForInteractionResponse(list, undefined, ANSWER_MS)).message?.content, run.output()).toBe('Nothing is queued on this server.');
      child.kill('SIGTERM');
      expect(await run.exited, run.output()).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, START_MS + ANSWER_MS);

  it('GIVEN SHARD_COUNT=zero WHEN started THEN one line names the setting, exit 1, no shard started', async () => {
    const run = runSharded({ SHARD_COUNT: 'zero' });
    expect(await run.exited).toBe(1);
    expect(run.output().trim().split('\n')).toEqual([
      'Invalid configuration (see .env.example):',
      expect.stringMatching(/^- SHARD_COUNT: must be "auto" .* or a whole number of shards/),
    ]);
  });
});
