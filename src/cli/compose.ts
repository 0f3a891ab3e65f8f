/**
 * `npm run compose -- --length 100 …` (options: COMPOSE_CLI below, or `--help`).
 *
 * Writes <out>/<name>.mid, .mp3 and .png (and .ogg with --ogg). `--length` counts notes-or-chords;
 * with --seed the result is the seed followed by `length` new ones.
 */
import { resolve } from 'node:path';
import { loadCoreConfig } from '../config.js';
import { composePiece } from '../jobs/compose.js';
import { DEFAULT_STYLE, STYLE_NAMES, STYLES, styleModelDir, styleRequestFields } from '../jobs/styles.js';
import { readMidiFile } from '../music/midi-io.js';
import { prepareOutDir } from './cli-fs.js';
import { defineCli, EXIT_CODES_NOTE, UsageError } from './define-cli.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

export const COMPOSE_CLI = defineCli({
  name: 'compose',
  summary: 'Sample a piece from a model and write <out>/<name>.mid, .mp3 and .png (and .ogg with --ogg).',
  options: {
    length: { type: 'int', min: 1, max: 2000, default: 100, description: 'new notes-or-chords to sample (MAX_COMPOSE_LENGTH may lower the maximum)' },
    seed: { type: 'string', placeholder: 'IN.mid', description: 'continue this MIDI file (the result is the seed plus --length new ones)' },
    temperature: { type: 'number', min: 0.05, max: 5, description: 'sampling temperature; higher is wilder (default: the model’s)' },
    'top-p': { type: 'number', min: 0.01, max: 1, placeholder: 'P', description: 'nucleus sampling: keep the most likely tokens up to this probability' },
    key: { type: 'string', placeholder: '"A minor"', description: 'steer the piece towards this key' },
    instrument: { type: 'int', min: 0, max: 127, placeholder: 'PROGRAM', description: 'General MIDI program to play it with' },
    tempo: { type: 'int', min: 20, max: 300, placeholder: 'QPM', description: 'quarter notes per minute' },
    style: { type: 'string', choices: STYLE_NAMES, default: DEFAULT_STYLE, description: 'what to compose: picks the model under MODELS_DIR and the sampling, tempo and instrument defaults' },
    model: { type: 'string', placeholder: 'DIR', description: 'a model folder of your own instead of the style’s (the style’s sampling defaults still apply)' },
    soundfont: { type: 'string', placeholder: 'NAME', description: 'SoundFont name (see npm run render -- --list-soundfonts)' },
    'soundfont-dir': { type: 'string', placeholder: 'DIR', description: 'folder of extra SoundFonts (default: SOUNDFONTS_DIR)' },
    out: { type: 'string', placeholder: 'DIR', default: 'out', description: 'output folder, created when missing' },
    name: { type: 'string', placeholder: 'BASE', description: 'file name without extension (default motif-<random seed>)' },
    'random-seed': { type: 'int', min: 0, max: 2 ** 31 - 1, description: 'makes the piece reproducible' },
    ogg: { type: 'boolean', description: 'also write the Ogg/Opus voice file' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  notes: [EXIT_CODES_NOTE],
});

if (isEntryPoint(import.meta.url)) process.exitCode = await runCliMain(COMPOSE_CLI, async ({ values }) => {
  // Defaults (model folder, SoundFonts, ffmpeg) come from .env / the environment, validated once.
  const config = loadCoreConfig();
  if (values.length > config.maxComposeLength) {
    throw new UsageError(`--length must be a whole number from 1 to ${config.maxComposeLength} (MAX_COMPOSE_LENGTH; got ${values.length})`);
  }
  const out = prepareOutDir('--out', values.out);
  const outDir = out.path;
  const bar = createProgressBar({ label: 'composing' });
  try {
    const seed = values.seed ? await readMidiFile(values.seed, { stepsPerQuarter: 4 }) : undefined;
    const style = STYLES[values.style as keyof typeof STYLES];
    const result = await composePiece(
      {
        length: values.length,
        ...styleRequestFields(style, { temperature: values.temperature, topP: values['top-p'], program: values.instrument, qpm: values.tempo }, seed !== undefined),
        key: values.key,
        seed,
        style: values.model ? undefined : style.name,
        modelDir: values.model ? resolve(values.model) : styleModelDir(config.modelsDir, style),
        soundfont: values.soundfont ?? config.defaultSoundfont,
        randomSeed: values['random-seed'],
        outDir,
        baseName: values.name,
        withOpus: values.ogg,
        soundfontDir: values['soundfont-dir'] ? resolve(values['soundfont-dir']) : config.soundfontsDir,
        ffmpegPath: config.ffmpegPath,
        maxLength: config.maxComposeLength,
      },
      { reportProgress: (p) => bar.update(p.fraction, p.stage) },
    );
    bar.finish();
    process.stderr.write(
      `wrote ${result.midiPath}, ${result.mp3Path} and ${result.pngPath}: ${result.generatedEvents} notes-or-chords ` +
        `(${result.noteCount} notes, ${result.durationSeconds.toFixed(1)} s, ${result.keyGuess}, ${result.qpm} qpm) ` +
        `from ${result.modelName}${result.style ? ` (${result.style})` : ''}, random seed ${result.randomSeed}` +
        (result.longestCopiedRun !== undefined ? `, longest run copied from training data: ${result.longestCopiedRun} notes` : '') +
        ` in ${result.timingsMs.total} ms\n`,
    );
    if (values.json) {
      const { sequence: _sequence, ...summary } = result;
      writeJsonResult(summary);
    }
    return 0;
  } catch (error) {
    bar.finish();
    out.discardIfEmpty();
    return reportCliError(error);
  }
});
