/**
 * Spotify's Basic Pitch model (the `model/` folder shipped in `@spotify/basic-pitch`), run on
 * Motif's own tfjs 4 instead of the package's pinned tfjs 3.
 *
 * Only the model files are taken from the package: its JS code pins a second tfjs copy (whose WASM
 * path fails), leaks tensors and is 3–10× slower than this path.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { GraphModel, io, Tensor } from '@tensorflow/tfjs';
import { MotifError } from '../../errors.js';
import { initTf, type BackendName, type Tf } from '../tf.js';
import { installFastWasmKernels } from './wasm-kernels.js';

/** Fixed by the trained model (basic_pitch/constants.py). */
export const BASIC_PITCH_SAMPLE_RATE_HZ = 22_050;
/** Audio samples per output frame (≈ 11.6 ms, ≈ 86.1 frames per second). */
export const BASIC_PITCH_FRAME_HOP_SAMPLES = 256;
/** The model's fixed input length: 2 s minus one hop. */
export const BASIC_PITCH_WINDOW_SAMPLES = 43_844;
/** Output frames per input window. */
export const BASIC_PITCH_WINDOW_FRAMES = 172;
/** Output pitch bins: the 88 piano keys, A0 (MIDI 21) to C8 (MIDI 108). */
export const BASIC_PITCH_N_PITCHES = 88;
export const BASIC_PITCH_LOWEST_MIDI = 21;

/**
 * Frames dropped at each edge of a window, where the model sees half its context. Basic Pitch
 * drops 15 too; with 142 kept frames per window, a hop of exactly 142 × 256 samples makes the kept
 * frames tile the timeline with no drift (the stock package needs a "magic" offset instead).
 */
const EDGE_FRAMES = 15;
const KEPT_FRAMES = BASIC_PITCH_WINDOW_FRAMES - 2 * EDGE_FRAMES;
const HOP_SAMPLES = KEPT_FRAMES * BASIC_PITCH_FRAME_HOP_SAMPLES;
const LEAD_PAD_SAMPLES = EDGE_FRAMES * BASIC_PITCH_FRAME_HOP_SAMPLES;

const OUTPUT_FRAMES = 'Identity_1';
const OUTPUT_ONSETS = 'Identity_2';

/** Model activations, row-major `nFrames × 88`, each value 0–1. Frame i is at i × 256 / 22050 s. */
export interface BasicPitchActivations {
  nFrames: number;
  /** Probability that pitch p sounds in frame i: `frames[i * 88 + p]`. */
  frames: Float32Array;
  /** Probability that pitch p starts in frame i. */
  onsets: Float32Array;
}

export interface PredictOptions {
  /** Called after each window with the fraction done, 0–1. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface LoadOptions {
  /** Folder holding model.json and its weight shards; default: the one in @spotify/basic-pitch. */
  modelDir?: string;
  /** Backend choice forwarded to initTf (tests, benches). */
  prefer?: BackendName;
}

export function defaultModelDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@spotify/basic-pitch/model/model.json'));
}

/** Number of output frames for `sampleCount` samples of 22,050 Hz audio. */
export function frameCountForSamples(sampleCount: number): number {
  return Math.ceil(sampleCount / BASIC_PITCH_FRAME_HOP_SAMPLES);
}

export class BasicPitchModel {
  private constructor(
    private readonly tf: Tf,
    private readonly graph: GraphModel,
  ) {}

  /**
   * Loads the graph model from disk (plain tfjs cannot fetch file URLs).
   * @throws MotifError MODEL_NOT_FOUND when the files are missing, MODEL_CORRUPT when they do not parse.
   */
  static async load(opts: LoadOptions = {}): Promise<BasicPitchModel> {
    const { tf } = await initTf(opts.prefer ? { prefer: opts.prefer } : {});
    installFastWasmKernels(tf);
    const dir = opts.modelDir ?? defaultModelDir();
    const graph = await tf.loadGraphModel(diskHandler(dir)).catch((error: unknown) => {
      if (error instanceof MotifError) throw error;
      throw new MotifError('MODEL_CORRUPT', 'The transcription model files are damaged.', { cause: error, detail: dir });
    });
    return new BasicPitchModel(tf, graph);
  }

