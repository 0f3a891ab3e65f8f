/**
 * `npm run compose -- --length 100 [--seed IN.mid] [--temperature T] [--top-p P] [--key "A minor"]
 *   [--instrument PROGRAM] [--tempo QPM] [--model DIR] [--soundfont NAME] [--out DIR] [--name BASE]
 *   [--random-seed N] [--ogg] [--json]`
 *
 * Writes <out>/<name>.mid, .mp3 and .png (and .ogg with --ogg). `--length` counts notes-or-chords;
 * with --seed the result is the seed followed by `length` new ones.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCoreConfig } from '../config.js';
import { composePiece } from '../jobs/compose.js';
import { DEFAULT_STYLE, parseStyle, styleModelDir, STYLE_NAMES } from '../jobs/styles.js';
import { readMidiFile } from '../music/midi-io.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';

const USAGE =
  'usage: npm run compose -- --length N [--seed IN.mid] [--temperature T] [--top-p P] [--key "A minor"]\n' +
  '         [--style ' + STYLE_NAMES.join('|') + '] [--instrument 0-127] [--tempo QPM] [--model DIR] [--soundfont NAME] [--soundfont-dir DIR]\n' +
  '         [--out DIR] [--name BASE] [--random-seed N] [--ogg] [--json]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        length: { type: 'string', default: '100' },
        seed: { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        key: { type: 'string' },
        instrument: { type: 'string' },
        tempo: { type: 'string' },
        model: { type: 'string' },
        style: { type: 'string' },
        soundfont: { type: 'string' },
        'soundfont-dir': { type: 'string' },
        out: { type: 'string', default: 'out' },
        name: { type: 'string' },
        'random-seed': { type: 'string' },
        ogg: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const num = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text));
  const bar = createProgressBar({ label: 'composing' });
  try {
    // Defaults (model folder, SoundFonts, ffmpeg) come from .env / the environment, validated once.
    const config = loadCoreConfig();
    // A style picks the model and the sampling defaults; --model (a folder of your own) overrides the model.
    const style = parseStyle(values.style ?? DEFAULT_STYLE);
    const seed = values.seed ? await readMidiFile(values.seed, { stepsPerQuarter: 4 }) : undefined;
    const result = await composePiece(
      {
        length: Number(values.length),
        temperature: num(values.temperature) ?? style.temperature,
        topP: num(values['top-p']) ?? style.topP,
        key: values.key,
        program: num(values.instrument) ?? (seed ? undefined : style.program),
        qpm: num(values.tempo) ?? (seed ? undefined : style.qpm),
        seed,
        style: values.model ? undefined : style.name,
        modelDir: values.model ? resolve(values.model) : styleModelDir(config.modelsDir, style),
        soundfont: values.soundfont ?? config.defaultSoundfont,
        randomSeed: num(values['random-seed']),
        outDir: resolve(values.out),
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
    return reportCliError(error);
  }
}

process.exitCode = await main();
