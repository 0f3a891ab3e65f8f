/**
 * Issue 13 part 4: a damaged or lost SQLite storage file stops start-up with one line (what is
 * wrong, which file, what to do) instead of "database.query is not a function" and a stack trace,
 * or a silent fresh start. Real files: garbage, a real database with damaged pages, 0 bytes, none.
 */
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { openStorage } from '../../src/storage/index.js';
import { startDiscordServer } from '../support/discord-server/index.js';
import { runCli } from '../support/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'motif-damaged-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let caseNo = 0;
/** A fresh DATA_DIR; with `guilds`, one guild folder holding a corpus file (as after real use). */
function dataDir(opts: { guilds?: boolean } = {}): string {
  const dir = join(root, `case-${caseNo++}`);
  mkdirSync(dir, { recursive: true });
  if (opts.guilds) {
    mkdirSync(join(dir, 'guilds', '123456789012345678', 'corpus'), { recursive: true });
    writeFileSync(join(dir, 'guilds', '123456789012345678', 'corpus', 'abcd1234.mid'), 'MThd');
  }
  return dir;
}

async function refusal(url: string, dir: string): Promise<MotifError> {
  try {
    const storage = await openStorage(url, { dataDir: dir });
    await storage.close();
  } catch (error) {
    if (error instanceof MotifError) return error;
    throw error;
  }
  throw new Error('the storage opened');
}

/** A real database with a few records in it. */
async function realDatabase(file: string): Promise<void> {
  const storage = await openStorage(`sqlite://${file}`);
  for (let i = 0; i < 200; i++) await storage.settings.update(String(100000 + i), { qpm: 60 + (i % 100) });
  await storage.close();
}

describe('a damaged SQLite storage file', () => {
  it('GIVEN a file of text where the database should be WHEN storage opens THEN STORAGE_CORRUPT in one line naming the file and both ways out', async () => {
    const dir = dataDir({ guilds: true });
    const file = join(dir, 'motif.sqlite');
    writeFileSync(file, 'this is not a database, someone overwrote it\n'.repeat(100));
    const error = await refusal(`sqlite://${file}`, dir);
    expect(error.code).toBe('STORAGE_CORRUPT');
    expect(error.userMessage).toBe(
      `The storage file ${file} is damaged (it is not an SQLite database). Restore it from a backup, or move it away (mv "${file}" "${file}.damaged") to start with empty storage.`,
    );
    expect(error.userMessage).not.toContain('\n');
    // Nothing was replaced: the damaged file is still there for a rescue attempt.
    expect(readFileSync(file, 'utf8')).toMatch(/^this is not a database/);
  });

  it('GIVEN a real database whose pages after the header were overwritten WHEN storage opens THEN STORAGE_CORRUPT, one line', async () => {
    const dir = dataDir();
    const file = join(dir, 'motif.sqlite');
    await realDatabase(file);
    const fd = openSync(file, 'r+');
    // Keep the 100-byte header valid; scribble over the rest of page 1 (the schema) and page 2.
    writeSync(fd, Buffer.alloc(8000, 0xa5), 0, 8000, 100);
    closeSync(fd);
    const error = await refusal(`sqlite://${file}`, dir);
    expect(error.code).toBe('STORAGE_CORRUPT');
    expect(error.userMessage).toMatch(new RegExp(`^The storage file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} (is damaged|cannot be read) \\(.+\\)\\. Restore it from a backup, or move it away`));
    expect(error.userMessage).not.toContain('\n');
  });

  it('GIVEN a 0-byte database next to guild folders WHEN storage opens THEN STORAGE_MISSING says data would be forgotten, and nothing is created', async () => {
    const dir = dataDir({ guilds: true });
    const file = join(dir, 'motif.sqlite');
    writeFileSync(file, '');
    const error = await refusal(`sqlite://${file}`, dir);
    expect(error.code).toBe('STORAGE_MISSING');
    expect(error.userMessage).toBe(
      `The storage file ${file} is empty (0 bytes), but ${join(dir, 'guilds')} holds files of 1 server: starting would forget their settings, seeds and corpus. Restore the file from a backup, or move that guilds folder away to really start empty.`,
    );
    expect(readFileSync(file)).toHaveLength(0);
  });

  it('GIVEN a missing database next to guild folders WHEN storage opens THEN STORAGE_MISSING and no new file', async () => {
    const dir = dataDir({ guilds: true });
    const file = join(dir, 'motif.sqlite');
    const error = await refusal(`sqlite://${file}`, dir);
    expect(error.code).toBe('STORAGE_MISSING');
    expect(error.userMessage).toMatch(/is missing, but .* holds files of 1 server/);
    expect(existsSync(file)).toBe(false);
  });

  it('GIVEN a first start (no database, no guild folders) or a 0-byte file alone WHEN storage opens THEN it starts empty', async () => {
    for (const zeroBytes of [false, true]) {
      const dir = dataDir();
      const file = join(dir, 'motif.sqlite');
      if (zeroBytes) writeFileSync(file, '');
      const storage = await openStorage(`sqlite://${file}`, { dataDir: dir });
      await storage.settings.update('42', { qpm: 90 });
      expect((await storage.settings.get('42')).qpm).toBe(90);
      await storage.close();
    }
  });

  it('GIVEN a healthy database with data WHEN storage opens THEN the checks pass and the data is there', async () => {
    const dir = dataDir({ guilds: true });
    const file = join(dir, 'motif.sqlite');
    await realDatabase(file);
    const storage = await openStorage(`sqlite://${file}`, { dataDir: dir });
    expect((await storage.settings.get('100001')).qpm).toBe(61);
    await storage.close();
  });
});

describe('npm start with a damaged database', () => {
  it('GIVEN a corrupt motif.sqlite in DATA_DIR WHEN the bot starts THEN it exits 1 after exactly one line, no stack trace', async () => {
    // A Discord that accepts the token (the local server), so start-up gets past the token check,
    // which comes first, and reaches the storage.
    const server = await startDiscordServer();
    try {
      const dir = dataDir({ guilds: true });
      const file = join(dir, 'motif.sqlite');
      writeFileSync(file, Buffer.alloc(4096, 0x42));
      const { code, stderr, stdout } = await runCli('../bot/main', [], {
        DISCORD_TOKEN: server.token,
        DISCORD_CLIENT_ID: server.applicationId,
        DISCORD_API_URL: server.apiUrl,
        DATA_DIR: dir,
        STORAGE_URL: '',
        LOG_LEVEL: 'error',
      });
      expect(code).toBe(1);
      const lines = stderr.trim().split('\n');
      expect(lines, stderr).toHaveLength(1);
      // Start-up failures are the plain message (no log envelope), the same text openStorage gives.
      expect(lines[0]).toBe(
        `The storage file ${file} is damaged (it is not an SQLite database). Restore it from a backup, or move it away (mv "${file}" "${file}.damaged") to start with empty storage.`,
      );
      expect(stderr + stdout).not.toMatch(/database\.query is not a function|\n\s+at /);
      // It really got past the token check to the storage (and stopped there).
      expect(server.requests.some((q) => q.method === 'GET' && q.path === '/users/@me' && q.status === 200)).toBe(true);
    } finally {
      await server.close();
    }
  }, 60_000);
});