  /**
   * Runs the model over mono 22,050 Hz audio of any length, one window at a time, so memory stays
   * bounded by one window's tensors plus the returned activations (~60 KB per second of audio).
   * Every tensor created here is disposed before returning.
   * @param audio samples in −1…1 at 22,050 Hz.
   * @throws MotifError JOB_CANCELLED when `signal` aborts.
   */
  async predict(audio: Float32Array, opts: PredictOptions = {}): Promise<BasicPitchActivations> {
    const { tf } = this;
    const nFrames = frameCountForSamples(audio.length);
    const frames = new Float32Array(nFrames * BASIC_PITCH_N_PITCHES);
    const onsets = new Float32Array(nFrames * BASIC_PITCH_N_PITCHES);
    const nWindows = Math.max(1, Math.ceil(nFrames / KEPT_FRAMES));
    const window = new Float32Array(BASIC_PITCH_WINDOW_SAMPLES);
    for (let w = 0; w < nWindows; w++) {
      if (opts.signal?.aborted) throw new MotifError('JOB_CANCELLED', 'The transcription was cancelled.');
      // Window w starts LEAD_PAD_SAMPLES before its first kept frame; zeros outside the audio.
      const start = w * HOP_SAMPLES - LEAD_PAD_SAMPLES;
      window.fill(0);
      const from = Math.max(0, start);
      const to = Math.min(audio.length, start + BASIC_PITCH_WINDOW_SAMPLES);
      if (to > from) window.set(audio.subarray(from, to), from - start);

      const input = tf.tensor3d(window, [1, BASIC_PITCH_WINDOW_SAMPLES, 1]);
      let outputs: Tensor[] = [];
      try {
        outputs = this.graph.execute(input, [OUTPUT_FRAMES, OUTPUT_ONSETS]) as Tensor[];
        const [frameData, onsetData] = await Promise.all(outputs.map((t) => t.data<'float32'>()));
        const firstFrame = w * KEPT_FRAMES;
        const keep = Math.min(KEPT_FRAMES, nFrames - firstFrame);
        const srcStart = EDGE_FRAMES * BASIC_PITCH_N_PITCHES;
        const srcEnd = srcStart + keep * BASIC_PITCH_N_PITCHES;
        frames.set((frameData as Float32Array).subarray(srcStart, srcEnd), firstFrame * BASIC_PITCH_N_PITCHES);
        onsets.set((onsetData as Float32Array).subarray(srcStart, srcEnd), firstFrame * BASIC_PITCH_N_PITCHES);
      } finally {
        tf.dispose([input, ...outputs]);
      }
      opts.onProgress?.((w + 1) / nWindows);
    }
    return { nFrames, frames, onsets };
  }

  dispose(): void {
    this.graph.dispose();
  }
}

/** An IOHandler that reads model.json and its shards from a folder. */
function diskHandler(dir: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      let manifest: {
        modelTopology: object;
        format?: string;
        generatedBy?: string;
        convertedBy?: string;
        signature?: object;
        weightsManifest: Array<{ paths: string[]; weights: io.WeightsManifestEntry[] }>;
      };
      try {
        manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as typeof manifest;
      } catch (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        throw new MotifError(
          missing ? 'MODEL_NOT_FOUND' : 'MODEL_CORRUPT',
          missing ? 'The transcription model is not installed.' : 'The transcription model files are damaged.',
          { cause: error, detail: dir },
        );
      }
      const weightSpecs: io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of manifest.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const path of group.paths) shards.push(await readFile(join(dir, path)));
      }
      const all = Buffer.concat(shards);
      return {
        modelTopology: manifest.modelTopology,
        format: manifest.format,
        generatedBy: manifest.generatedBy,
        convertedBy: manifest.convertedBy ?? null,
        signature: manifest.signature,
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}
