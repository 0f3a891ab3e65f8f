/**
 * Motif's default network: embedding → LSTM → dropout → LSTM (→ …) → dense logits, trained
 * language-model style (a target at every step) with Adam, gradients computed by hand.
 *
 * Speed notes (WASM backend, 2×256, B=64, T=64; a 4,096-token step is ≈20 GFLOP of matMul, which
 * at the 15–30 GFLOP/s one XNNPACK matMul reaches here is most of the step):
 * - The embedding is never materialised in training: x·Wx₀ for a one-hot x is a row of
 *   E·Wx₀, so layer 0's input projection is a [V,4H] table lookup and its kernel/embedding
 *   gradients come from the per-token dGates summed into a [V,4H] matrix (V ≪ B·T). That removes
 *   three [B·T,E]×[E,4H] matMuls and sidesteps tfjs-wasm's missing gather gradient.
 * - Layers ≥ 1 run each timestep as one fused [x_t, h_{t-1}]·[Wx; Wh] + b matMul with the sigmoid
 *   inside it (../lstm/fused-lstm.ts, lstmForwardStacked); layer 0 adds its table rows and
 *   activates in plain JS. Cell updates, BPTT, softmax and dropout are plain JS.
 * - Weight gradients are dGatesᵀ·X ([4H,n]·[n,in], then a small transpose): XNNPACK repacks the
 *   B operand of every matMul whose B is a new tensor, and packing the narrow X costs a quarter of
 *   packing dGates (that repacking was ~0.2 s per step). dGatesᵀ is written during BPTT.
 * - Per-step buffers are reused (ScratchBuffers) and matMul results are read straight from the
 *   WASM heap (../lstm/tensor-views.ts): no per-timestep garbage.
 * - tfjs-wasm's transposed matMul is 10–15× slower than a plain one, so every transpose is explicit.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { assertInRange, MotifError } from '../../errors.js';
import { createRng, type Rng } from '../../music/random.js';
import { fastSigmoid, fastTanh } from '../lstm/activations.js';
import { columnSums, lstmBackward, lstmForward, lstmForwardStacked, rowSums, transposeMatrix, type LstmSequenceCache } from '../lstm/fused-lstm.js';
import { copyTensorInto, ScratchBuffers } from '../lstm/tensor-views.js';
import { glorotUniform, lstmBias, orthogonalRows } from '../lstm/init.js';
import { initTf, type Tf } from '../tf.js';
import { assertWeightShapes, elementCount, type NamedWeights } from '../weights.js';
import { GradientHelper } from './gradient-helper.js';
import { matMulFromArrays, matMulInto, matMulToArray, multiplyInPlace, softmaxCrossEntropy, toTimeMajor, transposedProduct } from './lm-kernels.js';

export interface LanguageModelConfig {
  /** Number of token ids (≥ 2). */
  vocabSize: number;
  /** Embedding width E (≥ 1). */
  embeddingSize: number;
  /** Hidden units of each stacked LSTM layer, bottom first (1–4 layers). */
  hiddenSizes: number[];
  /** Dropout rate in [0, 0.9] applied between LSTM layers during training. */
  dropout: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Clip gradients to this global L2 norm; 0 disables clipping. */
  clipNorm: number;
  /** Seeds the initial weights and the dropout masks. */
  seed: number;
  /**
   * 1, or 2 to split each training batch with a helper worker thread holding a replica (data
   * parallel; see gradient-helper.ts). Results are deterministic either way but differ between
   * 1 and 2 (different dropout streams). 2 only pays off when a second core is really idle: on the
   * shared 2-vCPU build machine two concurrent matMul streams together ran slower than one.
   */
  trainingThreads: number;
  /**
   * 0, or K > 0 to tell layer 0 where each token sits: a learned gate bias per (position mod K) is
   * added to its input. The position is the encoding's (Tokenizer.createPositionTracker): for
   * `voices`, the index within the piece, so K = 16 names the voice and the 16th within the beat;
   * for `event`, the 16th within the bar (K = 24 covers 12/8 and 3/2). Either way the network no
   * longer has to count for itself. Specs saved before this existed read as 0.
   */
  positionPeriod: number;
}

export const DEFAULT_LANGUAGE_MODEL_CONFIG: Omit<LanguageModelConfig, 'vocabSize'> = {
  embeddingSize: 128,
  hiddenSizes: [256, 256],
  dropout: 0.3,
  learningRate: 1e-3,
  clipNorm: 5,
  seed: 0,
  trainingThreads: 1,
  positionPeriod: 0,
};

/** Recurrent state for stateful sampling: per layer, [batch·H] hidden and cell values. */
export interface LstmState {
  batch: number;
  h: Float32Array[];
  c: Float32Array[];
  /** Tokens consumed so far: the next token's index within the piece. */
  consumed: number;
}

/** Summed negative log-likelihood (nats) over `count` scored targets; `correct` = argmax hits. */
export interface EvaluationSums {
  nll: number;
  count: number;
  correct: number;
}

/** Same shape as the training loop's batch: [batch × time] row-major ids. */
export interface TokenBatch {
  inputs: Int32Array;
  targets: Int32Array;
  /** Each input's position within its piece (TokenStream.positions); without it every row starts its piece. */
  positions?: Int32Array;
  batch: number;
  time: number;
}

