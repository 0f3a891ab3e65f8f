/** The tutorial baseline (stock tfjs-layers) on a tiny configuration, real WASM backend. */
import { beforeAll, describe, expect, it } from 'vitest';
import { TutorialModel } from '../../src/ml/network/tutorial-model.js';
import { initTf, type Tf } from '../../src/ml/tf.js';

let tf: Tf;
beforeAll(async () => {
  ({ tf } = await initTf());
});

const TINY = { vocabSize: 5, windowSize: 6, hiddenSize: 12, learningRate: 0.02 };
const PHRASE = [0, 1, 2, 3, 4, 3, 2, 1];

function windows(count: number): { windows: Int32Array; targets: Int32Array } {
  const w = new Int32Array(count * TINY.windowSize);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    for (let t = 0; t < TINY.windowSize; t++) w[i * TINY.windowSize + t] = PHRASE[(i + t) % PHRASE.length]!;
    y[i] = PHRASE[(i + TINY.windowSize) % PHRASE.length]!;
  }
  return { windows: w, targets: y };
}

describe('TutorialModel (--arch seed)', () => {
  it('GIVEN windows of a repeating phrase WHEN fitted THEN the loss falls and predictions are distributions', async () => {
    const model = await TutorialModel.create({ ...TINY, seed: 1 });
    const data = windows(32);
    const before = model.evaluate(data.windows, data.targets);
    const losses = await model.fit(data.windows, data.targets, { epochs: 25, batchSize: 16 });
    const after = model.evaluate(data.windows, data.targets);
    expect(losses).toHaveLength(25);
    expect(losses[24]!).toBeLessThan(losses[0]!);
    expect(after.nll / after.count).toBeLessThan(before.nll / before.count);
    const probs = model.predictNext(data.windows.subarray(0, TINY.windowSize));
    expect(probs).toHaveLength(5);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    model.dispose();
  });

  it('GIVEN the same seed WHEN two models are built and trained one step THEN their weights are identical', async () => {
    const data = windows(8);
    const a = await TutorialModel.create({ ...TINY, seed: 7 });
    const b = await TutorialModel.create({ ...TINY, seed: 7 });
    await a.trainStep(data.windows, data.targets);
    await b.trainStep(data.windows, data.targets);
    const wa = a.getWeights();
    const wb = b.getWeights();
    for (const name of Object.keys(wa)) expect(Array.from(wb[name]!.values)).toEqual(Array.from(wa[name]!.values));
    a.dispose();
    b.dispose();
  });

  it('GIVEN a model WHEN training, predicting and evaluating THEN no tensor leaks', async () => {
    const before = tf.memory().numTensors;
    const model = await TutorialModel.create({ ...TINY, seed: 2 });
    const data = windows(8);
    await model.trainStep(data.windows, data.targets);
    const warm = tf.memory().numTensors;
    await model.trainStep(data.windows, data.targets);
    model.predictNext(data.windows.subarray(0, TINY.windowSize));
    model.evaluate(data.windows, data.targets);
    model.setWeights(model.getWeights());
    expect(tf.memory().numTensors).toBe(warm);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
