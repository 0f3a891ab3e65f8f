/**
 * The real files the fuzzer mutates: every MIDI file of the datasets (edge cases and corpora) and
 * the audio test clips, cut to a few seconds so transcription stays cheap per case, plus a WAV of
 * each clip (so WAV headers get lied about too) and one 10-hour silent FLAC. Audio is prepared
 * once into a cache folder with ffmpeg and reused by later runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { resolveFfmpegPath } from '../audio/ffmpeg.js';
import type { FuzzInput, MutationPool } from './mutations.js';

const run = promisify(execFile);

const MIDI_EXT = new Set(['.mid', '.midi', '.kar', '.smf']);
const AUDIO_EXT = new Set(['.mp3', '.ogg', '.oga', '.flac', '.wav']);
/** Seconds kept of each clip: long enough for real frames, short enough for ~0.3 s per transcription. */
const CLIP_SECONDS = 4;

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

export interface PrepareOptions {
  /** The shared datasets folder (../shared/datasets from the project root). */
  datasetsDir: string;
  /** Where prepared audio is cached between runs. */
  cacheDir: string;
  ffmpegPath?: string;
  /** Skip audio entirely (MIDI-only runs). */
  withAudio: boolean;
}

/**
 * @throws Error when the datasets folder holds no MIDI file (wrong --datasets), or ffmpeg fails
 *   preparing audio.
 */
export async function prepareInputs(opts: PrepareOptions): Promise<MutationPool> {
  const files = await walk(opts.datasetsDir);
  const midi: FuzzInput[] = [];
  for (const path of files.filter((f) => MIDI_EXT.has(extname(f).toLowerCase()))) {
    midi.push({ source: relative(opts.datasetsDir, path), bytes: new Uint8Array(await readFile(path)), ext: extname(path).toLowerCase() });
  }
  if (midi.length === 0) throw new Error(`no MIDI files under ${opts.datasetsDir} (pass --datasets)`);
  const audio: FuzzInput[] = [];
  let tenHourSilence: FuzzInput = { source: 'none', bytes: new Uint8Array(0), ext: '.flac' };
  if (opts.withAudio) {
    const ffmpeg = resolveFfmpegPath(opts.ffmpegPath);
    await mkdir(opts.cacheDir, { recursive: true });
    const clips = files.filter((f) => f.includes('audio-test-clips') && AUDIO_EXT.has(extname(f).toLowerCase()));
    for (const clip of clips) {
      const ext = extname(clip).toLowerCase();
      const stem = relative(opts.datasetsDir, clip).replace(/[^A-Za-z0-9]+/g, '_');
      const short = await cached(join(opts.cacheDir, `${stem}${ext}`), (out) =>
        run(ffmpeg, ['-v', 'error', '-y', '-i', clip, '-t', String(CLIP_SECONDS), '-map', '0:a:0', '-c', 'copy', out]),
      );
      const wav = await cached(join(opts.cacheDir, `${stem}.wav`), (out) =>
        run(ffmpeg, ['-v', 'error', '-y', '-i', clip, '-t', String(CLIP_SECONDS), '-ac', '1', '-ar', '22050', '-c:a', 'pcm_s16le', out]),
      );
      for (const path of [short, wav]) {
        audio.push({ source: `${relative(opts.datasetsDir, clip)} (${basename(path) === basename(short) ? `first ${CLIP_SECONDS} s` : `first ${CLIP_SECONDS} s as WAV`})`, bytes: new Uint8Array(await readFile(path)), ext: extname(path) });
      }
    }
    if (audio.length === 0) throw new Error(`no audio clips under ${opts.datasetsDir}/audio-test-clips`);
    const silence = await cached(join(opts.cacheDir, 'silence-10h.flac'), (out) =>
      run(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '36000', '-c:a', 'flac', out]),
    );
    tenHourSilence = { source: 'prepared: 10 hours of silence, FLAC 8 kHz', bytes: new Uint8Array(await readFile(silence)), ext: '.flac' };
  }
  return { midi, audio, tenHourSilence };
}

/** Makes `path` once (to a temp name, renamed when complete) and returns it. */
async function cached(path: string, make: (out: string) => Promise<unknown>): Promise<string> {
  if (existsSync(path)) return path;
  const temp = `${path}.partial${extname(path)}`;
  await make(temp);
  await rename(temp, path);
  return path;
}
