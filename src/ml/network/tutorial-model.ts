/**
 * The tutorial's network, kept exactly as the `--arch seed` baseline: each window of 100 token ids
 * is fed as 100 scalars (id / vocabSize), LSTM(256, sequences) → Dropout(0.3) → LSTM(256) →
 * Dense(vocab, softmax), Adam, categorical cross-entropy, ONE target per window, batch 64.
 * Stock tfjs-layers on purpose: it is the thing we measure ourselves against.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { assertInRange } from '../../errors.js';
import { createRng } from '../../music/random.js';
import { initTf, type Tf } from '../tf.js';
import { assertWeightShapes, type NamedWeights } from '../weights.js';

export interface TutorialModelConfig {
  vocabSize: number;
  /** Window length in tokens (the tutorial's 100). */
  windowSize: number;
  hiddenSize: number;
  dropout: number;
  learningRate: number;
  /** Seeds the initialisers, dropout and the epoch shuffle. */
  seed: number;
}

export const DEFAULT_TUTORIAL_CONFIG: Omit<TutorialModelConfig, 'vocabSize'> = {
  windowSize: 100,
  hiddenSize: 256,
  dropout: 0.3,
  learningRate: 1e-3,
  seed: 0,
};

export class TutorialModel {
  readonly config: TutorialModelConfig;
  private readonly tf: Tf;
  private readonly model: tfjs.Sequential;
  private shuffleRng: () => number;

  /** @throws MotifError OPTION_OUT_OF_RANGE for invalid sizes. */
  static async create(options: Partial<TutorialModelConfig> & { vocabSize: number }): Promise<TutorialModel> {
    const { tf } = await initTf();
    return new TutorialModel(tf, { ...DEFAULT_TUTORIAL_CONFIG, ...options });
  }

