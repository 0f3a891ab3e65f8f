/**
 * One LSTM layer over a whole sequence, forward and backward through time, by hand.
 *
 * Why not tfjs-layers: on the WASM backend every tf op costs tens of microseconds of dispatch and the
 * stock LSTM issues dozens per step (plus a slice gradient that pads to the full tensor), so it
 * trains ~250 tokens/s. Here each timestep costs exactly ONE tf op (the recurrent matMul on a
 * [B,H] × [H,4H] product); everything elementwise runs in plain JS over Float32Arrays laid out
 * time-major (row r = t·B + b), so a timestep is a contiguous subarray and nothing large is ever
 * sliced. The input projection and the weight gradients are whole-sequence matMuls done by the
 * caller (see language-model.ts), once per layer.
 *
 * Gate order inside the 4H axis is Keras's: input, forget, cell candidate, output.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { fastSigmoid, fastTanh } from './activations.js';

/** What the backward pass needs from the forward pass of one layer. */
export interface LstmSequenceCache {
  steps: number;
  batch: number;
  hidden: number;
  /**
   * [T·B, 4H] activated gates (i, f, g, o). The backward pass overwrites it in place with the gate
   * pre-activation gradients, so after {@link lstmBackward} this buffer holds dGates.
   */
  gates: Float32Array;
  /** [(T+1)·B, H] cell states; rows 0..B-1 are the initial state c₀. */
  cells: Float32Array;
  /** [(T+1)·B, H] hidden states; rows 0..B-1 are h₀, rows B.. are the layer's output. */
  hiddens: Float32Array;
  /** [T·B, H] tanh(c_t), kept so the backward pass needs no transcendental function. */
  tanhCells: Float32Array;
}

/**
 * Runs the recurrence. `preactivations` holds x_t·Wx + b for every step ([T·B, 4H], time-major) and
 * becomes the `gates` buffer of the returned cache (no copy).
 *
 * @param recurrentKernel Wh as a [H, 4H] tensor (not disposed here).
 * @param initial optional h₀/c₀ ([B·H] each); zeros when absent, which also skips the first matMul.
 */
export function lstmForward(
  tf: Tf,
  preactivations: Float32Array,
  recurrentKernel: tfjs.Tensor2D,
  steps: number,
  batch: number,
  hidden: number,
  initial?: { h: Float32Array; c: Float32Array },
): LstmSequenceCache {
  const rowSize = batch * hidden;
  const gateRow = 4 * hidden;
  if (preactivations.length !== steps * batch * gateRow) {
    throw new RangeError(`preactivations has ${preactivations.length} values, expected ${steps * batch * gateRow}`);
  }
  const cells = new Float32Array((steps + 1) * rowSize);
  const hiddens = new Float32Array((steps + 1) * rowSize);
  const tanhCells = new Float32Array(steps * rowSize);
  let startsAtZero = true;
  if (initial) {
    cells.set(initial.c, 0);
    hiddens.set(initial.h, 0);
    startsAtZero = !initial.h.some((v) => v !== 0);
  }
  for (let t = 0; t < steps; t++) {
    const gateBase = t * batch * gateRow;
    if (t > 0 || !startsAtZero) {
      const recurrent = recurrentProduct(tf, hiddens.subarray(t * rowSize, (t + 1) * rowSize), batch, hidden, recurrentKernel);
      const n = batch * gateRow;
      for (let k = 0; k < n; k++) preactivations[gateBase + k]! += recurrent[k]!;
    }
    const prevBase = t * rowSize;
    const nextBase = (t + 1) * rowSize;
    for (let b = 0; b < batch; b++) {
      const g0 = gateBase + b * gateRow;
      const u0 = b * hidden;
      for (let j = 0; j < hidden; j++) {
        const ig = fastSigmoid(preactivations[g0 + j]!);
        const fg = fastSigmoid(preactivations[g0 + hidden + j]!);
        const cg = fastTanh(preactivations[g0 + 2 * hidden + j]!);
        const og = fastSigmoid(preactivations[g0 + 3 * hidden + j]!);
        preactivations[g0 + j] = ig;
        preactivations[g0 + hidden + j] = fg;
        preactivations[g0 + 2 * hidden + j] = cg;
        preactivations[g0 + 3 * hidden + j] = og;
        const c = fg * cells[prevBase + u0 + j]! + ig * cg;
        const tc = fastTanh(c);
        cells[nextBase + u0 + j] = c;
        tanhCells[prevBase + u0 + j] = tc;
        hiddens[nextBase + u0 + j] = og * tc;
      }
    }
  }
  return { steps, batch, hidden, gates: preactivations, cells, hiddens, tanhCells };
}