export interface GradientResult {
  /** Mean cross-entropy (nats) per scored target. */
  loss: number;
  count: number;
  /** Gradients of the mean loss, by weight name (caller disposes). */
  grads: Record<string, tfjs.Tensor>;
  /**
   * The dropout masks used (already scaled by 1/(1-rate)), one per gap between LSTM layers. They are
   * the model's reused buffers: valid until its next forward pass.
   */
  dropoutMasks: Float32Array[];
}

interface ForwardPass {
  timeIds: Int32Array;
  /** Time-major (position mod positionPeriod) per input; undefined without position input. */
  periodIds: Int32Array | undefined;
  caches: LstmSequenceCache[];
  /** Input of layer l ≥ 1 after dropout ([N, in]); index 0 unused. */
  layerInputs: Float32Array[];
  masks: Float32Array[];
  logits: Float32Array;
}

/** Layer 0's learned gate bias per position (see LanguageModelConfig.positionPeriod). */
export const POSITION_BIAS = 'lstm_1/position_bias';

interface InferenceCache {
  version: number;
  /** E·Wx₀ + b₀, [V, 4H₀]. */
  table: Float32Array;
  /** [Wx; Wh] of layers ≥ 1. */
  stacked: tfjs.Tensor2D[];
  /** [positionPeriod, 4H₀], when the model has position input. */
  positionBias: Float32Array | undefined;
}

/** A position's row of the position bias. */
function periodOf(position: number, period: number): number {
  if (!Number.isInteger(position) || position < 0) throw new RangeError(`position ${position} is not a non-negative integer`);
  return position % period;
}

/** Σ of `rows` ([n, width]) grouped by `index` (n values in [0, groups)): [groups, width]. */
function sumRowsByIndex(rows: Float32Array, index: Int32Array, groups: number, width: number): Float32Array {
  const out = new Float32Array(groups * width);
  for (let r = 0; r < index.length; r++) {
    const to = index[r]! * width;
    const from = r * width;
    for (let k = 0; k < width; k++) out[to + k]! += rows[from + k]!;
  }
  return out;
}

/** Positions of [batch × steps] rows that each start their piece (0, 1, … per row). */
function rowStarts(batch: number, steps: number): Int32Array {
  const out = new Int32Array(batch * steps);
  for (let b = 0; b < batch; b++) for (let t = 0; t < steps; t++) out[b * steps + t] = t;
  return out;
}

let instanceCounter = 0;

export class LanguageModel {
  readonly config: LanguageModelConfig;
  private readonly tf: Tf;
  private readonly prefix: string;
  private variables = new Map<string, tfjs.Variable>();
  private optimizer: tfjs.Optimizer;
  /** Re-seeded from the update count before every step, so a resumed run draws the same masks. */
  private dropoutRng: Rng;
  /** Optimiser updates so far (restored with the optimiser state). */
  private updates = 0;
  /** Bumped on every weight change; guards the inference caches. */
  private version = 0;
  private inference: InferenceCache | undefined;
  private helper: GradientHelper | undefined;
  private helperWeightsVersion = -1;
  /** Per-step buffers reused across training steps (see tensor-views.ts). */
  private readonly scratch = new ScratchBuffers();

  /**
   * Builds a freshly initialised model (Keras-style init, seeded).
   * @throws MotifError OPTION_OUT_OF_RANGE for invalid sizes or rates.
   */
  static async create(options: Partial<LanguageModelConfig> & { vocabSize: number }): Promise<LanguageModel> {
    const { tf } = await initTf();
    return new LanguageModel(tf, { ...DEFAULT_LANGUAGE_MODEL_CONFIG, ...options });
  }

  private constructor(tf: Tf, config: LanguageModelConfig) {
    assertInRange('vocabulary size', config.vocabSize, 2, 1_000_000, { integer: true });
    assertInRange('embedding size', config.embeddingSize, 1, 4096, { integer: true });
    assertInRange('LSTM layer count', config.hiddenSizes.length, 1, 4, { integer: true });
    for (const h of config.hiddenSizes) assertInRange('LSTM size', h, 1, 4096, { integer: true });
    assertInRange('dropout', config.dropout, 0, 0.9);
    assertInRange('learning rate', config.learningRate, 1e-7, 1);
    assertInRange('clip norm', config.clipNorm, 0, 1e6);
    assertInRange('training threads', config.trainingThreads, 1, 2, { integer: true });
    assertInRange('position period', config.positionPeriod, 0, 4096, { integer: true });
    this.tf = tf;
    this.config = { ...config, hiddenSizes: [...config.hiddenSizes] };
    this.prefix = `motif-lm-${++instanceCounter}`;
    this.dropoutRng = createRng(config.seed * 7919 + 1);
    const init = this.initialWeights(createRng(config.seed));
    for (const [name, w] of Object.entries(init)) this.createVariable(name, w.values, w.shape);
    this.optimizer = tf.train.adam(config.learningRate);
  }

  /** Shapes of every weight, by name (what a saved model must match). */
  weightShapes(): Record<string, number[]> {
    const { vocabSize: v, embeddingSize: e, hiddenSizes } = this.config;
    const shapes: Record<string, number[]> = { embedding: [v, e] };
    let inSize = e;
    hiddenSizes.forEach((h, l) => {
      shapes[`lstm_${l + 1}/kernel`] = [inSize, 4 * h];
      shapes[`lstm_${l + 1}/recurrent_kernel`] = [h, 4 * h];
      shapes[`lstm_${l + 1}/bias`] = [4 * h];
      inSize = h;
    });
    if (this.config.positionPeriod > 0) shapes[POSITION_BIAS] = [this.config.positionPeriod, 4 * hiddenSizes[0]!];
    shapes['dense/kernel'] = [inSize, v];
    shapes['dense/bias'] = [v];
    return shapes;
  }

