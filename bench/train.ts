/**
 * Training throughput, ours versus stock tfjs-layers, same sizes (embedding 128 → LSTM 256 →
 * dropout 0.3 → LSTM 256 → dense over 200 tokens), same batch (64 × 64 steps), same backend, same
 * process. Figures are target tokens per second (every position is a target). `train_tokens_per_s`
 * is the default single-thread trainer; `_2threads` splits each batch with a helper worker replica
 * (it only pays off when a second core is idle). `train_load_avg_1m` is the machine's 1-minute
 * load average at the end of the run: figures from a loaded machine are not comparable.
 */
import { loadavg } from 'node:os';
import { LanguageModel } from '../src/ml/network/language-model.js';
import { StockLanguageModel } from '../src/ml/network/stock-lm.js';

const VOCAB = 200;
const BATCH = 64;
const STEPS = 64;
const EMBEDDING = 128;
const HIDDEN = [256, 256];

/**
 * Steps of the three trainers are interleaved (ours 1 thread, ours 2 threads, stock, repeat) so that
 * load from other processes hits all of them alike; each gets one untimed warm-up step first.
 */
export async function benchTrain(opts: { rounds?: number } = {}): Promise<Record<string, number>> {
  const { inputs, targets } = syntheticBatch(1);
  const sizes = { vocabSize: VOCAB, embeddingSize: EMBEDDING, hiddenSizes: HIDDEN, dropout: 0.3, seed: 1 };
  const single = await LanguageModel.create({ ...sizes, trainingThreads: 1 });
  const dual = await LanguageModel.create({ ...sizes, trainingThreads: 2 });
  const stock = await StockLanguageModel.create(sizes);
  const trainers: Array<() => Promise<unknown> | unknown> = [
    () => single.trainStep(inputs, targets, BATCH, STEPS),
    () => dual.trainStep(inputs, targets, BATCH, STEPS),
    () => stock.trainStep(inputs, targets, BATCH, STEPS),
  ];
  const seconds = [0, 0, 0];
  for (const train of trainers) await train();
  const rounds = opts.rounds ?? 2;
  for (let r = 0; r < rounds; r++) {
    for (const [i, train] of trainers.entries()) {
      const start = performance.now();
      await train();
      seconds[i]! += (performance.now() - start) / 1000;
    }
  }
  single.dispose();
  dual.dispose();
  stock.dispose();
  const rate = (s: number): number => (rounds * BATCH * STEPS) / s;
  const [ours, ours2, stockRate] = seconds.map(rate) as [number, number, number];
  return {
    train_tokens_per_s: Math.round(ours),
    train_tokens_per_s_2threads: Math.round(ours2),
    train_tokens_per_s_stock: Math.round(stockRate),
    train_speedup_vs_stock: Math.round((ours / stockRate) * 10) / 10,
    train_load_avg_1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** A repetitive but non-trivial token stream, so the loss is realistic and deterministic. */
function syntheticBatch(seed: number): { inputs: Int32Array; targets: Int32Array } {
  const stream = Int32Array.from({ length: BATCH * (STEPS + 1) }, (_, i) => ((i * 37 + seed) ^ (i >> 3)) % VOCAB);
  const inputs = new Int32Array(BATCH * STEPS);
  const targets = new Int32Array(BATCH * STEPS);
  for (let b = 0; b < BATCH; b++) {
    for (let t = 0; t < STEPS; t++) {
      inputs[b * STEPS + t] = stream[b * (STEPS + 1) + t]!;
      targets[b * STEPS + t] = stream[b * (STEPS + 1) + t + 1]!;
    }
  }
  return { inputs, targets };
}

if (process.argv[1]?.endsWith('train.ts')) {
  console.log(JSON.stringify(await benchTrain()));
}