/**
 * Backpropagation through time. `outputGrad` is dLoss/dh_t for every step ([T·B, H]); it is read,
 * not modified. Returns dGates ([T·B, 4H], the same buffer as `cache.gates`, overwritten): with it
 * the caller forms dWh = H_{t-1}ᵀ·dGates, dWx = Xᵀ·dGates, db = Σ dGates and dX = dGates·Wxᵀ as
 * single batched matMuls.
 *
 * @param recurrentKernelT Whᵀ as a [4H, H] tensor: tfjs-wasm matMul with transposeB is ~10× slower
 *   than on a pre-transposed operand.
 */
export function lstmBackward(tf: Tf, cache: LstmSequenceCache, outputGrad: Float32Array, recurrentKernelT: tfjs.Tensor2D): Float32Array {
  const { steps, batch, hidden, gates, cells, tanhCells } = cache;
  const rowSize = batch * hidden;
  const gateRow = 4 * hidden;
  const cellGrad = new Float32Array(rowSize);
  let recurrentGrad: Float32Array | undefined;
  for (let t = steps - 1; t >= 0; t--) {
    const gateBase = t * batch * gateRow;
    const prevBase = t * rowSize;
    for (let b = 0; b < batch; b++) {
      const g0 = gateBase + b * gateRow;
      const u0 = b * hidden;
      for (let j = 0; j < hidden; j++) {
        const u = u0 + j;
        const dh = outputGrad[prevBase + u]! + (recurrentGrad === undefined ? 0 : recurrentGrad[u]!);
        const ig = gates[g0 + j]!;
        const fg = gates[g0 + hidden + j]!;
        const cg = gates[g0 + 2 * hidden + j]!;
        const og = gates[g0 + 3 * hidden + j]!;
        const tc = tanhCells[prevBase + u]!;
        const dc = dh * og * (1 - tc * tc) + cellGrad[u]!;
        cellGrad[u] = dc * fg;
        gates[g0 + j] = dc * cg * ig * (1 - ig);
        gates[g0 + hidden + j] = dc * cells[prevBase + u]! * fg * (1 - fg);
        gates[g0 + 2 * hidden + j] = dc * ig * (1 - cg * cg);
        gates[g0 + 3 * hidden + j] = dh * tc * og * (1 - og);
      }
    }
    if (t > 0) {
      recurrentGrad = recurrentProduct(tf, gates.subarray(gateBase, gateBase + batch * gateRow), batch, gateRow, recurrentKernelT);
    }
  }
  return gates;
}

/** rows [batch, inner] × kernel [inner, outer], as plain numbers; the one tf op per timestep. */
function recurrentProduct(tf: Tf, rows: Float32Array, batch: number, inner: number, kernel: tfjs.Tensor2D): Float32Array {
  const input = tf.tensor2d(rows, [batch, inner]);
  const product = tf.matMul(input, kernel);
  const values = product.dataSync() as Float32Array;
  input.dispose();
  product.dispose();
  return values;
}

/** [rows, cols] row-major → [cols, rows] row-major, so weight gradients need no transposed matMul. */
export function transposeMatrix(source: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  // 32×32 tiles: a naive column-strided write misses the cache on every element for [4096, 256].
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = source[base + c]!;
      }
    }
  }
  return out;
}

/** Column sums of a [rows, cols] matrix (bias gradients). */
export function columnSums(source: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c]! += source[base + c]!;
  }
  return out;
}
