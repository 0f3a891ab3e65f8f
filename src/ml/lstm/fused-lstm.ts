/**
 * One LSTM layer over a whole sequence, forward and backward through time, by hand.
 *
 * Why not tfjs-layers: on the WASM backend every tf op costs tens of microseconds of dispatch and the
 * stock LSTM issues dozens per step (plus a slice gradient that pads to the full tensor), so it
 * trains ~250 tokens/s. Here each timestep costs exactly ONE tf op (the recurrent matMul on a
 * [B,H] × [H,4H] product, read back through a heap view: ./tensor-views.ts); everything
 * elementwise runs in plain JS over Float32Arrays laid out time-major (row r = t·B + b), so a
 * timestep is a contiguous block. The input projection and the weight gradients are
 * whole-sequence matMuls done by the caller (see ../network/language-model.ts), once per layer.
 *
 * The elementwise loops inline the tanh approximation of ./activations.ts by hand (same
 * coefficients, same operation order, so the results are bit-identical to fastTanh): with five
 * calls per unit V8 ran out of inlining budget, and every non-inlined call boxed its double result
 * (the old forward loop cost ~150 ns per unit and most of the step's garbage).
 *
 * Gate order inside the 4H axis is Keras's: input, forget, cell candidate, output.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';
import { ScratchBuffers, tensorValues } from './tensor-views.js';

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

/** |x| beyond which the rational tanh is exactly ±1 (see activations.ts). */
const TANH_CLAMP = 7.90531110763549805;

/**
 * Runs the recurrence. `preactivations` holds x_t·Wx + b for every step ([T·B, 4H], time-major) and
 * becomes the `gates` buffer of the returned cache (no copy).
 *
 * @param recurrentKernel Wh as a [H, 4H] tensor (not disposed here).
 * @param initial optional h₀/c₀ ([B·H] each); zeros when absent, which also skips the first matMul.
 * @param scratch where to take the cache's buffers from (reused across calls); `key` tells layers apart.
 */
export function lstmForward(
  tf: Tf,
  preactivations: Float32Array,
  recurrentKernel: tfjs.Tensor2D,
  steps: number,
  batch: number,
  hidden: number,
  initial?: { h: Float32Array; c: Float32Array },
  scratch?: { buffers: ScratchBuffers; key: string },
): LstmSequenceCache {
  const rowSize = batch * hidden;
  const gateRow = 4 * hidden;
  const blockSize = batch * gateRow;
  if (preactivations.length !== steps * blockSize) {
    throw new RangeError(`preactivations has ${preactivations.length} values, expected ${steps * blockSize}`);
  }
  const take = (name: string, length: number): Float32Array =>
    scratch ? scratch.buffers.get(`${scratch.key}/${name}`, length) : new Float32Array(length);
  const cells = take('cells', (steps + 1) * rowSize);
  const hiddens = take('hiddens', (steps + 1) * rowSize);
  const tanhCells = take('tanhCells', steps * rowSize);
  let startsAtZero = true;
  if (initial) {
    cells.set(initial.c, 0);
    hiddens.set(initial.h, 0);
    startsAtZero = !initial.h.some((v) => v !== 0);
  } else {
    cells.fill(0, 0, rowSize);
    hiddens.fill(0, 0, rowSize);
  }
  const noRecurrence = take('zeros', blockSize).fill(0);
  for (let t = 0; t < steps; t++) {
    const gateBase = t * blockSize;
    if (t > 0 || !startsAtZero) {
      // The product is read straight from the WASM heap inside the activation pass (one sweep).
      const input = tf.tensor2d(hiddens.subarray(t * rowSize, (t + 1) * rowSize), [batch, hidden]);
      const product = tf.matMul(input, recurrentKernel);
      activateGates(preactivations, gateBase, tensorValues(tf, product), batch, hidden);
      input.dispose();
      product.dispose();
    } else {
      activateGates(preactivations, gateBase, noRecurrence, batch, hidden);
    }
    updateCells(preactivations, gateBase, cells, hiddens, tanhCells, t * rowSize, batch, hidden);
  }
  return { steps, batch, hidden, gates: preactivations, cells, hiddens, tanhCells };
}