  private constructor(tf: Tf, config: TutorialModelConfig) {
    assertInRange('vocabulary size', config.vocabSize, 2, 1_000_000, { integer: true });
    assertInRange('window size', config.windowSize, 1, 10_000, { integer: true });
    assertInRange('LSTM size', config.hiddenSize, 1, 4096, { integer: true });
    assertInRange('dropout', config.dropout, 0, 0.9);
    this.tf = tf;
    this.config = { ...config };
    this.shuffleRng = createRng(config.seed * 31 + 7);
    const seed = config.seed;
    const init = (offset: number): Record<'kernelInitializer' | 'recurrentInitializer', ReturnType<Tf['initializers']['orthogonal']>> => ({
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 10 + offset }),
      recurrentInitializer: tf.initializers.orthogonal({ seed: seed * 10 + offset + 1 }),
    });
    this.model = tf.sequential({
      layers: [
        tf.layers.lstm({ units: config.hiddenSize, returnSequences: true, inputShape: [config.windowSize, 1], ...init(1) }),
        tf.layers.dropout({ rate: config.dropout, seed: seed * 10 + 3 }),
        tf.layers.lstm({ units: config.hiddenSize, ...init(4) }),
        tf.layers.dense({
          units: config.vocabSize,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 10 + 6 }),
        }),
      ],
    });
    this.model.compile({ optimizer: tf.train.adam(config.learningRate), loss: 'categoricalCrossentropy' });
  }

  /**
   * One optimiser step on `count` windows (trainOnBatch).
   * @param windows [count × windowSize] row-major ids; @param targets [count] next ids.
   * @returns mean cross-entropy (nats) over the batch.
   */
  async trainStep(windows: Int32Array, targets: Int32Array): Promise<number> {
    const { x, y } = this.tensors(windows, targets);
    try {
      const loss = await this.model.trainOnBatch(x, y);
      return Array.isArray(loss) ? loss[0]! : loss;
    } finally {
      x.dispose();
      y.dispose();
    }
  }

  /**
   * The tutorial's `model.fit` over all windows for `epochs` epochs, shuffled with the model's
   * seeded generator (tfjs's own shuffle uses Math.random and would break reproducibility).
   * @returns the mean training loss of each epoch.
   */
  async fit(
    windows: Int32Array,
    targets: Int32Array,
    opts: { epochs: number; batchSize?: number; onBatchEnd?: (batch: number, loss: number) => void },
  ): Promise<number[]> {
    assertInRange('epochs', opts.epochs, 1, 10_000, { integer: true });
    const w = this.config.windowSize;
    const count = targets.length;
    const losses: number[] = [];
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const order = Array.from({ length: count }, (_, i) => i);
      for (let i = count - 1; i > 0; i--) {
        const j = Math.floor(this.shuffleRng() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const shuffledWindows = new Int32Array(count * w);
      const shuffledTargets = new Int32Array(count);
      order.forEach((src, dst) => {
        shuffledWindows.set(windows.subarray(src * w, (src + 1) * w), dst * w);
        shuffledTargets[dst] = targets[src]!;
      });
      const { x, y } = this.tensors(shuffledWindows, shuffledTargets);
      try {
        const history = await this.model.fit(x, y, {
          epochs: 1,
          batchSize: opts.batchSize ?? 64,
          shuffle: false,
          verbose: 0,
          callbacks: opts.onBatchEnd ? { onBatchEnd: (batch, logs) => opts.onBatchEnd!(batch, logs?.loss ?? NaN) } : undefined,
        });
        losses.push(Number(history.history.loss?.[0] ?? NaN));
      } finally {
        x.dispose();
        y.dispose();
      }
    }
    return losses;
  }

  /**
   * Next-token probabilities [vocabSize] after one window (the tutorial's sampling: the whole
   * window is re-run for every generated token).
   * @param window exactly windowSize ids.
   */
  predictNext(window: ArrayLike<number>): Float32Array {
    if (window.length !== this.config.windowSize) throw new RangeError(`window must hold ${this.config.windowSize} ids`);
    const tf = this.tf;
    const x = tf.tensor3d(Array.from(window, (id) => id / this.config.vocabSize), [1, this.config.windowSize, 1]);
    const probs = this.model.predict(x) as tfjs.Tensor;
    const values = probs.dataSync() as Float32Array;
    x.dispose();
    probs.dispose();
    return values;
  }

  /** Summed NLL (nats), count and argmax hits over windows, without dropout, in chunks of `batchSize`. */
  evaluate(windows: Int32Array, targets: Int32Array, batchSize = 256): { nll: number; count: number; correct: number } {
    const w = this.config.windowSize;
    let nll = 0;
    let correct = 0;
    for (let start = 0; start < targets.length; start += batchSize) {
      const end = Math.min(targets.length, start + batchSize);
      const { x, y } = this.tensors(windows.subarray(start * w, end * w), targets.subarray(start, end));
      const probs = this.model.predict(x, { batchSize }) as tfjs.Tensor;
      const p = probs.dataSync();
      const v = this.config.vocabSize;
      for (let r = 0; r < end - start; r++) {
        const target = targets[start + r]!;
        nll -= Math.log(Math.max(p[r * v + target]!, 1e-12));
        let best = 0;
        for (let k = 1; k < v; k++) if (p[r * v + k]! > p[r * v + best]!) best = k;
        if (best === target) correct++;
      }
      disposeAll([x, y, probs]);
    }
    return { nll, count: targets.length, correct };
  }

  weightShapes(): Record<string, number[]> {
    return Object.fromEntries(this.model.getWeights().map((w, i) => [`tutorial/${i}`, [...w.shape]]));
  }

  /** Weights by position (`tutorial/0` …); tfjs-layers' own names carry per-process counters. */
  getWeights(): NamedWeights {
    return Object.fromEntries(
      this.model.getWeights().map((w, i) => [`tutorial/${i}`, { shape: [...w.shape], values: w.dataSync() as Float32Array }]),
    );
  }

  /** @throws MotifError MODEL_MISMATCH when names or shapes differ. */
  setWeights(weights: NamedWeights): void {
    const shapes = this.weightShapes();
    assertWeightShapes(weights, shapes);
    const tensors = Object.keys(shapes).map((name) => this.tf.tensor(weights[name]!.values, weights[name]!.shape));
    this.model.setWeights(tensors);
    disposeAll(tensors);
  }

  dispose(): void {
    this.model.optimizer?.dispose();
    this.model.dispose();
  }

  private tensors(windows: Int32Array, targets: Int32Array): { x: tfjs.Tensor3D; y: tfjs.Tensor2D } {
    const { windowSize: w, vocabSize: v } = this.config;
    const count = targets.length;
    if (windows.length !== count * w) throw new RangeError(`expected ${count}×${w} window ids, got ${windows.length}`);
    const scaled = new Float32Array(windows.length);
    for (let i = 0; i < windows.length; i++) scaled[i] = windows[i]! / v;
    const oneHot = new Float32Array(count * v);
    for (let r = 0; r < count; r++) {
      const t = targets[r]!;
      if (!Number.isInteger(t) || t < 0 || t >= v) throw new RangeError(`target id ${t} outside vocabulary of ${v}`);
      oneHot[r * v + t] = 1;
    }
    return { x: this.tf.tensor3d(scaled, [count, w, 1]), y: this.tf.tensor2d(oneHot, [count, v]) };
  }
}

function disposeAll(tensors: tfjs.Tensor[]): void {
  for (const t of tensors) t.dispose();
}
