/**
 * `npm start` as an operator runs it, against the local Discord-protocol server: a wrong token is
 * one line before anything slow; SIGTERM to npm while a /compose runs still delivers the result
 * within SHUTDOWN_GRACE_SECONDS, exits 0 and leaves no bot process behind; the token never
 * appears in the (NDJSON) logs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../commands/index.js';
import { deployCommands } from '../../../src/bot/deploy-commands.js';
import { startCaptured, type CapturedProcess } from '../../support/captured-process.js';
import { startDiscordServer, type DiscordTestServer, type InteractionResponse } from '../../support/discord-server/index.js';

/** Generous: under load a warm /compose length:100 takes seconds; the test waits on events, not time. */
const GRACE_SECONDS = 90;
const TOKEN = `motif.${randomBytes(18).toString('base64url')}.e2e`;

let server: DiscordTestServer;
let dataDir: string;
beforeAll(async () => {
  server = await startDiscordServer({ token: TOKEN });
  dataDir = mkdtempSync(join(tmpdir(), 'motif-start-'));
  await deployCommands({ discordToken: TOKEN, discordClientId: server.applicationId, devGuildId: server.guild.id, discordApiUrl: server.apiUrl }, COMMANDS);
});
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function run(command: string, args: string[], env: Record<string, string>): CapturedProcess {
  return startCaptured(command, args, { ...process.env, DATA_DIR: dataDir, DISCORD_CLIENT_ID: server.applicationId, DEV_GUILD_ID: server.guild.id, DISCORD_API_URL: server.apiUrl, ...env });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes whose command line contains `marker` (ours only: /proc is read directly). */
async function pidsWith(marker: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

describe('npm start', () => {
  it('GIVEN a token Discord rejects WHEN the bot starts THEN one line says how to reset it, exit 1, before the model loads', async () => {
    const bot = run(process.execPath, ['--import', 'tsx', 'src/bot/main.ts'], { DISCORD_TOKEN: `${TOKEN}x` });
    expect(await bot.exited).toBe(1);
    // The whole output: no log line comes before the token is checked.
    const lines = bot.output().trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^Discord rejected DISCORD_TOKEN \(401 Unauthorized\)\. Reset it in the Discord Developer Portal .*Reset Token/)]);
    expect(bot.output()).not.toMatch(/model and SoundFont loaded|\n\s+at /);
  });

  it('GIVEN a token Discord rejects WHEN deploy-commands runs THEN one line says how to reset it, exit 1 (not a 25-line API error)', async () => {
    const deploy = run(process.execPath, ['--import', 'tsx', 'src/bot/deploy-commands.ts'], { DISCORD_TOKEN: `${TOKEN}x` });
    expect(await deploy.exited).toBe(1);
    expect(deploy.output().trim().split('\n')).toEqual([expect.stringMatching(/^Discord rejected DISCORD_TOKEN \(401 Unauthorized\)\. Reset it/)]);
    const ok = run(process.execPath, ['--import', 'tsx', 'src/bot/deploy-commands.ts', '--json'], { DISCORD_TOKEN: TOKEN });
    expect(await ok.exited, ok.output()).toBe(0);
    expect(JSON.parse(ok.output().split('\n').find((l) => l.startsWith('{'))!)).toEqual({ count: 11, scope: `guild ${server.guild.id}` });
  });

  it('GIVEN a /compose running WHEN npm start gets SIGTERM THEN the result is still delivered, npm exits 0 and no bot process is left', async () => {
    const marker = `--motif-e2e-${randomBytes(4).toString('hex')}`;
    // `npm start -- <marker>`: the marker lands on the bot's own command line, so we can find it.
    const npm = run('npm', ['start', '--', marker], { DISCORD_TOKEN: TOKEN, SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS), LOG_LEVEL: 'info' });
    try {
      await server.waitForReady(120_000);
      const compose = server.sendSlashCommand({ name: 'compose', options: { length: 100 } });
      // Running, not just queued: the progress line shows a stage.
      await server.waitForInteractionResponse(compose, (r) => /Composing: /.test(r.message?.content ?? '') || (r.message?.attachments.length ?? 0) > 0, 120_000);
      const botPids = await pidsWith(marker);
      expect(botPids.length).toBeGreaterThan(0);
      npm.child.kill('SIGTERM');
      const done = await server.waitForInteractionResponse(
        compose,
        (r: InteractionResponse) => (r.message?.attachments.length ?? 0) >= 3 || /restarted/.test(r.message?.content ?? '') || r.followUps.length > 0,
        GRACE_SECONDS * 1000,
      );
      expect(done.message?.content ?? '', npm.output()).not.toMatch(/restarted/);
      expect(done.message?.attachments.map((a) => a.filename.split('.').pop()).sort()).toEqual(['mid', 'mp3', 'png']);
      expect(await npm.exited, npm.output()).toBe(0);
      // Every process that carried the marker (npm's shell, the bot) is gone, not orphaned.
      for (const pid of botPids) await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
      expect(await pidsWith(marker)).toEqual([]);

      const log = npm.output();
      expect(log).not.toContain(TOKEN);
      const jsonLines = log.split('\n').filter((l) => l.startsWith('{'));
      expect(jsonLines.length).toBeGreaterThan(3);
      const entries = jsonLines.map((l) => JSON.parse(l) as { level: string; msg: string });
      expect(entries.map((e) => e.msg)).toEqual(expect.arrayContaining(['SIGTERM: shutting down', 'stopped']));
    } finally {
      if (npm.child.exitCode === null) npm.child.kill('SIGKILL');
      for (const pid of await pidsWith(marker)) process.kill(pid, 'SIGKILL');
    }
  }, 400_000);
});

describe('graceful stop, in process', () => {
  it('GIVEN a /compose running WHEN the bot stops with no grace left THEN its progress reply is edited to say the bot restarted, and a new command is told it is restarting', async () => {
    const { startHarness } = await import('./harness.js');
    const h = await startHarness();
    try {
      const compose = h.server.sendSlashCommand({ name: 'compose', options: { length: 2000 } });
      await h.server.waitForInteractionResponse(compose, (r) => /Composing: /.test(r.message?.content ?? ''), 120_000);
      const stopping = h.bot.stop({ graceMs: 0 });
      const late = h.server.sendSlashCommand({ name: 'seed', subcommand: 'list' });
      const cut = await h.server.waitForInteractionResponse(compose, (r) => /restarted/.test(r.message?.content ?? ''), 60_000);
      expect(cut.message?.content).toBe('Motif restarted before this finished. Please run the command again.');
      expect(cut.message?.attachments).toEqual([]);
      expect(cut.followUps).toEqual([]);
      const refused = await h.server.waitForInteractionResponse(late, (r) => r.message !== null || r.followUps.length > 0, 30_000);
      expect(refused.message?.content ?? refused.followUps[0]?.content).toMatch(/restarting/);
      await stopping;
    } finally {
      await h.stop();
    }
  }, 200_000);
});