/**
 * {@link lstmForward} for a layer whose input is a dense sequence: each timestep is ONE fused op,
 * [x_t, h_{t-1}] · [Wx; Wh] + b with the sigmoid applied inside the matMul (XNNPACK's vectorised
 * sigmoid, ~free next to the product), instead of a whole-sequence input projection, a recurrent
 * matMul and a plain-JS activation pass (≈1 ms per timestep at B=64, H=256 on this class of CPU).
 * tanh comes out of the same sigmoid as tanh(z) = 2σ(2z) − 1: the caller doubles the g columns.
 *
 * @param inputs [T·B, in] time-major layer input (read, not modified).
 * @param stackedKernel [in + H, 4H] = [Wx; Wh] with the g (cell candidate) columns multiplied by 2.
 * @param stackedBias [4H] bias with the g entries multiplied by 2.
 * @param scratch where to take the cache's buffers from (reused across calls); `key` tells layers apart.
 */
export function lstmForwardStacked(
  tf: Tf,
  inputs: Float32Array,
  inSize: number,
  stackedKernel: tfjs.Tensor2D,
  stackedBias: tfjs.Tensor1D,
  steps: number,
  batch: number,
  hidden: number,
  scratch: { buffers: ScratchBuffers; key: string },
): LstmSequenceCache {
  const rowSize = batch * hidden;
  const gateRow = 4 * hidden;
  const blockSize = batch * gateRow;
  const joinedRow = inSize + hidden;
  if (inputs.length !== steps * batch * inSize) throw new RangeError(`inputs has ${inputs.length} values, expected ${steps * batch * inSize}`);
  const take = (name: string, length: number): Float32Array => scratch.buffers.get(`${scratch.key}/${name}`, length);
  const gates = take('gates', steps * blockSize);
  const cells = take('cells', (steps + 1) * rowSize);
  const hiddens = take('hiddens', (steps + 1) * rowSize);
  const tanhCells = take('tanhCells', steps * rowSize);
  const joined = take('joined', batch * joinedRow);
  cells.fill(0, 0, rowSize);
  hiddens.fill(0, 0, rowSize);
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < batch; b++) {
      const r = t * batch + b;
      joined.set(inputs.subarray(r * inSize, (r + 1) * inSize), b * joinedRow);
      joined.set(hiddens.subarray(t * rowSize + b * hidden, t * rowSize + (b + 1) * hidden), b * joinedRow + inSize);
    }
    const input = tf.tensor2d(joined, [batch, joinedRow]);
    const activated = tf.fused.matMul({ a: input, b: stackedKernel, bias: stackedBias, activation: 'sigmoid' });
    const gateBase = t * blockSize;
    gates.set(tensorValues(tf, activated), gateBase);
    input.dispose();
    activated.dispose();
    for (let b = 0; b < batch; b++) {
      const start = gateBase + b * gateRow + 2 * hidden;
      for (let j = start; j < start + hidden; j++) gates[j] = 2 * gates[j]! - 1;
    }
    updateCells(gates, gateBase, cells, hiddens, tanhCells, t * rowSize, batch, hidden);
  }
  return { steps, batch, hidden, gates, cells, hiddens, tanhCells };
}

/** In place over one timestep's [B, 4H] block, after adding h_{t-1}·Wh (`recurrent`): σ on i, f, o and tanh on g. */
function activateGates(z: Float32Array, base: number, recurrent: Float32Array, batch: number, hidden: number): void {
  const gateRow = 4 * hidden;
  for (let b = 0; b < batch; b++) {
    const row = b * gateRow;
    squash(z, base + row, recurrent, row, 2 * hidden, 0.5, 0.5, 0.5);
    squash(z, base + row + 2 * hidden, recurrent, row + 2 * hidden, hidden, 1, 1, 0);
    squash(z, base + row + 3 * hidden, recurrent, row + 3 * hidden, hidden, 0.5, 0.5, 0.5);
  }
}

