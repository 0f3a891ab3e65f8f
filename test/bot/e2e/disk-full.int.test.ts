/**
 * A full disk while saving a result or a model, made real: a small tmpfs mounted over the guild's
 * results or models folder (root only; under CI=true a machine that cannot mount fails the suite).
 * The user is told privately that the disk is full (no incident id), nothing half-written or
 * recorded is left, the bot keeps answering, and a guild's previous model keeps serving /compose.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { guildKeys, guildPaths } from '../../../src/storage/guild-paths.js';
import type { InteractionResponse } from '../../support/discord-server/index.js';
import { MessageFlag } from '../../support/discord-server/index.js';
import { addCorpusPieces, scaleMidi, startHarness, waitUntil, type Harness } from './harness.js';

const JOB_WAIT_MS = 120_000;
const TEST_TIMEOUT_MS = 3 * JOB_WAIT_MS;
const PAGE = 4096;

const composed = (r: InteractionResponse): boolean => /Composed \d+ notes-or-chords/.test(r.message?.content ?? '') || r.followUps.length > 0;
const said = (r: InteractionResponse): string =>
  [r.message?.content ?? '(no reply)', ...r.followUps.map((f) => `follow-up: ${f.content}`)].join(' | ');

// --- tmpfs mounts -------------------------------------------------------------------------------

const mounted: string[] = [];

function mountTmpfs(dir: string, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  mounted.push(dir);
}

/** tmpfs can grow in place: the same disk, with more room. */
function resizeTmpfs(dir: string, bytes: number): void {
  execFileSync('mount', ['-o', `remount,size=${bytes}`, dir], { stdio: 'pipe' });
}

function unmountAll(): void {
  for (const dir of mounted.splice(0).reverse()) {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      // A file still open (a worker that has not exited yet): detach now, the kernel frees it after.
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
  }
}

