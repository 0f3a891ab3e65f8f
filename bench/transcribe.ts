/**
 * Transcription speed, ours vs the stock `@spotify/basic-pitch` package, on the same decoded
 * audio in the same process. "x realtime" = audio seconds / wall seconds for samples → notes
 * (model + note decoding); decoding the file is timed separately.
 *
 * The stock package is used here only: it brings its own tfjs 3 (CPU backend in Node) and is run
 * the way its README shows (evaluateModel → outputToNotesPoly → noteFramesToTime).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeAudio } from '../src/audio/decode.js';
import { sharedBasicPitchModel, transcribeAudio, transcribeSamples } from '../src/jobs/transcription.js';

const execFileAsync = promisify(execFile);
const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** 5.3 s monophonic trumpet phrase (CC BY 3.0): short enough for the slow stock path. */
const BENCH_FILE = join(PROJECT_ROOT, '../shared/datasets/audio-test-clips/librosa-examples/sorohanro_-_solo-trumpet-06.hq.ogg');

export async function benchTranscribe(): Promise<Record<string, number>> {
  const decoded = await decodeAudio(BENCH_FILE);
  const audioSeconds = decoded.durationSeconds;

  const loadStart = performance.now();
  await sharedBasicPitchModel();
  const loadMs = performance.now() - loadStart;
  await transcribeSamples(decoded.samples); // warm-up: kernel setup, first-call compilation
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await transcribeSamples(decoded.samples);
    runs.push(performance.now() - t0);
  }
  const bestMs = Math.min(...runs);
  const e2eStart = performance.now();
  await transcribeAudio(BENCH_FILE);
  const e2eMs = performance.now() - e2eStart;

  const stock = await runStock(decoded.samples);
  process.stderr.write(`stock @spotify/basic-pitch ran on its tfjs ${stock.backend} backend\n`);
  return {
    transcribe_audio_seconds: round(audioSeconds),
    transcribe_model_load_ms: Math.round(loadMs),
    transcribe_x_realtime: round(audioSeconds / (bestMs / 1000)),
    transcribe_x_realtime_with_decode: round(audioSeconds / (e2eMs / 1000)),
    transcribe_x_realtime_stock: round(audioSeconds / (stock.ms / 1000)),
  };
}

/**
 * Wall time of the stock package on `samples`, after a one-window warm-up, ms, measured in a fresh Node
 * process. In-process it would not be the stock path: tfjs 3 and 4 share one global engine and
 * kernel registry, so the package would silently run on our WASM backend and kernels.
 */
async function runStock(samples: Float32Array): Promise<{ ms: number; backend: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'motif-bench-'));
  try {
    const samplesPath = join(dir, 'samples.f32');
    await writeFile(samplesPath, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    const { stdout } = await execFileAsync(process.execPath, ['-e', STOCK_SCRIPT, samplesPath], {
      cwd: PROJECT_ROOT,
      maxBuffer: 1 << 20,
    });
    const last = stdout.trim().split('\n').at(-1) ?? '{}';
    return JSON.parse(last) as { ms: number; backend: string };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** CommonJS run in the child: only the stock package and its own tfjs 3 are loaded. */
const STOCK_SCRIPT = `
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const stock = require('@spotify/basic-pitch');
const tf = require(require.resolve('@tensorflow/tfjs', { paths: [dirname(require.resolve('@spotify/basic-pitch'))] }));
const modelDir = dirname(require.resolve('@spotify/basic-pitch/model/model.json'));
const manifest = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8'));
const weights = readFileSync(join(modelDir, manifest.weightsManifest[0].paths[0]));
const model = tf.loadGraphModel({ load: async () => ({
  modelTopology: manifest.modelTopology,
  weightSpecs: manifest.weightsManifest[0].weights,
  weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
}) });
const raw = readFileSync(process.argv[1]);
const samples = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const basicPitch = new stock.BasicPitch(model);
async function once(audio) {
  const frames = [], onsets = [];
  const t0 = performance.now();
  await basicPitch.evaluateModel(audio, (f, o) => { frames.push(...f); onsets.push(...o); }, () => {});
  stock.noteFramesToTime(stock.outputToNotesPoly(frames, onsets, 0.5, 0.3, 11));
  return performance.now() - t0;
}
(async () => {
  await once(samples.subarray(0, 22050)); // warm-up on one window: the full run takes ~20 s
  const ms = await once(samples);
  process.stdout.write(JSON.stringify({ ms, backend: tf.getBackend() }) + '\\n');
})();
`;

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
