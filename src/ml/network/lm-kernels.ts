/**
 * Plain-JS pieces of the language model's training step that sit between matMuls: layout changes,
 * the softmax cross-entropy and its gradient, and matMul helpers that avoid tfjs-wasm's slow paths.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import type { EvaluationSums } from './language-model.js';

/** [B×T] row-major ids → [T×B] time-major, validated. */
export function toTimeMajor(ids: Int32Array, batch: number, steps: number, vocab: number, allowNegative: boolean): Int32Array {
  if (!Number.isInteger(batch) || !Number.isInteger(steps) || batch < 1 || steps < 1 || ids.length !== batch * steps) {
    throw new RangeError(`expected ${batch}×${steps} ids, got ${ids.length}`);
  }
  const out = new Int32Array(ids.length);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const id = ids[b * steps + t]!;
      if (id >= vocab || (id < 0 && !allowNegative)) throw new RangeError(`token id ${id} outside vocabulary of ${vocab}`);
      out[t * batch + b] = id;
    }
  }
  return out;
}

/**
 * Softmax cross-entropy per row, skipping targets < 0. When `gradOut` is given it receives
 * d(mean loss)/d(logits).
 */
export function softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, vocab: number, gradOut: Float32Array | undefined): EvaluationSums {
  let nll = 0;
  let count = 0;
  let correct = 0;
  for (let r = 0; r < targets.length; r++) {
    const target = targets[r]!;
    if (target < 0) continue;
    const base = r * vocab;
    let max = -Infinity;
    let argmax = 0;
    for (let k = 0; k < vocab; k++) {
      if (logits[base + k]! > max) {
        max = logits[base + k]!;
        argmax = k;
      }
    }
    let sum = 0;
    for (let k = 0; k < vocab; k++) {
      const e = Math.exp(logits[base + k]! - max);
      sum += e;
      if (gradOut) gradOut[base + k] = e;
    }
    nll += Math.log(sum) - (logits[base + target]! - max);
    count++;
    if (argmax === target) correct++;
    if (gradOut) {
      for (let k = 0; k < vocab; k++) gradOut[base + k]! /= sum;
      gradOut[base + target]! -= 1;
    }
  }
  if (gradOut && count > 0) for (let i = 0; i < gradOut.length; i++) gradOut[i]! /= count;
  return { nll, count, correct };
}

/** A (JS, given shape) × b (tensor) → tensor; the temporary input is disposed. */
export function matMulFromArrays(tf: Tf, a: Float32Array, shape: [number, number], b: tfjs.Tensor2D): tfjs.Tensor2D {
  const aT = tf.tensor2d(a, shape);
  const out = tf.matMul(aT, b) as tfjs.Tensor2D;
  aT.dispose();
  return out;
}

/**
 * a × b (or a × bᵀ) → plain numbers. bᵀ is materialised with tf.transpose because tfjs-wasm's
 * transposeB matMul is an order of magnitude slower. `disposeA` frees `a` afterwards.
 */
export function matMulToArray(tf: Tf, a: tfjs.Tensor2D, b: tfjs.Tensor, transposeB: boolean, disposeA = false): Float32Array {
  // Not inside tf.tidy: tidy walks every element of a returned typed array looking for tensors.
  const bT = transposeB ? tf.transpose(b) : b;
  const product = tf.matMul(a, bT as tfjs.Tensor2D);
  const values = product.dataSync() as Float32Array;
  product.dispose();
  if (bT !== b) bT.dispose();
  if (disposeA) a.dispose();
  return values;
}