/** Why this machine cannot run these tests, or undefined when it can (a test mount works). */
function cannotMount(): string | undefined {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const probe = mkdtempSync(join(tmpdir(), 'motif-disk-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `mount -t tmpfs failed: ${(stderr || String(error)).split('\n')[0]}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Writes a file until the disk refuses (ENOSPC): the file system is then full. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x55);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

/** What a folder holds on tmpfs: every file rounded up to whole pages. */
function diskBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + Math.ceil(statSync(join(e.parentPath, e.name)).size / PAGE) * PAGE, 0);
}

const freeBytes = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

// --- the tests ----------------------------------------------------------------------------------

const reason = cannotMount();
if (reason !== undefined) {
  if (process.env.CI === 'true') {
    describe('a full disk', () => {
      it('can mount a tmpfs to make a real full disk (required under CI)', () => {
        throw new Error(`disk-full tests cannot run under CI: ${reason}`);
      });
    });
  } else {
    console.log(`SKIPPED disk-full tests: ${reason}`);
    describe.skip('a full disk', () => it('needs tmpfs mounts', () => undefined));
  }
} else {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { QUEUE_CONCURRENCY: '1' } });
    // Guild A's results live on their own small disk: room for a few results once it is not full.
    mountTmpfs(guildPaths(h.dataDir, h.server.guild.id).resultsDir, 32 * 1024 * 1024);
  }, JOB_WAIT_MS);
  afterAll(async () => {
    try {
      unmountAll();
    } finally {
      await h?.stop();
    }
  });

  const compose = (where: { guildId: string; channelId: string }, options: Record<string, number> = { length: 20 }) =>
    h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'compose', options, ...where }), composed, JOB_WAIT_MS);

  describe('a full disk', () => {
    it('GIVEN a full results folder WHEN /compose runs THEN the user is told privately, nothing is kept, and /compose works once space is freed', async () => {
      onTestFailed(async () => console.error(await h.describeState()));
      const guild = h.server.guild;
      const where = { guildId: guild.id, channelId: guild.textChannel.id };
      const { resultsDir } = guildPaths(h.dataDir, guild.id);
      const filler = join(resultsDir, '.filler');
      fillDisk(filler);
      expect(freeBytes(resultsDir)).toBe(0);

      const failed = await compose(where);
      expect(failed.followUps, said(failed)).toHaveLength(1);
      const told = failed.followUps[0]!;
      expect(told.content).toBe(
        "The server's disk is full, so your piece could not be saved and nothing was kept. Tell the bot's operator, and try again once space is freed.",
      );
      expect(told.flags & MessageFlag.Ephemeral).toBeTruthy();
      // No result was recorded, no file posted, and no file or folder is left on the disk.
      expect(await h.bot.ctx.storage.results.recent(guild.id)).toEqual([]);
      expect(h.server.requests.filter((q) => q.files.length > 0 && q.path.includes(failed.interaction.token))).toEqual([]);
      expect(readdirSync(resultsDir)).toEqual(['.filler']);
      expect(await h.bot.ctx.queue.list()).toEqual([]);
      expect(h.logLines.filter((line) => /incident/.test(line))).toEqual([]);

      // The operator frees space: the bot answers the next /compose with a result, kept on that disk.
      rmSync(filler);
      const ok = await compose(where);
      expect(ok.followUps, said(ok)).toEqual([]);
      expect(ok.message!.attachments.map((a) => a.filename.slice(-4)).sort()).toEqual(['.mid', '.mp3', '.png']);
      // Recorded once its files are posted, just after the final edit.
      await waitUntil(async () => (await h.bot.ctx.storage.results.recent(guild.id)).length === 1, JOB_WAIT_MS, 'the result record');
      const [record] = await h.bot.ctx.storage.results.recent(guild.id);
      expect(record?.dir.startsWith(resultsDir)).toBe(true);
      expect(readdirSync(resultsDir)).toEqual([record!.id]);
    }, TEST_TIMEOUT_MS);

    it('GIVEN room for the MIDI and the piano roll but not the audio WHEN /compose runs THEN the user is told privately and nothing is kept', async () => {
      onTestFailed(async () => console.error(await h.describeState()));
      const guild = h.server.guild;
      const where = { guildId: guild.id, channelId: guild.textChannel.id };
      const { resultsDir } = guildPaths(h.dataDir, guild.id);
      const kept = readdirSync(resultsDir);
      const records = await h.bot.ctx.storage.results.recent(guild.id);
      // ~96 KB: room for a MIDI (~1 KB) and a piano roll (~40 KB), not for ~40 s of MP3 (~1 MB at 192 kb/s).
      resizeTmpfs(resultsDir, diskBytes(resultsDir) + 24 * PAGE);

      const failed = await compose(where, { length: 60, tempo: 60 });
      expect(failed.followUps, said(failed)).toHaveLength(1);
      const told = failed.followUps[0]!;
      expect(told.content).toBe(
        "The server's disk is full, so your piece could not be saved and nothing was kept. Tell the bot's operator, and try again once space is freed.",
      );
      expect(told.flags & MessageFlag.Ephemeral).toBeTruthy();
      // The MIDI and piano roll had been posted; with the audio lost the public reply is taken back.
      expect(failed.message?.history.some((state) => state.attachmentNames.length === 2), said(failed)).toBe(true);
      expect(failed.message?.deleted).toBe(true);
      expect(await h.bot.ctx.storage.results.recent(guild.id)).toEqual(records);
      expect(readdirSync(resultsDir)).toEqual(kept);
      expect(await h.bot.ctx.queue.list()).toEqual([]);
      resizeTmpfs(resultsDir, 32 * 1024 * 1024);
    }, TEST_TIMEOUT_MS);

    it('GIVEN a guild model on a full models folder WHEN /train start THEN the admin is told, the disk is left as it was, and the previous model keeps serving /compose', async () => {
      onTestFailed(async () => console.error(await h.describeState()));
      const guild = h.server.guilds[1]!;
      const where = { guildId: guild.id, channelId: guild.textChannel.id };
      const admin = h.server.users.admin;
      const { modelsDir } = guildPaths(h.dataDir, guild.id);

      // Four pieces: with one, the corpus split holds it out for validation one run in ten.
      await addCorpusPieces(h, 4, where);

      // The guild's previous model, named so that a result shows which model composed it, on a
      // models disk it fills all but a few pages of.
      const staging = mkdtempSync(join(tmpdir(), 'motif-prev-model-'));
      const stagedModel = join(staging, 'previous');
      cpSync(h.config.defaultModelDir, stagedModel, { recursive: true });
      const specPath = join(stagedModel, 'spec.json');
      writeFileSync(specPath, JSON.stringify({ ...JSON.parse(readFileSync(specPath, 'utf8')), name: 'previous-guild-model' }, null, 2));
      const modelBytes = diskBytes(stagedModel);
      const weightsBytes = statSync(join(stagedModel, 'weights.bin')).size;
      mountTmpfs(modelsDir, modelBytes + 16 * PAGE);
      const previousDir = join(modelsDir, 'previous');
      cpSync(stagedModel, previousDir, { recursive: true });
      rmSync(staging, { recursive: true, force: true });
      const previous = {
        modelDir: guildKeys.modelVersion(guild.id, 'previous'), trainedAt: '2026-12-01T00:00:00.000Z', trainedBy: admin.id, epochs: 3,
        from: 'default' as const, corpusFiles: 1, metrics: { valNll: 1.6 }, summary: 'the previous model', lossCurveKey: `${guildKeys.modelVersion(guild.id, 'previous')}loss-curve.png`,
      };
      await h.bot.ctx.storage.models.set(guild.id, previous);
      await h.bot.ctx.storage.settings.update(guild.id, { model: 'guild' });

      const servesPrevious = async (): Promise<void> => {
        const before = (await h.bot.ctx.storage.results.recent(guild.id)).length;
        const r = await compose(where);
        expect(r.followUps, said(r)).toEqual([]);
        await waitUntil(async () => (await h.bot.ctx.storage.results.recent(guild.id)).length > before, JOB_WAIT_MS, 'the result record');
        expect((await h.bot.ctx.storage.results.recent(guild.id))[0]?.modelName).toBe('previous-guild-model');
      };
      const unchanged = async (): Promise<void> => {
        expect(await h.bot.ctx.storage.models.get(guild.id)).toEqual(previous);
        expect((await h.bot.ctx.storage.settings.get(guild.id)).model).toBe('guild');
        expect(readdirSync(modelsDir)).toEqual(['previous']);
        expect(diskBytes(previousDir)).toBe(modelBytes);
        expect(await h.bot.ctx.queue.list()).toEqual([]);
      };

      // 1. Already full: refused at once, privately, before the queue; no run is wasted.
      const refused = await h.server.waitForInteractionResponse(
        h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 1 }, user: admin, ...where }),
      );
      expect(refused.deferred, said(refused)).toBe(false);
      expect(refused.message?.content).toMatch(
        /^The server's disk is full: a new model needs about [\d.]+ MB and only \d+ KB is free, so training did not start\. This server keeps composing with its current model\. Tell the bot's operator, and run \/train again once space is freed\.$/,
      );
      expect(refused.message!.flags & MessageFlag.Ephemeral).toBeTruthy();
      await unchanged();
      await servesPrevious();

      // 2. Room to start but not to save: the run fills the disk while it saves. With room for 1.5
      // weight files, its epoch checkpoint (current and best weights, Adam's two moments) fills it;
      // with room for 4.5, the checkpoint fits and the finished model does not.
      for (const room of [1.5, 4.5]) {
        resizeTmpfs(modelsDir, modelBytes + 16 * PAGE + Math.round(room * weightsBytes));
        const train = h.server.sendSlashCommand({ name: 'train', subcommand: 'start', options: { epochs: 1 }, user: admin, ...where });
        const failed = await h.server.waitForInteractionResponse(train, (x) => x.followUps.length > 0, JOB_WAIT_MS);
        expect(failed.deferred, said(failed)).toBe(true);
        expect(failed.message?.history.some((state) => /^Training/.test(state.content))).toBe(true);
        const told = failed.followUps[0]!;
        expect(told.content).toBe(
          "The server's disk is full, so the new model could not be saved. This server keeps composing with its current model. Tell the bot's operator, and run /train again once space is freed.",
        );
        expect(told.flags & MessageFlag.Ephemeral).toBeTruthy();
        // The half-written model and its checkpoint are gone; the previous model is whole and in use.
        await unchanged();
        await servesPrevious();
      }
      const info = await h.server.waitForInteractionResponse(h.server.sendSlashCommand({ name: 'model', subcommand: 'info', ...where }));
      expect(info.message?.content).toMatch(/In use: \*\*guild\*\*/);
      expect(h.logLines.filter((line) => /incident/.test(line))).toEqual([]);
    }, TEST_TIMEOUT_MS);
  });
}
