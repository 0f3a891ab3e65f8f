/**
 * Loading SoundFonts by name, and an in-process cache of parsed banks. Which names exist is
 * decided in soundfont-names.ts (re-exported here), the one list `/settings` checks too.
 */
import { readFileSync, statSync } from 'node:fs';
import { BasicSoundBank, SoundBankLoader, SpessaLog } from 'spessasynth_core';
import { MotifError } from '../errors.js';
import { DEFAULT_SOUNDFONT, resolveSoundfont, type SoundfontInfo } from './soundfont-names.js';

export { DEFAULT_SOUNDFONT, listSoundfonts, resolveSoundfont, type SoundfontInfo } from './soundfont-names.js';

// spessasynth's SF3 (Vorbis) decoder is WASM that initialises asynchronously. A sample first
// played before it is ready decodes to silence, and stays silent for the life of the cached bank.
// Waiting here, at import, lets every function below stay synchronous and always be safe.
await BasicSoundBank.isSF3DecoderReady;

/** Larger files are refused before reading: a bank this big would not fit the render's memory budget. */
const MAX_SOUNDFONT_BYTES = 512 * 1024 * 1024;

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
