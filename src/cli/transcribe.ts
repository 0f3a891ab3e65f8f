/**
 * `npm run transcribe -- IN.(mp3|wav|ogg|flac) --out DIR [--json] [--qpm 120] [--grid 4]`
 *
 * Writes DIR/<name>.mid. Progress goes to stderr; with --json the last stdout line is one JSON
 * object: { midiPath, noteCount, durationSeconds, timingsMs }. Exit code 1 on a user error (the
 * message is printed), 2 on usage errors, 3 on a bug.
 */
import { parseArgs } from 'node:util';
import { transcribeToMidiFile, type TranscribeStage } from '../jobs/transcription.js';
import { loadCoreConfig } from '../config.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';

const USAGE = 'usage: npm run transcribe -- IN.mp3 --out DIR [--json] [--qpm 120] [--grid 4]';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        json: { type: 'boolean', default: false },
        qpm: { type: 'string' },
        grid: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const input = positionals[0];
  if (values.help || !input || !values.out || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const qpm = values.qpm === undefined ? undefined : Number(values.qpm);
  const stepsPerQuarter = values.grid === undefined ? undefined : Number(values.grid);
  if ((qpm !== undefined && !(qpm >= 20 && qpm <= 400)) || (stepsPerQuarter !== undefined && !(Number.isInteger(stepsPerQuarter) && stepsPerQuarter >= 1 && stepsPerQuarter <= 96))) {
    process.stderr.write(`--qpm must be 20–400 and --grid a whole number 1–96\n${USAGE}\n`);
    return 2;
  }

  // FFMPEG_PATH and the audio limits come from the one validated configuration, like every CLI's.
  let config;
  try {
    config = loadCoreConfig();
  } catch (error) {
    return reportCliError(error);
  }
  const started = performance.now();
  const bar = createProgressBar({ label: 'decoding' });
  try {
    const result = await transcribeToMidiFile(input, values.out, {
      ffmpegPath: config.ffmpegPath,
      maxBytes: config.maxAudioBytes,
      maxDurationSeconds: config.maxAudioSeconds,
      ...(qpm !== undefined ? { qpm } : {}),
      ...(stepsPerQuarter !== undefined ? { stepsPerQuarter } : {}),
      onProgress: (stage, fraction) => bar.update(overallFraction(stage, fraction), STAGE_LABELS[stage]),
    });
    bar.finish();
    const totalMs = performance.now() - started;
    const timingsMs = {
      decode: Math.round(result.timingsMs.decode),
      model: Math.round(result.timingsMs.model),
      notes: Math.round(result.timingsMs.notes),
      total: Math.round(totalMs),
    };
    process.stderr.write(
      `wrote ${result.midiPath}: ${result.sequence.notes.length} notes from ${result.durationSeconds.toFixed(1)} s of audio in ${(totalMs / 1000).toFixed(1)} s\n`,
    );
    if (values.json) {
      writeJsonResult({
        midiPath: result.midiPath,
        noteCount: result.sequence.notes.length,
        durationSeconds: Math.round(result.durationSeconds * 1000) / 1000,
        timingsMs,
      });
    }
    return 0;
  } catch (error) {
    bar.finish();
    return reportCliError(error);
  }
}

const STAGE_LABELS: Record<TranscribeStage, string> = { decode: 'decoding', model: 'listening', notes: 'writing notes' };

/** The model dominates the run time; decoding and note decoding are a few percent each. */
function overallFraction(stage: TranscribeStage, fraction: number): number {
  if (stage === 'decode') return 0.05 * fraction;
  if (stage === 'model') return 0.05 + 0.9 * fraction;
  return 0.95 + 0.05 * fraction;
}

process.exitCode = await main();
