/**
 * The same language model as {@link LanguageModel} (embedding → LSTM → dropout → LSTM → dense
 * softmax at every step) built from stock tfjs-layers, used ONLY by bench/train.ts as the
 * `train_tokens_per_s_stock` reference. The embedding is a bias-free Dense over one-hot inputs
 * because tfjs-wasm lacks the gradient of gather (UnsortedSegmentSum), so tf.layers.embedding
 * cannot train on this backend.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { initTf, type Tf } from '../tf.js';

export interface StockLanguageModelConfig {
  vocabSize: number;
  embeddingSize: number;
  hiddenSizes: number[];
  dropout: number;
  seed: number;
}

export class StockLanguageModel {
  private readonly tf: Tf;
  private readonly model: tfjs.Sequential;
  readonly config: StockLanguageModelConfig;

  static async create(config: StockLanguageModelConfig): Promise<StockLanguageModel> {
    const { tf } = await initTf();
    return new StockLanguageModel(tf, config);
  }

  private constructor(tf: Tf, config: StockLanguageModelConfig) {
    this.tf = tf;
    this.config = config;
    const layers: tfjs.layers.Layer[] = [
      tf.layers.dense({
        units: config.embeddingSize,
        useBias: false,
        inputShape: [null, config.vocabSize],
        kernelInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: config.seed }),
      }),
    ];
    config.hiddenSizes.forEach((units, l) => {
      if (l > 0) layers.push(tf.layers.dropout({ rate: config.dropout, seed: config.seed + l }));
      layers.push(
        tf.layers.lstm({
          units,
          returnSequences: true,
          kernelInitializer: tf.initializers.glorotUniform({ seed: config.seed + 10 + l }),
          recurrentInitializer: tf.initializers.orthogonal({ seed: config.seed + 20 + l }),
        }),
      );
    });
    layers.push(
      tf.layers.timeDistributed({
        layer: tf.layers.dense({
          units: config.vocabSize,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: config.seed + 30 }),
        }),
      }),
    );
    this.model = tf.sequential({ layers });
    this.model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  }

  /** One Adam step on [batch × steps] row-major ids; returns the mean cross-entropy per target. */
  async trainStep(inputIds: Int32Array, targetIds: Int32Array, batch: number, steps: number): Promise<number> {
    const v = this.config.vocabSize;
    const x = new Float32Array(batch * steps * v);
    const y = new Float32Array(batch * steps * v);
    for (let i = 0; i < batch * steps; i++) {
      x[i * v + inputIds[i]!] = 1;
      y[i * v + targetIds[i]!] = 1;
    }
    const xT = this.tf.tensor3d(x, [batch, steps, v]);
    const yT = this.tf.tensor3d(y, [batch, steps, v]);
    try {
      const loss = await this.model.trainOnBatch(xT, yT);
      return Array.isArray(loss) ? loss[0]! : loss;
    } finally {
      xT.dispose();
      yT.dispose();
    }
  }

  dispose(): void {
    this.model.optimizer?.dispose();
    this.model.dispose();
  }
}