/**
 * z[start+i] ← scale·tanh(inner·(z[start+i] + add[addStart+i])) + offset for i < count:
 * σ(x) = ½ + ½·tanh(x/2), and tanh itself.
 */
function squash(z: Float32Array, start: number, add: Float32Array, addStart: number, count: number, inner: number, scale: number, offset: number): void {
  for (let i = 0; i < count; i++) {
    const x = inner * (z[start + i]! + add[addStart + i]!);
    const v = x > TANH_CLAMP ? TANH_CLAMP : x < -TANH_CLAMP ? -TANH_CLAMP : x;
    const v2 = v * v;
    let p = -2.76076847742355e-16;
    p = p * v2 + 2.00018790482477e-13;
    p = p * v2 + -8.60467152213735e-11;
    p = p * v2 + 5.12229709037114e-8;
    p = p * v2 + 1.48572235717979e-5;
    p = p * v2 + 6.37261928875436e-4;
    p = p * v2 + 4.89352455891786e-3;
    let q = 1.19825839466702e-6;
    q = q * v2 + 1.18534705686654e-4;
    q = q * v2 + 2.268434632439e-3;
    q = q * v2 + 4.89352518554385e-3;
    z[start + i] = offset === 0 ? (p * v) / q : offset + scale * ((p * v) / q);
  }
}

/** c_t = f·c_{t-1} + i·g, h_t = o·tanh(c_t) for one timestep; `prev` is the row offset of t-1. */
function updateCells(
  gates: Float32Array,
  gateBase: number,
  cells: Float32Array,
  hiddens: Float32Array,
  tanhCells: Float32Array,
  prev: number,
  batch: number,
  hidden: number,
): void {
  const rowSize = batch * hidden;
  const gateRow = 4 * hidden;
  const next = prev + rowSize;
  for (let b = 0; b < batch; b++) {
    const g0 = gateBase + b * gateRow;
    const u0 = b * hidden;
    for (let j = 0; j < hidden; j++) {
      const c = gates[g0 + hidden + j]! * cells[prev + u0 + j]! + gates[g0 + j]! * gates[g0 + 2 * hidden + j]!;
      const v = c > TANH_CLAMP ? TANH_CLAMP : c < -TANH_CLAMP ? -TANH_CLAMP : c;
      const v2 = v * v;
      let p = -2.76076847742355e-16;
      p = p * v2 + 2.00018790482477e-13;
      p = p * v2 + -8.60467152213735e-11;
      p = p * v2 + 5.12229709037114e-8;
      p = p * v2 + 1.48572235717979e-5;
      p = p * v2 + 6.37261928875436e-4;
      p = p * v2 + 4.89352455891786e-3;
      let q = 1.19825839466702e-6;
      q = q * v2 + 1.18534705686654e-4;
      q = q * v2 + 2.268434632439e-3;
      q = q * v2 + 4.89352518554385e-3;
      const tc = (p * v) / q;
      cells[next + u0 + j] = c;
      tanhCells[prev + u0 + j] = tc;
      hiddens[next + u0 + j] = gates[g0 + 3 * hidden + j]! * tc;
    }
  }
}

/**
 * Backpropagation through time. `outputGrad` is dLoss/dh_t for every step ([T·B, H]); it is read,
 * not modified. Returns dGates ([T·B, 4H], the same buffer as `cache.gates`, overwritten): with it
 * the caller forms the weight gradients and dX = dGates·Wxᵀ as single batched matMuls.
 *
 * @param recurrentKernelT Whᵀ as a [4H, H] tensor: tfjs-wasm matMul with transposeB is ~10× slower
 *   than on a pre-transposed operand.
 * @param transposedOut when given ([4H, T·B]), also receives dGatesᵀ, written one timestep block at
 *   a time while it is in cache: weight gradients as dGatesᵀ·X keep the freshly made operand that
 *   XNNPACK must pack (B) small.
 * @param tokenSums when given, `perToken` ([V, 4H], zeroed by the caller) accumulates each row of
 *   dGates at the row of its token id (`tokenIds`, time-major [T·B]).
 */
