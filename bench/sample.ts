/**
 * Sampling throughput: our stateful one-step LSTM (one step per token, state carried) versus the
 * tutorial's method (re-run the network over the last 100-token window for every new token), same
 * layer sizes, same backend, same process. Greedy decoding so no sampling policy is measured.
 */
import { LanguageModel } from '../src/ml/network/language-model.js';
import { TutorialModel } from '../src/ml/network/tutorial-model.js';

const VOCAB = 200;
const WINDOW = 100;

export async function benchSample(opts: { tokens?: number; windowedTokens?: number } = {}): Promise<Record<string, number>> {
  const ours = await LanguageModel.create({ vocabSize: VOCAB, embeddingSize: 128, hiddenSizes: [256, 256], seed: 1 });
  let state = ours.initState(1);
  let id = 0;
  for (let i = 0; i < 20; i++) ({ state } = ours.step(state, [i % VOCAB]));
  const tokens = opts.tokens ?? 500;
  let start = performance.now();
  for (let i = 0; i < tokens; i++) {
    const out = ours.step(state, [id]);
    state = out.state;
    id = argmax(out.logits);
  }
  const stateful = tokens / ((performance.now() - start) / 1000);
  ours.dispose();

  const tutorial = await TutorialModel.create({ vocabSize: VOCAB, windowSize: WINDOW, hiddenSize: 256, seed: 1 });
  const window = Array.from({ length: WINDOW }, (_, i) => (i * 7) % VOCAB);
  tutorial.predictNext(window);
  const windowedTokens = opts.windowedTokens ?? 10;
  start = performance.now();
  for (let i = 0; i < windowedTokens; i++) {
    window.push(argmax(tutorial.predictNext(window)));
    window.shift();
  }
  const windowed = windowedTokens / ((performance.now() - start) / 1000);
  tutorial.dispose();

  return {
    sample_tokens_per_s: Math.round(stateful),
    sample_tokens_per_s_windowed: Math.round(windowed * 10) / 10,
    sample_speedup_vs_windowed: Math.round(stateful / windowed),
  };
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

if (process.argv[1]?.endsWith('sample.ts')) {
  console.log(JSON.stringify(await benchSample()));
}
