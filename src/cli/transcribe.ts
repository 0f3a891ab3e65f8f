/**
 * `npm run transcribe -- IN.(mp3|wav|ogg|flac) --out DIR [--json] [--qpm 120] [--grid 4]`
 *
 * Writes DIR/<name>.mid. Progress goes to stderr; with --json the last stdout line is one JSON
 * object: { midiPath, noteCount, durationSeconds, timingsMs }. Exit code 1 on a user error (the
 * message is printed), 2 on usage errors, 3 on a bug.
 */
import { transcribeToMidiFile, type TranscribeStage } from '../jobs/transcription.js';
import { loadCoreConfig } from '../config.js';
import { prepareOutDir } from './cli-fs.js';
import { defineCli, EXIT_CODES_NOTE } from './define-cli.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

export const TRANSCRIBE_CLI = defineCli({
  name: 'transcribe',
  summary: 'Transcribe a recording (mp3/wav/ogg/flac) to <out>/<name>.mid with Basic Pitch.',
  positional: { name: 'IN.mp3', description: 'the recording (mp3, wav, ogg or flac; limits: MAX_AUDIO_BYTES, MAX_AUDIO_SECONDS)' },
  options: {
    out: { type: 'string', placeholder: 'DIR', required: true, description: 'output folder, created when missing' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
    qpm: { type: 'number', min: 20, max: 400, description: 'tempo of the MIDI grid, quarter notes per minute (default 120)' },
    grid: { type: 'int', min: 1, max: 96, description: 'grid steps per quarter note (default 4)' },
  },
  notes: [EXIT_CODES_NOTE],
});

const STAGE_LABELS: Record<TranscribeStage, string> = { decode: 'decoding', model: 'listening', notes: 'writing notes' };

if (isEntryPoint(import.meta.url)) process.exitCode = await runCliMain(TRANSCRIBE_CLI, async ({ values, input }) => {
  const qpm = values.qpm;
  const stepsPerQuarter = values.grid;
  // FFMPEG_PATH and the audio limits come from the one validated configuration, like every CLI's.
  const config = loadCoreConfig();
  const out = prepareOutDir('--out', values.out);
  const outDir = out.path;
  const started = performance.now();
  const bar = createProgressBar({ label: 'decoding' });
  try {
    const result = await transcribeToMidiFile(input!, outDir, {
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
    out.discardIfEmpty();
    return reportCliError(error);
  }
});


/** The model dominates the run time; decoding and note decoding are a few percent each. */
function overallFraction(stage: TranscribeStage, fraction: number): number {
  if (stage === 'decode') return 0.05 * fraction;
  if (stage === 'model') return 0.05 + 0.9 * fraction;
  return 0.95 + 0.05 * fraction;
}

