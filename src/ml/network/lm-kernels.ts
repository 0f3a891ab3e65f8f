/**
 * Plain-JS pieces of the language model's training step that sit between matMuls: layout changes,
 * the softmax cross-entropy and its gradient, and matMul helpers that avoid tfjs-wasm's slow paths.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { tensorValues } from '../lstm/tensor-views.js';
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
 * d(mean loss)/d(logits) (every value is written; skipped rows get zeros).
 */
export function softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, vocab: number, gradOut: Float32Array | undefined): EvaluationSums {
  let count = 0;
  for (let r = 0; r < targets.length; r++) if (targets[r]! >= 0) count++;
  const meanScale = count > 0 ? 1 / count : 0;
  let nll = 0;
  let correct = 0;
  for (let r = 0; r < targets.length; r++) {
    const target = targets[r]!;
    const base = r * vocab;
    const end = base + vocab;
    if (target < 0) {
      if (gradOut) gradOut.fill(0, base, end);
      continue;
    }
    let max = -Infinity;
    let argmax = 0;
    for (let i = base; i < end; i++) {
      const v = logits[i]!;
      if (v > max) {
        max = v;
        argmax = i - base;
      }
    }
    let sum = 0;
    if (gradOut) {
      for (let i = base; i < end; i++) {
        const e = Math.exp(logits[i]! - max);
        sum += e;
        gradOut[i] = e;
      }
      // One pass for softmax/count, then the one-hot term: d(mean CE)/dz = (p − y)/count.
      const scale = meanScale / sum;
      for (let i = base; i < end; i++) gradOut[i] = gradOut[i]! * scale;
      gradOut[base + target] = gradOut[base + target]! - meanScale;
    } else {
      for (let i = base; i < end; i++) sum += Math.exp(logits[i]! - max);
    }
    nll += Math.log(sum) - (logits[base + target]! - max);
    if (argmax === target) correct++;
  }
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

/** a × b (or a × bᵀ, see {@link matMulToArray}) written into `target` (no allocation on WASM). */
export function matMulInto(tf: Tf, a: tfjs.Tensor2D, b: tfjs.Tensor, transposeB: boolean, target: Float32Array): Float32Array {
  const bT = transposeB ? tf.transpose(b) : b;
  const product = tf.matMul(a, bT as tfjs.Tensor2D);
  target.set(tensorValues(tf, product));
  product.dispose();
  if (bT !== b) bT.dispose();
  return target;
}

/**
 * (gᵀ·x)ᵀ = xᵀ·g as a [cols, rows] tensor, given gᵀ ([rows, n], e.g. dGatesᵀ) and x ([n, cols],
 * plain numbers): a weight gradient whose freshly uploaded B operand is the narrow x.
 */
export function transposedProduct(tf: Tf, gTransposed: tfjs.Tensor2D, x: Float32Array, n: number, cols: number): tfjs.Tensor2D {
  const xT = tf.tensor2d(x, [n, cols]);
  const product = tf.matMul(gTransposed, xT);
  const out = tf.transpose(product) as tfjs.Tensor2D;
  xT.dispose();
  product.dispose();
  return out;
}

/** values[i] *= factors[i]. */
export function multiplyInPlace(values: Float32Array, factors: Float32Array): void {
  const count = values.length;
  for (let i = 0; i < count; i++) values[i] = values[i]! * factors[i]!;
}
