/**
 * `npm run render -- IN.mid --out DIR [--soundfont NAME] [--soundfont-dir DIR] [--ogg] [--json]`
 *
 * Writes DIR/<name>.mp3 and DIR/<name>.png (+ DIR/<name>.ogg with --ogg), where <name> is the
 * input's file name without extension. With --json the last stdout line is one JSON object:
 * { mp3Path, pngPath, oggPath?, noteCount, durationSeconds, soundfont, timingsMs }.
 * Exit codes: 0 ok, 1 user error (message printed), 2 usage, 3 bug.
 */
import { basename, extname, resolve } from 'node:path';
import { renderPiece } from '../audio/render-piece.js';
import { loadCoreConfig } from '../config.js';
import { listSoundfonts } from '../audio/soundfonts.js';
import { assertHasNotes, readMidiFile } from '../music/midi-io.js';
import { prepareOutDir } from './cli-fs.js';
import { defineCli, EXIT_CODES_NOTE, UsageError } from './define-cli.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

export const RENDER_CLI = defineCli({
  name: 'render',
  summary: 'Render a MIDI file to <out>/<name>.mp3 and a piano-roll <name>.png (and .ogg with --ogg).',
  positional: { name: 'IN.mid', description: 'the MIDI file to render (required unless --list-soundfonts)', optional: true },
  options: {
    out: { type: 'string', placeholder: 'DIR', description: 'output folder, created when missing (required unless --list-soundfonts)' },
    soundfont: { type: 'string', placeholder: 'NAME', description: 'SoundFont name (default: DEFAULT_SOUNDFONT or the bundled one)' },
    'soundfont-dir': { type: 'string', placeholder: 'DIR', description: 'folder of extra SoundFonts (default: SOUNDFONTS_DIR)' },
    ogg: { type: 'boolean', description: 'also write the Ogg/Opus voice file' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
    'list-soundfonts': { type: 'boolean', description: 'list the SoundFonts (name, source, path) and exit' },
  },
  notes: [EXIT_CODES_NOTE],
});

if (isEntryPoint(import.meta.url)) process.exitCode = await runCliMain(RENDER_CLI, async ({ values, input }) => {
  // SOUNDFONTS_DIR and FFMPEG_PATH come from the one validated configuration, like every CLI's.
  const config = loadCoreConfig();
  const soundfontDir = values['soundfont-dir'] ? resolve(values['soundfont-dir']) : config.soundfontsDir;
  if (values['list-soundfonts']) {
    for (const f of listSoundfonts(soundfontDir)) process.stdout.write(`${f.name}\t${f.source}\t${f.path}\n`);
    return 0;
  }
  if (input === undefined) throw new UsageError('IN.mid is required: the MIDI file to render');
  if (values.out === undefined) throw new UsageError('--out is required: the output folder');
  const out = prepareOutDir('--out', values.out);
  const outDir = out.path;

  const started = performance.now();
  const bar = createProgressBar({ label: 'reading' });
  try {
    const seq = await readMidiFile(input);
    assertHasNotes(seq);
    const readMs = performance.now() - started;
    const result = await renderPiece(seq, {
      outDir,
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
    out.discardIfEmpty();
    return reportCliError(error);
  }
});
