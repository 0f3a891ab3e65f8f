import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, type Tf } from '../../src/ml/tf.js';
import {
  BASIC_PITCH_FRAME_HOP_SAMPLES,
  BASIC_PITCH_LOWEST_MIDI,
  BASIC_PITCH_N_PITCHES,
  BASIC_PITCH_SAMPLE_RATE_HZ,
  BasicPitchModel,
  frameCountForSamples,
} from '../../src/ml/basic-pitch/model.js';
import { installFastWasmKernels } from '../../src/ml/basic-pitch/wasm-kernels.js';

const SR = BASIC_PITCH_SAMPLE_RATE_HZ;
const FPS = SR / BASIC_PITCH_FRAME_HOP_SAMPLES;

/** A4 (MIDI 69) as a decaying harmonic tone from `startSeconds` to `endSeconds`, in silence. */
function toneClip(totalSeconds: number, startSeconds: number, endSeconds: number): Float32Array {
  const samples = new Float32Array(Math.round(totalSeconds * SR));
  for (let i = Math.round(startSeconds * SR); i < Math.round(endSeconds * SR); i++) {
    const t = i / SR - startSeconds;
    const env = Math.exp(-t * 1.5) * Math.min(1, t * 200);
    let v = 0;
    for (let h = 1; h <= 4; h++) v += Math.sin(2 * Math.PI * 440 * h * t) / h;
    samples[i] = 0.3 * env * v;
  }
  return samples;
}

/** Frame index with the largest onset activation for `pitchMidi`. */
function strongestOnsetFrame(onsets: Float32Array, nFrames: number, pitchMidi: number): number {
  const p = pitchMidi - BASIC_PITCH_LOWEST_MIDI;
  let best = 0;
  for (let f = 1; f < nFrames; f++) {
    if ((onsets[f * BASIC_PITCH_N_PITCHES + p] as number) > (onsets[best * BASIC_PITCH_N_PITCHES + p] as number)) best = f;
  }
  return best;
}

describe('Basic Pitch on tfjs 4 (WASM)', () => {
  let tf: Tf;
  let model: BasicPitchModel;
  beforeAll(async () => {
    ({ tf } = await initTf({ prefer: 'wasm' }));
    model = await BasicPitchModel.load({ prefer: 'wasm' });
  });

  it('GIVEN the shipped model WHEN loaded THEN it runs on the wasm backend', () => {
    expect(tf.getBackend()).toBe('wasm');
  });

  it('GIVEN an A4 tone starting at 3.0 s (second window) WHEN predicted THEN pitch 69 sounds and its onset is within 2 frames of 3.0 s', async () => {
    const audio = toneClip(5, 3.0, 4.5);
    const act = await model.predict(audio);
    expect(act.nFrames).toBe(frameCountForSamples(audio.length));
    const onsetFrame = strongestOnsetFrame(act.onsets, act.nFrames, 69);
    expect(Math.abs(onsetFrame - 3.0 * FPS)).toBeLessThanOrEqual(2);
    const mid = Math.round(3.7 * FPS) * BASIC_PITCH_N_PITCHES;
    const row = Array.from(act.frames.subarray(mid, mid + BASIC_PITCH_N_PITCHES));
    expect(row.indexOf(Math.max(...row)) + BASIC_PITCH_LOWEST_MIDI).toBe(69);
    // Silence before the tone stays quiet: no leakage across the window seams.
    expect(Math.max(...act.frames.subarray(0, Math.round(2.8 * FPS) * BASIC_PITCH_N_PITCHES))).toBeLessThan(0.3);
  });

  it('GIVEN several predictions WHEN done THEN the tensor count is back to its baseline', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) await model.predict(toneClip(4, 0.5, 3));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('GIVEN an aborted signal WHEN predicting THEN it is cancelled without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    controller.abort();
    await expect(model.predict(toneClip(3, 0, 1), { signal: controller.signal })).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('GIVEN the fast WASM kernels WHEN concat, stack, strided slice and equal run THEN they match the CPU backend exactly', async () => {
    installFastWasmKernels(tf);
    const values = Array.from({ length: 2 * 5 * 7 * 3 }, (_, i) => Math.sin(i * 1.7) * 10);
    const run = async (): Promise<number[][]> => {
      const x = tf.tensor4d(values, [2, 5, 7, 3]);
      const ints = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
      const outs = [
        tf.concat([x, x.mul(2), x.slice([0, 0, 0, 0], [2, 5, 7, 1])], 3),
        tf.concat([x, x], 1),
        tf.concat([ints, ints], 1),
        tf.stack([x, x.neg()], 4),
        tf.stack([x, x], 0),
        tf.stridedSlice(x, [0, 1, 6, 0], [2, 5, 0, 3], [1, 2, -2, 1]),
        tf.stridedSlice(x, [0, 0, 2, 0], [0, 0, 7, 1], [1, 1, 1, 1], 11, 11),
        tf.stridedSlice(x, [1, 0, 0, 0], [2, 5, 7, 3], [1, 1, 1, 1]),
        tf.equal(x.round(), tf.scalar(3)),
        tf.equal(tf.scalar(-4).reshape([1, 1, 1, 1]), x.round()),
        tf.equal(x.round(), x.round().reverse(2)),
      ];
      const arrays = await Promise.all(outs.map(async (t) => [...t.shape, ...(await t.data())] as number[]));
      tf.dispose([x, ints, ...outs]);
      return arrays;
    };
    const onWasm = await run();
    await tf.setBackend('cpu');
    try {
      const onCpu = await run();
      expect(onWasm).toEqual(onCpu);
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
