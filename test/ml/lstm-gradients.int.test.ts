/**
 * The hand-written BPTT must agree with tfjs autograd on a straightforward LSTM built from tf ops.
 * Runs on the real WASM backend (hence .int).
 */
import type * as tfjs from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LanguageModel } from '../../src/ml/network/language-model.js';
import { initTf, type Tf } from '../../src/ml/tf.js';
import type { NamedWeights } from '../../src/ml/weights.js';

let tf: Tf;
beforeAll(async () => {
  ({ tf } = await initTf());
});

const VOCAB = 7;
const BATCH = 3;
const STEPS = 4;
const HIDDEN = [5, 5];

const PERIOD = 3;

/**
 * The textbook LSTM language model, one tf op at a time, batch-major; `masks` are time-major [T·B, H].
 * With `positions`, layer 0 adds the position bias row of (position mod PERIOD) to its gates.
 */
function referenceLoss(w: Record<string, tfjs.Tensor>, inputs: Int32Array, targets: Int32Array, masks: Float32Array[], positions?: Int32Array): tfjs.Scalar {
  let layerInputs: tfjs.Tensor2D[] = [];
  for (let t = 0; t < STEPS; t++) {
    const ids = tf.tensor1d(Array.from({ length: BATCH }, (_, b) => inputs[b * STEPS + t]!), 'int32');
    layerInputs.push(tf.matMul(tf.oneHot(ids, VOCAB).toFloat(), w.embedding as tfjs.Tensor2D));
  }
  HIDDEN.forEach((h, l) => {
    if (l > 0 && masks[l - 1]) {
      const mask = masks[l - 1]!;
      layerInputs = layerInputs.map((x, t) => tf.mul(x, tf.tensor2d(mask.subarray(t * BATCH * h, (t + 1) * BATCH * h), [BATCH, h])));
    }
    let hState: tfjs.Tensor2D = tf.zeros([BATCH, h]);
    let cState: tfjs.Tensor2D = tf.zeros([BATCH, h]);
    const outputs: tfjs.Tensor2D[] = [];
    layerInputs.forEach((x, t) => {
      let z = tf.add(tf.add(tf.matMul(x, w[`lstm_${l + 1}/kernel`] as tfjs.Tensor2D), tf.matMul(hState, w[`lstm_${l + 1}/recurrent_kernel`] as tfjs.Tensor2D)), w[`lstm_${l + 1}/bias`]!);
      if (l === 0 && positions) {
        const rows = tf.tensor1d(Array.from({ length: BATCH }, (_, b) => positions[b * STEPS + t]! % PERIOD), 'int32');
        z = tf.add(z, tf.matMul(tf.oneHot(rows, PERIOD).toFloat(), w['lstm_1/position_bias'] as tfjs.Tensor2D));
      }
      const [zi, zf, zg, zo] = tf.split(z, 4, 1) as tfjs.Tensor2D[];
      cState = tf.add(tf.mul(tf.sigmoid(zf!), cState), tf.mul(tf.sigmoid(zi!), tf.tanh(zg!)));
      hState = tf.mul(tf.sigmoid(zo!), tf.tanh(cState));
      outputs.push(hState);
    });
    layerInputs = outputs;
  });
  const losses = layerInputs.map((hTop, t) => {
    const logits = tf.add(tf.matMul(hTop, w['dense/kernel'] as tfjs.Tensor2D), w['dense/bias']!);
    const ids = tf.tensor1d(Array.from({ length: BATCH }, (_, b) => targets[b * STEPS + t]!), 'int32');
    return tf.sum(tf.mul(tf.oneHot(ids, VOCAB).toFloat(), tf.neg(tf.logSoftmax(logits))));
  });
  return tf.div(tf.addN(losses), BATCH * STEPS) as tfjs.Scalar;
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
}

async function compareWithAutograd(dropout: number, positions?: Int32Array): Promise<void> {
  const model = await LanguageModel.create({ vocabSize: VOCAB, embeddingSize: 4, hiddenSizes: HIDDEN, dropout, seed: 3, positionPeriod: positions ? PERIOD : 0 });
  // Random-ish weights beyond the init (non-zero biases) so every gate path carries gradient.
  const weights: NamedWeights = model.getWeights();
  let s = 1;
  for (const w of Object.values(weights)) for (let i = 0; i < w.values.length; i++) w.values[i] = Math.sin(++s * 12.9898) * 0.8;
  model.setWeights(weights);
  const inputs = Int32Array.from({ length: BATCH * STEPS }, (_, i) => (i * 5 + 1) % VOCAB);
  const targets = Int32Array.from({ length: BATCH * STEPS }, (_, i) => (i * 3 + 2) % VOCAB);

  const ours = model.computeGradients(inputs, targets, BATCH, STEPS, { training: true, positions });
  const names = Object.keys(weights);
  const wTensors = names.map((n) => tf.tensor(weights[n]!.values, weights[n]!.shape));
  const { value, grads } = tf.tidy(() => {
    const f = (...ts: tfjs.Tensor[]): tfjs.Scalar => referenceLoss(Object.fromEntries(names.map((n, i) => [n, ts[i]!])), inputs, targets, ours.dropoutMasks, positions);
    const g = tf.grads(f)(wTensors);
    return { value: f(...wTensors), grads: g };
  });
  expect(ours.dropoutMasks).toHaveLength(dropout > 0 ? 1 : 0);
  expect(Math.abs(ours.loss - value.dataSync()[0]!)).toBeLessThan(1e-5);
  names.forEach((name, i) => {
    const expected = grads[i]!.dataSync() as Float32Array;
    const actual = ours.grads[name]!.dataSync() as Float32Array;
    expect(actual.length, name).toBe(expected.length);
    expect(relativeError(actual, expected), name).toBeLessThan(1e-3);
  });
  tf.dispose([value, ...grads, ...wTensors, ...Object.values(ours.grads)]);
  model.dispose();
}

describe('fused LSTM backpropagation through time', () => {
  it('GIVEN a tiny 2-layer model without dropout WHEN gradients are computed by hand THEN they match tfjs autograd within 1e-3', async () => {
    await compareWithAutograd(0);
  });

  it('GIVEN dropout between the layers WHEN gradients are computed with the same mask THEN they match tfjs autograd within 1e-3', async () => {
    await compareWithAutograd(0.4);
  });

  it('GIVEN position input and windows starting mid-piece WHEN gradients are computed by hand THEN the position bias and every weight match tfjs autograd within 1e-3', async () => {
    // Rows start at piece indices 0, 4 and 11: the bias row is (index mod 3), not the column.
    const positions = Int32Array.from({ length: BATCH * STEPS }, (_, i) => [0, 4, 11][Math.floor(i / STEPS)]! + (i % STEPS));
    await compareWithAutograd(0.4, positions);
  });
});