export function lstmBackward(
  tf: Tf,
  cache: LstmSequenceCache,
  outputGrad: Float32Array,
  recurrentKernelT: tfjs.Tensor2D,
  transposedOut?: Float32Array,
  scratch?: ScratchBuffers,
  tokenSums?: { tokenIds: Int32Array; perToken: Float32Array },
): Float32Array {
  const { steps, batch, hidden, gates, cells, tanhCells } = cache;
  const rowSize = batch * hidden;
  const gateRow = 4 * hidden;
  const blockSize = batch * gateRow;
  const n = steps * batch;
  // dh carried from step t+1 (h·Wh's gradient), and dc carried through the forget gate.
  const carriedHidden = scratch ? scratch.get('bptt/dh', rowSize) : new Float32Array(rowSize);
  const cellGrad = scratch ? scratch.get('bptt/dc', rowSize) : new Float32Array(rowSize);
  carriedHidden.fill(0);
  cellGrad.fill(0);
  for (let t = steps - 1; t >= 0; t--) {
    const gateBase = t * blockSize;
    const prevBase = t * rowSize;
    for (let b = 0; b < batch; b++) {
      const g0 = gateBase + b * gateRow;
      const u0 = b * hidden;
      for (let j = 0; j < hidden; j++) {
        const u = u0 + j;
        const dh = outputGrad[prevBase + u]! + carriedHidden[u]!;
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
    if (transposedOut) transposeBlock(gates, gateBase, batch, gateRow, transposedOut, t * batch, n);
    // For a table-lookup input layer, the per-token gradient rows, summed while the block is in cache.
    if (tokenSums) addRows(gates, gateBase, batch, gateRow, tokenSums.perToken, tokenSums.tokenIds, t * batch);
    if (t > 0) {
      const input = tf.tensor2d(gates.subarray(gateBase, gateBase + blockSize), [batch, gateRow]);
      const product = tf.matMul(input, recurrentKernelT);
      carriedHidden.set(tensorValues(tf, product));
      input.dispose();
      product.dispose();
    }
  }
  return gates;
}

/** target row ids[idStart + r] += source row r, for the [rows, cols] block at `offset`. */
function addRows(source: Float32Array, offset: number, rows: number, cols: number, target: Float32Array, ids: Int32Array, idStart: number): void {
  for (let r = 0; r < rows; r++) {
    const from = offset + r * cols;
    const to = ids[idStart + r]! * cols;
    for (let c = 0; c < cols; c++) target[to + c] = target[to + c]! + source[from + c]!;
  }
}

/** source rows [rows, cols] at `offset` → columns [colStart, colStart+rows) of target [cols, stride]. */
function transposeBlock(source: Float32Array, offset: number, rows: number, cols: number, target: Float32Array, colStart: number, stride: number): void {
  // 16-column strips: each source read is one cache line, and the 16 target rows being filled stay
  // in cache across the whole strip (a plain column-strided write missed on every element).
  const strip = 16;
  for (let c0 = 0; c0 < cols; c0 += strip) {
    const c1 = Math.min(cols, c0 + strip);
    for (let r = 0; r < rows; r++) {
      const from = offset + r * cols;
      const to = colStart + r;
      for (let c = c0; c < c1; c++) target[c * stride + to] = source[from + c]!;
    }
  }
}

/** [rows, cols] row-major → [cols, rows] row-major, so weight gradients need no transposed matMul. */
export function transposeMatrix(source: Float32Array, rows: number, cols: number, target?: Float32Array): Float32Array {
  const out = target ?? new Float32Array(rows * cols);
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

/** Row sums of a [rows, cols] matrix (bias gradients from a transposed dGates). */
export function rowSums(source: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += source[base + c]!;
    out[r] = sum;
  }
  return out;
}
