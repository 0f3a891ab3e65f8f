/**
 * Start-up checks of the SQLite storage file, so a damaged or lost database stops the bot with one
 * line (what is wrong, which file, what to do) instead of a stack trace ("database.query is not a
 * function") or, worse, a silent fresh start that forgets every guild's settings, seeds and corpus.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MotifError } from '../errors.js';

const SQLITE_MAGIC = 'SQLite format 3\0';

/** `sqlite://FILE` → FILE, or undefined for another backend or an in-memory database. */
export function sqliteFileOf(url: string): string | undefined {
  if (!url.startsWith('sqlite://')) return undefined;
  const file = url.slice('sqlite://'.length);
  return file === ':memory:' || file === '' ? undefined : file;
}

/** Guild folders under DATA_DIR that hold anything: signs that a database existed here before. */
async function guildFoldersWithData(dataDir: string): Promise<number> {
  const guildsDir = join(dataDir, 'guilds');
  let names: string[];
  try {
    names = await readdir(guildsDir);
  } catch {
    return 0;
  }
  let count = 0;
  for (const name of names) {
    try {
      if ((await readdir(join(guildsDir, name))).length > 0) count++;
    } catch {
      // not a folder
    }
  }
  return count;
}

function corrupt(file: string, why: string): MotifError {
  return new MotifError(
    'STORAGE_CORRUPT',
    `The storage file ${file} is damaged (${why}). Restore it from a backup, or move it away (mv "${file}" "${file}.damaged") to start with empty storage.`,
  );
}

/**
 * Before the file is opened: refuses a file that is not SQLite, and a missing or 0-byte file when
 * DATA_DIR still holds guild folders (earlier data would silently be replaced by an empty store).
 * @throws MotifError STORAGE_CORRUPT or STORAGE_MISSING, each with a one-line message.
 */
export async function checkSqliteFileBeforeOpen(file: string, dataDir: string | undefined): Promise<void> {
  let size: number | undefined;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw corrupt(file, 'it is not a regular file');
    size = info.size;
  } catch (error) {
    if (error instanceof MotifError) throw error;
    size = undefined;
  }
  if (size === undefined || size === 0) {
    const guilds = dataDir ? await guildFoldersWithData(dataDir) : 0;
    if (guilds === 0) return; // a first start: an empty store is right
    const state = size === undefined ? 'is missing' : 'is empty (0 bytes)';
    throw new MotifError(
      'STORAGE_MISSING',
      `The storage file ${file} ${state}, but ${join(dataDir ?? '', 'guilds')} holds files of ${guilds} server${guilds === 1 ? '' : 's'}: starting would forget their settings, seeds and corpus. Restore the file from a backup, or move that guilds folder away to really start empty.`,
    );
  }
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await handle.read(head, 0, 16, 0);
    if (bytesRead < 16 || head.toString('latin1') !== SQLITE_MAGIC) throw corrupt(file, 'it is not an SQLite database');
  } finally {
    await handle.close();
  }
}

/**
 * After opening: the file's own integrity check, through the adapter's query function.
 * @throws MotifError STORAGE_CORRUPT when the check fails or cannot run.
 */
export async function checkSqliteIntegrity(file: string, query: (sql: string) => Promise<unknown>): Promise<void> {
  let rows: unknown;
  try {
    rows = await query('PRAGMA quick_check');
  } catch (error) {
    throw corrupt(file, error instanceof Error ? error.message.replace(/\s+/g, ' ').slice(0, 120) : 'it cannot be read');
  }
  const first = Array.isArray(rows) ? (rows[0] as Record<string, unknown> | undefined) : undefined;
  const verdict = first ? String(Object.values(first)[0]) : 'no answer';
  if (verdict !== 'ok') throw corrupt(file, `integrity check: ${verdict.replace(/\s+/g, ' ').slice(0, 120)}`);
}
