/**
 * `npm run render -- IN.mid --out DIR [--soundfont NAME] [--soundfont-dir DIR] [--ogg] [--json]`
 *
 * Writes DIR/<name>.mp3 and DIR/<name>.png (+ DIR/<name>.ogg with --ogg), where <name> is the
 * input's file name without extension. With --json the last stdout line is one JSON object:
 * { mp3Path, pngPath, oggPath?, noteCount, durationSeconds, soundfont, timingsMs }.
 * Exit codes: 0 ok, 1 user error (message printed), 2 usage, 3 bug.
 */
import { basename, extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderPiece } from '../audio/render-piece.js';
import { loadCoreConfig } from '../config.js';
import { listSoundfonts } from '../audio/soundfonts.js';
import { assertHasNotes, readMidiFile } from '../music/midi-io.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';

const USAGE =
  'usage: npm run render -- IN.mid --out DIR [--soundfont NAME] [--soundfont-dir DIR] [--ogg] [--json]\n' +
  '       npm run render -- --list-soundfonts [--soundfont-dir DIR]';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        soundfont: { type: 'string' },
        'soundfont-dir': { type: 'string' },
        ogg: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'list-soundfonts': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  // SOUNDFONTS_DIR and FFMPEG_PATH come from the one validated configuration, like every CLI's.
  let config;
  try {
    config = loadCoreConfig();
  } catch (error) {
    return reportCliError(error);
  }
  const soundfontDir = values['soundfont-dir'] ? resolve(values['soundfont-dir']) : config.soundfontsDir;
  if (values['list-soundfonts']) {
    for (const f of listSoundfonts(soundfontDir)) process.stdout.write(`${f.name}\t${f.source}\t${f.path}\n`);
    return 0;
  }
  const input = positionals[0];
  if (values.help || !input || !values.out || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }

  const started = performance.now();
  const bar = createProgressBar({ label: 'reading' });
  try {
    const seq = await readMidiFile(input);
    assertHasNotes(seq);
    const readMs = performance.now() - started;
    const result = await renderPiece(seq, {
      outDir: resolve(values.out),
      baseName: basename(input, extname(input)) || 'render',
      soundfontDir,
      ffmpegPath: config.ffmpegPath,
      ...(values.soundfont !== undefined ? { soundfont: values.soundfont } : {}),
      ogg: values.ogg,
      onProgress: (p) => bar.update(p.fraction, p.stage),
    });
    bar.finish();
    const timingsMs = {
      readMidi: Math.round(readMs),
      pianoRoll: result.timingsMs.pianoRoll,
      synthesize: result.timingsMs.synthesize,
      encode: result.timingsMs.encode,
      total: Math.round(performance.now() - started),
    };
    process.stderr.write(
      `wrote ${result.audioPath}${result.oggPath ? `, ${result.oggPath}` : ''} and ${result.pngPath ?? ''}: ` +
        `${result.noteCount} notes, ${result.durationSeconds.toFixed(1)} s of audio (${result.soundfont}) in ${(timingsMs.total / 1000).toFixed(1)} s\n`,
    );
    if (values.json) {
      writeJsonResult({
        mp3Path: result.audioPath,
        pngPath: result.pngPath,
        ...(result.oggPath ? { oggPath: result.oggPath } : {}),
        noteCount: result.noteCount,
        durationSeconds: Math.round(result.durationSeconds * 1000) / 1000,
        pieceDurationSeconds: Math.round(result.pieceDurationSeconds * 1000) / 1000,
        soundfont: result.soundfont,
        timingsMs,
      });
    }
    return 0;
  } catch (error) {
    bar.finish();
    return reportCliError(error);
  }
}

process.exitCode = await main();