  parameterCount(): number {
    return Object.values(this.weightShapes()).reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * One Adam step on a [batch × steps] window batch (row-major ids, as {@link TokenBatch}).
   * Targets < 0 are ignored (padding).
   * `positions` (same shape) gives each input's position within its piece (TokenStream.positions);
   * without it every row starts its piece.
   * @returns mean cross-entropy (nats) per scored target token, measured before the update.
   */
  trainStep(inputIds: Int32Array, targetIds: Int32Array, batch: number, steps: number, positions?: Int32Array): number {
    this.reseedDropout(this.updates);
    const { loss, grads } =
      this.config.trainingThreads > 1 && batch >= 2
        ? this.parallelGradients(inputIds, targetIds, batch, steps, positions)
        : this.computeGradients(inputIds, targetIds, batch, steps, { training: true, positions });
    const tf = this.tf;
    const names = Object.keys(grads);
    const norm = Math.sqrt(
      tf.tidy(() => tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!)))).dataSync()[0]!),
    );
    const scale = this.config.clipNorm > 0 && norm > this.config.clipNorm ? this.config.clipNorm / norm : 1;
    // Adam keeps its moments by position, not by name: always hand it the weights in one order
    // (weightShapes'), so saved optimiser state lines up with the variables when restored.
    const named: Record<string, tfjs.Tensor> = {};
    for (const n of Object.keys(this.weightShapes())) {
      if (grads[n]) named[this.variableName(n)] = scale === 1 ? grads[n] : tf.mul(grads[n], scale);
    }
    this.optimizer.applyGradients(named);
    for (const n of names) {
      grads[n]!.dispose();
      named[this.variableName(n)]!.dispose();
    }
    this.version++;
    this.updates++;
    return loss;
  }

  /**
   * Gradients of the mean loss over the whole batch: the first ⌈B/2⌉ rows here, the rest on the
   * helper replica at the same time, combined weighted by scored targets.
   */
  private parallelGradients(
    inputIds: Int32Array,
    targetIds: Int32Array,
    batch: number,
    steps: number,
    positions: Int32Array | undefined,
  ): { loss: number; grads: Record<string, tfjs.Tensor> } {
    const tf = this.tf;
    const helper = this.ensureHelper(batch * steps);
    const weightsChanged = this.helperWeightsVersion !== this.version;
    if (weightsChanged) {
      for (const { name, offset } of helper.layout.offsets) helper.weights.set(this.variable(name).dataSync() as Float32Array, offset);
      this.helperWeightsVersion = this.version;
    }
    const own = Math.ceil(batch / 2);
    const cut = own * steps;
    const theirPositions = positions?.subarray(cut) ?? rowStarts(batch - own, steps);
    helper.start(inputIds.subarray(cut), targetIds.subarray(cut), theirPositions, batch - own, steps, weightsChanged, this.updates);
    let mine: GradientResult | undefined;
    let failure: unknown;
    try {
      mine = this.computeGradients(inputIds.subarray(0, cut), targetIds.subarray(0, cut), own, steps, { training: true, positions: positions?.subarray(0, cut) });
    } catch (error) {
      failure = error;
    }
    // Always collect the helper's answer so the next request starts from a clean handshake.
    const theirs = helper.finish();
    if (!mine) throw failure;
    const total = Math.max(1, mine.count + theirs.count);
    const shapes = this.weightShapes();
    const grads: Record<string, tfjs.Tensor> = {};
    for (const { name, offset, length } of helper.layout.offsets) {
      const ownGrad = mine.grads[name]!;
      const count = mine.count;
      grads[name] = tf.tidy(() =>
        tf.div(tf.add(tf.mul(ownGrad, count), tf.tensor(helper.grads.subarray(offset, offset + length), shapes[name]!)), total),
      );
      ownGrad.dispose();
    }
    return { loss: (mine.loss * mine.count + theirs.nllSum) / total, grads };
  }

  private ensureHelper(tokens: number): GradientHelper {
    if (this.helper && this.helper.layout.maxTokens >= tokens) return this.helper;
    this.helper?.dispose();
    let offset = 0;
    const offsets = Object.entries(this.weightShapes()).map(([name, shape]) => {
      const entry = { name, offset, length: elementCount(shape) };
      offset += entry.length;
      return entry;
    });
    this.helper = new GradientHelper(this.config, { offsets, totalValues: offset, maxTokens: tokens });
    this.helperWeightsVersion = -1;
    return this.helper;
  }

  /**
   * Dropout masks depend only on the seed and the update number, so a resumed run (and the
   * two-thread helper replica, with its own seed) draws the same masks as an uninterrupted one.
   */
  reseedDropout(update: number): void {
    this.dropoutRng = createRng(this.config.seed * 7919 + 1 + update * 1_000_003);
  }

  /** {@link trainStep} for the training loop's batch shape. */
  trainBatch(batch: TokenBatch): number {
    return this.trainStep(batch.inputs, batch.targets, batch.batch, batch.time, batch.positions);
  }

  /** Scores a batch without dropout and without updating anything. Targets < 0 are skipped. */
  evaluate(inputIds: Int32Array, targetIds: Int32Array, batch: number, steps: number, positions?: Int32Array): EvaluationSums {
    const pass = this.forward(inputIds, batch, steps, false, positions);
    const targets = toTimeMajor(targetIds, batch, steps, this.config.vocabSize, true);
    return softmaxCrossEntropy(pass.logits, targets, this.config.vocabSize, undefined);
  }

  /**
   * log p(target) of every position, batch-major like the inputs (NaN where the target is < 0):
   * what a mixture with another predictor (the copy cache) needs.
   */
  targetLogProbabilities(inputIds: Int32Array, targetIds: Int32Array, batch: number, steps: number, positions?: Int32Array): Float32Array {
    const vocab = this.config.vocabSize;
    const pass = this.forward(inputIds, batch, steps, false, positions);
    const targets = toTimeMajor(targetIds, batch, steps, vocab, true);
    const out = new Float32Array(batch * steps).fill(Number.NaN);
    for (let r = 0; r < targets.length; r++) {
      const target = targets[r]!;
      if (target < 0) continue;
      const base = r * vocab;
      let max = -Infinity;
      for (let i = base; i < base + vocab; i++) max = Math.max(max, pass.logits[i]!);
      let sum = 0;
      for (let i = base; i < base + vocab; i++) sum += Math.exp(pass.logits[i]! - max);
      const t = Math.floor(r / batch);
      out[(r % batch) * steps + t] = pass.logits[base + target]! - max - Math.log(sum);
    }
    return out;
  }

  /** {@link evaluate} for the training loop's batch shape. */
  evaluateBatch(batch: TokenBatch): { nll: number; count: number } {
    const { nll, count } = this.evaluate(batch.inputs, batch.targets, batch.batch, batch.time, batch.positions);
    return { nll, count };
  }

  /**
   * Loss and gradients of the mean per-token cross-entropy, without touching the weights
   * (exposed for the gradient check).
   * @throws RangeError when ids are out of range or arrays do not match batch × steps.
   */
  computeGradients(
    inputIds: Int32Array,
    targetIds: Int32Array,
    batch: number,
    steps: number,
    opts: { training: boolean; positions?: Int32Array },
  ): GradientResult {
    const tf = this.tf;
    const { vocabSize: vocab, hiddenSizes } = this.config;
    const scratch = this.scratch;
    const n = batch * steps;
    const targets = toTimeMajor(targetIds, batch, steps, vocab, true);
    const pass = this.forward(inputIds, batch, steps, opts.training, opts.positions);
    const dLogits = scratch.get('dLogits', n * vocab);
    const sums = softmaxCrossEntropy(pass.logits, targets, vocab, dLogits);
    const grads: Record<string, tfjs.Tensor> = {};
    const lastLayer = hiddenSizes.length - 1;
    const topHidden = hiddenSizes[lastLayer]!;

    const dLogitsT = tf.tensor2d(dLogits, [n, vocab]);
    const topOut = pass.caches[lastLayer]!.hiddens.subarray(batch * topHidden);
    grads['dense/kernel'] = matMulFromArrays(tf, transposeMatrix(topOut, n, topHidden, scratch.get('topOutT', n * topHidden)), [topHidden, n], dLogitsT);
    grads['dense/bias'] = tf.tensor1d(columnSums(dLogits, n, vocab));
    let outputGrad = matMulInto(tf, dLogitsT, this.variable('dense/kernel'), true, scratch.get('outputGrad', n * topHidden));
    dLogitsT.dispose();

    for (let l = lastLayer; l >= 0; l--) {
      const h = hiddenSizes[l]!;
      const row = 4 * h;
      const cache = pass.caches[l]!;
      const name = `lstm_${l + 1}`;
      const whT = tf.transpose(this.variable(`${name}/recurrent_kernel`)) as tfjs.Tensor2D;
      const dGatesTransposed = scratch.get('dGatesT', row * n);
      const perToken = l === 0 ? scratch.get('perToken', vocab * row).fill(0) : undefined;
      const dGates = lstmBackward(tf, cache, outputGrad, whT, dGatesTransposed, scratch, perToken && { tokenIds: pass.timeIds, perToken });
      whT.dispose();
      // Weight gradients as dGatesᵀ·X ([4H, n]·[n, in]) then transposed: XNNPACK packs the B
      // operand on every call, and packing X ([n, in]) costs a quarter of packing dGates ([n, 4H]).
      const dGatesTT = tf.tensor2d(dGatesTransposed, [row, n]);
      grads[`${name}/recurrent_kernel`] = transposedProduct(tf, dGatesTT, cache.hiddens.subarray(0, n * h), n, h);
      grads[`${name}/bias`] = tf.tensor1d(rowSums(dGatesTransposed, row, n));
      if (l > 0) {
        const inSize = hiddenSizes[l - 1]!;
        grads[`${name}/kernel`] = transposedProduct(tf, dGatesTT, pass.layerInputs[l]!, n, inSize);
        dGatesTT.dispose();
        const dGatesTensor = tf.tensor2d(dGates, [n, row]);
        outputGrad = matMulInto(tf, dGatesTensor, this.variable(`${name}/kernel`), true, scratch.get('outputGrad', n * inSize));
        dGatesTensor.dispose();
        const mask = pass.masks[l - 1];
        if (mask) multiplyInPlace(outputGrad, mask);
      } else {
        dGatesTT.dispose();
        if (pass.periodIds) grads[POSITION_BIAS] = tf.tensor2d(sumRowsByIndex(dGates, pass.periodIds, this.config.positionPeriod, row), [this.config.positionPeriod, row]);
        // perToken = dL/d(E·Wx₀)[v]: Σ of dGates over positions holding token v (summed in lstmBackward).
        const perTokenT = tf.tensor2d(perToken!, [vocab, row]);
        grads[`${name}/kernel`] = tf.tidy(() => tf.matMul(tf.transpose(this.variable('embedding')), perTokenT));
        grads.embedding = tf.tidy(() => tf.matMul(perTokenT, tf.transpose(this.variable(`${name}/kernel`))));
        perTokenT.dispose();
      }
    }
    return { loss: sums.count > 0 ? sums.nll / sums.count : 0, count: sums.count, grads, dropoutMasks: pass.masks };
  }

  /** Zero state for `batch` parallel sampling streams. */
  initState(batch = 1): LstmState {
    assertInRange('batch', batch, 1, 4096, { integer: true });
    return {
      batch,
      h: this.config.hiddenSizes.map((h) => new Float32Array(batch * h)),
      c: this.config.hiddenSizes.map((h) => new Float32Array(batch * h)),
      consumed: 0,
    };
  }

  /**
   * Advances every stream by one token: O(1) work per token, no window is re-run.
   * The input state is not modified (a caller may branch from it).
   * @param tokenIds one id per stream (length = state.batch).
   * @param positions with position input, each id's position (Tokenizer.createPositionTracker);
   *   default: the index within the piece (`state.consumed`).
   * @returns logits [batch·V] (unnormalised log-probabilities of the next token) and the new state.
   * @throws RangeError when ids or positions are out of range or the batch does not match the state.
   */
  step(state: LstmState, tokenIds: ArrayLike<number>, positions?: ArrayLike<number>): { logits: Float32Array; state: LstmState } {
    const tf = this.tf;
    const { vocabSize: vocab, hiddenSizes } = this.config;
    const batch = state.batch;
    if (tokenIds.length !== batch) throw new RangeError(`step got ${tokenIds.length} ids for a state of batch ${batch}`);
    const cache = this.inferenceCache();
    const next: LstmState = { batch, h: [], c: [], consumed: state.consumed + 1 };
    const period = this.config.positionPeriod;
    if (positions && positions.length !== batch) throw new RangeError(`step got ${positions.length} positions for a state of batch ${batch}`);
    const positionRow = (b: number): number => (period > 0 ? periodOf(positions ? positions[b]! : state.consumed, period) * 4 * hiddenSizes[0]! : -1);
    let x: Float32Array | undefined;
    for (let l = 0; l < hiddenSizes.length; l++) {
      const h = hiddenSizes[l]!;
      const row = 4 * h;
      const hPrev = state.h[l]!;
      let pre: Float32Array;
      if (l === 0) {
        // Layer 0: table row (x·Wx₀ + b₀) plus h·Wh₀.
        pre = matMulToArray(tf, tf.tensor2d(hPrev, [batch, h]), this.variable('lstm_1/recurrent_kernel'), false, true);
        for (let b = 0; b < batch; b++) {
          const id = tokenIds[b]!;
          if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`token id ${id} outside vocabulary of ${vocab}`);
          for (let k = 0; k < row; k++) pre[b * row + k]! += cache.table[id * row + k]!;
          const from = positionRow(b);
          if (from >= 0) for (let k = 0; k < row; k++) pre[b * row + k]! += cache.positionBias![from + k]!;
        }
      } else {
        // Layer l: one matMul of [x, h] against the stacked [Wx; Wh] with the bias fused in.
        const inSize = hiddenSizes[l - 1]!;
        const joined = new Float32Array(batch * (inSize + h));
        for (let b = 0; b < batch; b++) {
          joined.set(x!.subarray(b * inSize, (b + 1) * inSize), b * (inSize + h));
          joined.set(hPrev.subarray(b * h, (b + 1) * h), b * (inSize + h) + inSize);
        }
        const input = tf.tensor2d(joined, [batch, inSize + h]);
        const out = tf.fused.matMul({ a: input, b: cache.stacked[l - 1]!, bias: this.variable(`lstm_${l + 1}/bias`) });
        pre = out.dataSync() as Float32Array;
        input.dispose();
        out.dispose();
      }
      const cPrev = state.c[l]!;
      const hNew = new Float32Array(batch * h);
      const cNew = new Float32Array(batch * h);
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < h; j++) {
          const g0 = b * row;
          const ig = fastSigmoid(pre[g0 + j]!);
          const fg = fastSigmoid(pre[g0 + h + j]!);
          const cg = fastTanh(pre[g0 + 2 * h + j]!);
          const og = fastSigmoid(pre[g0 + 3 * h + j]!);
          const c = fg * cPrev[b * h + j]! + ig * cg;
          cNew[b * h + j] = c;
          hNew[b * h + j] = og * fastTanh(c);
        }
      }
      next.h.push(hNew);
      next.c.push(cNew);
      x = hNew;
    }
    const top = hiddenSizes[hiddenSizes.length - 1]!;
    const input = tf.tensor2d(x!, [batch, top]);
    const out = tf.fused.matMul({ a: input, b: this.variable('dense/kernel'), bias: this.variable('dense/bias') });
    const logits = out.dataSync() as Float32Array;
    input.dispose();
    out.dispose();
    return { logits, state: next };
  }

  /** Copies of every weight, by name (see {@link weightShapes}). */
  getWeights(): NamedWeights {
    const out: NamedWeights = {};
    for (const [name, shape] of Object.entries(this.weightShapes())) {
      out[name] = { shape, values: this.variable(name).dataSync() as Float32Array };
    }
    return out;
  }

  /**
   * Replaces every weight (Adam's moments are kept).
   * @throws MotifError MODEL_MISMATCH when names or shapes differ from {@link weightShapes}.
   */
  setWeights(weights: NamedWeights): void {
    assertWeightShapes(weights, this.weightShapes());
    const tf = this.tf;
    for (const [name, { shape, values }] of Object.entries(weights)) {
      tf.tidy(() => this.variable(name).assign(tf.tensor(values, shape)));
    }
    this.version++;
  }

  /**
   * Adam's state — its step count and both moments of every weight — so a checkpoint can resume
   * the same optimisation rather than restart Adam's warm-up (empty before the first step).
   */
  async getOptimizerState(): Promise<NamedWeights> {
    const saved = await this.optimizer.getWeights();
    const out: NamedWeights = {};
    if (saved.length <= 1) {
      for (const { tensor } of saved) tensor.dispose();
      return out;
    }
    const names = Object.keys(this.weightShapes());
    const [iterations, ...moments] = saved;
    out.iterations = { shape: [], values: Float32Array.of(iterations!.tensor.dataSync()[0]!) };
    out.updates = { shape: [], values: Float32Array.of(this.updates) };
    // The moments are Adam's live variables; only the step-count scalar is a fresh copy.
    iterations!.tensor.dispose();
    // Adam lists every first moment, then every second moment, in the order trainStep gives them.
    moments.forEach(({ name, tensor }, i) => {
      const weight = names[i % names.length]!;
      const kind = i < names.length ? 'm' : 'v';
      if (name !== `${this.variableName(weight)}/${kind}`) throw new Error(`unexpected Adam state order: ${name}`);
      out[`${weight}/${kind}`] = { shape: tensor.shape, values: tensor.dataSync() as Float32Array };
    });
    return out;
  }

  /**
   * Restores {@link getOptimizerState}'s output (the weights themselves are set separately).
   * @throws MotifError MODEL_MISMATCH when the state does not fit this model's weights.
   */
  async setOptimizerState(state: NamedWeights): Promise<void> {
    const shapes = this.weightShapes();
    const names = Object.keys(shapes);
    const expected: Record<string, number[]> = { iterations: [], updates: [] };
    for (const kind of ['m', 'v']) for (const n of names) expected[`${n}/${kind}`] = shapes[n]!;
    assertWeightShapes(state, expected);
    const tf = this.tf;
    const list: { name: string; tensor: tfjs.Tensor }[] = [{ name: 'iter', tensor: tf.scalar(state.iterations!.values[0]!) }];
    for (const kind of ['m', 'v']) {
      for (const n of names) {
        const { values, shape } = state[`${n}/${kind}`]!;
        list.push({ name: `${this.variableName(n)}/${kind}`, tensor: tf.tensor(values, shape) });
      }
    }
    this.optimizer.dispose();
    this.optimizer = tf.train.adam(this.config.learningRate);
    await this.optimizer.setWeights(list);
    for (const { tensor } of list) tensor.dispose();
    this.updates = state.updates!.values[0]!;
  }

  /**
   * Widens the vocabulary to `newSize` for fine-tuning on data with new tokens: existing embedding
   * rows and output columns are kept, new ones are initialised (output bias at the old minimum so
   * new tokens start unlikely). Adam's moments are reset because their shapes change.
   * @throws MotifError OPTION_OUT_OF_RANGE when newSize is smaller than the current vocabulary.
   */
  growVocabulary(newSize: number): void {
    const old = this.config.vocabSize;
    assertInRange('new vocabulary size', newSize, old, 1_000_000, { integer: true });
    if (newSize === old) return;
    const rng = createRng(this.config.seed * 104_729 + newSize);
    const weights = this.getWeights();
    const e = this.config.embeddingSize;
    const top = this.config.hiddenSizes[this.config.hiddenSizes.length - 1]!;
    const embedding = new Float32Array(newSize * e);
    embedding.set(weights.embedding!.values);
    embedding.set(glorotUniform(rng, newSize, e, (newSize - old) * e), old * e);
    const kernel = glorotUniform(rng, top, newSize);
    const oldKernel = weights['dense/kernel']!.values;
    for (let r = 0; r < top; r++) kernel.set(oldKernel.subarray(r * old, (r + 1) * old), r * newSize);
    const bias = new Float32Array(newSize);
    const oldBias = weights['dense/bias']!.values;
    bias.set(oldBias);
    bias.fill(oldBias.reduce((a, b) => Math.min(a, b), Infinity), old);

    for (const name of ['embedding', 'dense/kernel', 'dense/bias']) {
      this.variables.get(name)!.dispose();
      this.variables.delete(name);
    }
    this.config.vocabSize = newSize;
    this.createVariable('embedding', embedding, [newSize, e]);
    this.createVariable('dense/kernel', kernel, [top, newSize]);
    this.createVariable('dense/bias', bias, [newSize]);
    this.optimizer.dispose();
    this.optimizer = this.tf.train.adam(this.config.learningRate);
    this.helper?.dispose();
    this.helper = undefined;
    this.version++;
  }

  /**
   * A new learning rate for fine-tuning a loaded model (`train --from … --lr X`). Adam starts
   * afresh: call it before the first step, as a loaded model has no moments to keep.
   * @throws MotifError OPTION_OUT_OF_RANGE for a rate outside (0, 1].
   */
  setLearningRate(rate: number): void {
    assertInRange('learning rate', rate, 1e-7, 1);
    this.config.learningRate = rate;
    this.optimizer.dispose();
    this.optimizer = this.tf.train.adam(rate);
  }

  /**
   * Gives a trained model position input (see LanguageModelConfig.positionPeriod) for fine-tuning.
   * A model without it gets a bias that starts at zero; a model with a period that divides the new
   * one gets its learnt biases tiled (position p starts as p mod the old period), as when an encoding
   * adds to what its positions say. Either way the model predicts exactly as before until it is
   * trained. Adam's moments are reset because the weights change.
   * @throws MotifError OPTION_OUT_OF_RANGE when the model's period does not divide the new one.
   */
  addPositionInput(period: number): void {
    assertInRange('position period', period, 1, 4096, { integer: true });
    const old = this.config.positionPeriod;
    if (old === period) return;
    if (old !== 0 && period % old !== 0) {
      throw new MotifError('OPTION_OUT_OF_RANGE', `This model reads positions with a period of ${old}; it can only move to a multiple of it, not ${period}.`);
    }
    const row = 4 * this.config.hiddenSizes[0]!;
    const bias = new Float32Array(period * row);
    if (old !== 0) {
      const learnt = this.variable(POSITION_BIAS).dataSync() as Float32Array;
      for (let p = 0; p < period; p++) bias.set(learnt.subarray((p % old) * row, (p % old + 1) * row), p * row);
      this.variables.get(POSITION_BIAS)!.dispose();
      this.variables.delete(POSITION_BIAS);
    }
    this.config.positionPeriod = period;
    this.createVariable(POSITION_BIAS, bias, [period, row]);
    this.optimizer.dispose();
    this.optimizer = this.tf.train.adam(this.config.learningRate);
    this.helper?.dispose();
    this.helper = undefined;
    this.dropInferenceCache();
    this.version++;
  }

  /** Frees every tensor this model owns (weights, optimiser moments, caches). */
  dispose(): void {
    this.helper?.dispose();
    this.helper = undefined;
    this.dropInferenceCache();
    this.optimizer.dispose();
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }

  private forward(inputIds: Int32Array, batch: number, steps: number, training: boolean, positions?: Int32Array): ForwardPass {
    const tf = this.tf;
    const { vocabSize: vocab, hiddenSizes, dropout } = this.config;
    const scratch = this.scratch;
    const n = batch * steps;
    const timeIds = toTimeMajor(inputIds, batch, steps, vocab, false);
    const h0 = hiddenSizes[0]!;
    const table = training ? this.inputTable() : this.inferenceCache().table;
    const row0 = 4 * h0;
    const pre0 = scratch.get('pre/0', n * row0);
    for (let r = 0; r < n; r++) pre0.set(table.subarray(timeIds[r]! * row0, (timeIds[r]! + 1) * row0), r * row0);
    const periodIds = this.config.positionPeriod > 0 ? this.periodIds(positions, batch, steps) : undefined;
    if (periodIds) {
      const bias = this.variable(POSITION_BIAS).dataSync() as Float32Array;
      for (let r = 0; r < n; r++) {
        const from = periodIds[r]! * row0;
        for (let k = 0; k < row0; k++) pre0[r * row0 + k]! += bias[from + k]!;
      }
    }
    const recurrent0 = this.variable('lstm_1/recurrent_kernel') as tfjs.Tensor2D;
    const caches = [lstmForward(tf, pre0, recurrent0, steps, batch, h0, undefined, { buffers: scratch, key: 'lstm/0' })];
    const layerInputs: Float32Array[] = [new Float32Array(0)];
    const masks: Float32Array[] = [];
    let x = caches[0]!.hiddens.subarray(batch * h0);
    for (let l = 1; l < hiddenSizes.length; l++) {
      const inSize = hiddenSizes[l - 1]!;
      let input: Float32Array = x;
      if (training && dropout > 0) {
        const mask = scratch.get(`mask/${l}`, n * inSize);
        const keep = 1 / (1 - dropout);
        for (let i = 0; i < mask.length; i++) mask[i] = this.dropoutRng() < dropout ? 0 : keep;
        input = scratch.get(`input/${l}`, n * inSize);
        for (let i = 0; i < input.length; i++) input[i] = x[i]! * mask[i]!;
        masks.push(mask);
      }
      layerInputs.push(input);
      const h = hiddenSizes[l]!;
      const { kernel, bias } = this.stackedForTraining(l);
      const cache = lstmForwardStacked(tf, input, inSize, kernel, bias, steps, batch, h, { buffers: scratch, key: `lstm/${l}` });
      kernel.dispose();
      bias.dispose();
      caches.push(cache);
      x = cache.hiddens.subarray(batch * h);
    }
    const top = hiddenSizes[hiddenSizes.length - 1]!;
    const topT = tf.tensor2d(x, [n, top]);
    const logitsT = tf.fused.matMul({ a: topT, b: this.variable('dense/kernel'), bias: this.variable('dense/bias') });
    const logits = scratch.get('logits', n * vocab);
    copyTensorInto(tf, logitsT, logits);
    topT.dispose();
    logitsT.dispose();
    return { timeIds, periodIds, caches, layerInputs, masks, logits };
  }

  /** Time-major (position mod positionPeriod) of every input; without positions, each row starts its piece. */
  private periodIds(positions: Int32Array | undefined, batch: number, steps: number): Int32Array {
    const period = this.config.positionPeriod;
    const out = new Int32Array(batch * steps);
    if (positions && positions.length !== batch * steps) throw new RangeError(`positions has ${positions.length} values, expected ${batch * steps}`);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < steps; t++) {
        out[t * batch + b] = periodOf(positions ? positions[b * steps + t]! : t, period);
      }
    }
    return out;
  }

  /**
   * [Wx; Wh] and b of layer l ≥ 1 with the cell-candidate (g) columns doubled, as
   * lstmForwardStacked wants them (tanh(z) = 2σ(2z) − 1). Caller disposes both.
   */
  private stackedForTraining(l: number): { kernel: tfjs.Tensor2D; bias: tfjs.Tensor1D } {
    const h = this.config.hiddenSizes[l]!;
    const inSize = this.config.hiddenSizes[l - 1]!;
    const row = 4 * h;
    const kernel = new Float32Array((inSize + h) * row);
    kernel.set(this.variable(`lstm_${l + 1}/kernel`).dataSync() as Float32Array, 0);
    kernel.set(this.variable(`lstm_${l + 1}/recurrent_kernel`).dataSync() as Float32Array, inSize * row);
    const bias = Float32Array.from(this.variable(`lstm_${l + 1}/bias`).dataSync() as Float32Array);
    for (let r = 0; r < inSize + h; r++) for (let j = 2 * h; j < 3 * h; j++) kernel[r * row + j] = 2 * kernel[r * row + j]!;
    for (let j = 2 * h; j < 3 * h; j++) bias[j] = 2 * bias[j]!;
    return { kernel: this.tf.tensor2d(kernel, [inSize + h, row]), bias: this.tf.tensor1d(bias) };
  }

  /** E·Wx₀ + b₀: [V, 4H₀], layer 0's input projection for every token id. */
  private inputTable(): Float32Array {
    const tf = this.tf;
    const out = tf.fused.matMul({ a: this.variable('embedding'), b: this.variable('lstm_1/kernel'), bias: this.variable('lstm_1/bias') });
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return values;
  }

  private inferenceCache(): InferenceCache {
    if (this.inference?.version === this.version) return this.inference;
    this.dropInferenceCache();
    const tf = this.tf;
    const stacked = this.config.hiddenSizes
      .slice(1)
      .map((_, i) => tf.concat([this.variable(`lstm_${i + 2}/kernel`), this.variable(`lstm_${i + 2}/recurrent_kernel`)], 0) as tfjs.Tensor2D);
    const positionBias = this.config.positionPeriod > 0 ? Float32Array.from(this.variable(POSITION_BIAS).dataSync() as Float32Array) : undefined;
    this.inference = { version: this.version, table: this.inputTable(), stacked, positionBias };
    return this.inference;
  }

  private dropInferenceCache(): void {
    for (const t of this.inference?.stacked ?? []) t.dispose();
    this.inference = undefined;
  }

  private initialWeights(rng: Rng): NamedWeights {
    const { vocabSize: v, embeddingSize: e, hiddenSizes } = this.config;
    // Keras's embedding init is U(±0.05).
    const embedding = new Float32Array(v * e);
    for (let i = 0; i < embedding.length; i++) embedding[i] = (2 * rng() - 1) * 0.05;
    const out: NamedWeights = { embedding: { shape: [v, e], values: embedding } };
    let inSize = e;
    hiddenSizes.forEach((h, l) => {
      out[`lstm_${l + 1}/kernel`] = { shape: [inSize, 4 * h], values: glorotUniform(rng, inSize, 4 * h) };
      out[`lstm_${l + 1}/recurrent_kernel`] = { shape: [h, 4 * h], values: orthogonalRows(rng, h, 4 * h) };
      out[`lstm_${l + 1}/bias`] = { shape: [4 * h], values: lstmBias(h) };
      inSize = h;
    });
    // Zero: position input starts as no information, so adding it to a trained model changes nothing.
    if (this.config.positionPeriod > 0) {
      const shape = [this.config.positionPeriod, 4 * hiddenSizes[0]!];
      out[POSITION_BIAS] = { shape, values: new Float32Array(shape[0]! * shape[1]!) };
    }
    out['dense/kernel'] = { shape: [inSize, v], values: glorotUniform(rng, inSize, v) };
    out['dense/bias'] = { shape: [v], values: new Float32Array(v) };
    return out;
  }

  private createVariable(name: string, values: Float32Array, shape: number[]): void {
    const tf = this.tf;
    const initial = tf.tensor(values, shape);
    this.variables.set(name, tf.variable(initial, true, this.variableName(name)));
    initial.dispose();
  }

  private variableName(name: string): string {
    return `${this.prefix}/${name}`;
  }

  private variable(name: string): tfjs.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`language model has no weight ${name} (disposed?)`);
    return v;
  }
}
