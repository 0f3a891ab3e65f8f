/** LanguageModel behaviour on the real WASM backend with tiny models built here. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LanguageModel } from '../../src/ml/network/language-model.js';
import { initTf, type Tf } from '../../src/ml/tf.js';
import { loadWeights, saveWeights } from '../../src/ml/weights.js';

let tf: Tf;
beforeAll(async () => {
  ({ tf } = await initTf());
});

const SMALL = { embeddingSize: 8, hiddenSizes: [16, 16], dropout: 0.1, learningRate: 0.01 };

/** Windows cut from a repeating phrase: [batch × steps] inputs and the ids that follow them. */
function phraseBatch(phrase: number[], batch: number, steps: number): { inputs: Int32Array; targets: Int32Array } {
  const inputs = new Int32Array(batch * steps);
  const targets = new Int32Array(batch * steps);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      inputs[b * steps + t] = phrase[(b + t) % phrase.length]!;
      targets[b * steps + t] = phrase[(b + t + 1) % phrase.length]!;
    }
  }
  return { inputs, targets };
}

const PHRASE = [0, 1, 2, 3, 2, 1, 4, 5];

describe('LanguageModel', () => {
  it('GIVEN a repeating phrase WHEN trained for 60 steps THEN the loss falls below a quarter of its start', async () => {
    const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 5 });
    const { inputs, targets } = phraseBatch(PHRASE, 4, 12);
    const first = model.trainStep(inputs, targets, 4, 12);
    let last = first;
    for (let i = 0; i < 60; i++) last = model.trainStep(inputs, targets, 4, 12);
    expect(first).toBeGreaterThan(1.5);
    expect(last).toBeLessThan(first / 4);
    model.dispose();
  });

  it('GIVEN the same seed WHEN two models train on the same batches THEN losses and weights are identical, and another seed differs', async () => {
    const { inputs, targets } = phraseBatch(PHRASE, 3, 8);
    const run = async (seed: number): Promise<{ losses: number[]; kernel: Float32Array }> => {
      const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed });
      const losses = Array.from({ length: 5 }, () => model.trainStep(inputs, targets, 3, 8));
      const kernel = model.getWeights()['lstm_2/kernel']!.values;
      model.dispose();
      return { losses, kernel };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(b.losses).toEqual(a.losses);
    expect(Array.from(b.kernel)).toEqual(Array.from(a.kernel));
    expect(Array.from(c.kernel)).not.toEqual(Array.from(a.kernel));
  });

  it('GIVEN a model WHEN training, evaluating and stepping THEN no tensor leaks, and dispose frees everything', async () => {
    const before = tf.memory().numTensors;
    const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 1 });
    const { inputs, targets } = phraseBatch(PHRASE, 2, 5);
    model.trainStep(inputs, targets, 2, 5);
    model.evaluate(inputs, targets, 2, 5);
    model.step(model.initState(2), [1, 2]);
    const warm = tf.memory().numTensors;
    model.trainStep(inputs, targets, 2, 5);
    model.evaluate(inputs, targets, 2, 5);
    let state = model.initState(2);
    for (let i = 0; i < 3; i++) state = model.step(state, [i, i + 1]).state;
    // Training bumps the weights version, so the next step rebuilds (not adds) its cache.
    expect(tf.memory().numTensors).toBe(warm);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('GIVEN a trained model WHEN stepping one token at a time THEN its NLL equals the whole-sequence evaluation', async () => {
    const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 2 });
    const { inputs, targets } = phraseBatch(PHRASE, 4, 10);
    for (let i = 0; i < 10; i++) model.trainStep(inputs, targets, 4, 10);
    const window = phraseBatch(PHRASE, 1, 10);
    const whole = model.evaluate(window.inputs, window.targets, 1, 10);
    let state = model.initState(1);
    let nll = 0;
    for (let t = 0; t < 10; t++) {
      const out = model.step(state, [window.inputs[t]!]);
      state = out.state;
      const max = Math.max(...out.logits);
      const logSum = Math.log(out.logits.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
      nll += logSum - out.logits[window.targets[t]!]!;
    }
    expect(whole.count).toBe(10);
    expect(nll).toBeCloseTo(whole.nll, 3);
    model.dispose();
  });

  it('GIVEN saved weights WHEN loaded into a fresh model THEN it scores identically; a different vocabulary is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'motif-lm-'));
    try {
      const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 3 });
      const { inputs, targets } = phraseBatch(PHRASE, 2, 6);
      model.trainStep(inputs, targets, 2, 6);
      await saveWeights(dir, model.getWeights());
      const fresh = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 99 });
      fresh.setWeights(await loadWeights(dir, fresh.weightShapes()));
      expect(fresh.evaluate(inputs, targets, 2, 6).nll).toBeCloseTo(model.evaluate(inputs, targets, 2, 6).nll, 5);
      const wider = await LanguageModel.create({ vocabSize: 7, ...SMALL, seed: 3 });
      await expect(loadWeights(dir, wider.weightShapes())).rejects.toMatchObject({ code: 'MODEL_MISMATCH' });
      expect(() => wider.setWeights(model.getWeights())).toThrow(/vocabulary or layer sizes/);
      for (const m of [model, fresh, wider]) m.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN a trained model WHEN its vocabulary grows THEN old tokens keep their logits and new tokens can be trained on', async () => {
    const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 4 });
    const { inputs, targets } = phraseBatch(PHRASE, 2, 6);
    for (let i = 0; i < 5; i++) model.trainStep(inputs, targets, 2, 6);
    const before = model.step(model.initState(1), [3]).logits;
    model.growVocabulary(8);
    expect(model.weightShapes().embedding).toEqual([8, SMALL.embeddingSize]);
    expect(model.weightShapes()['dense/bias']).toEqual([8]);
    const after = model.step(model.initState(1), [3]).logits;
    expect(after).toHaveLength(8);
    for (let k = 0; k < 6; k++) expect(after[k]).toBeCloseTo(before[k]!, 5);
    const grown = phraseBatch([...PHRASE, 6, 7], 2, 6);
    const loss = model.trainStep(grown.inputs, grown.targets, 2, 6);
    expect(Number.isFinite(loss)).toBe(true);
    model.dispose();
  });

  // Positions: rows that start mid-piece (at 0, 2, 4, …), so the helper must be handed them, not assume row starts.
  it.each([
    { input: 'no position input', positionPeriod: 0, positions: undefined },
    { input: 'position input and windows cut mid-piece', positionPeriod: 3, positions: Int32Array.from({ length: 35 }, (_, i) => 2 * Math.floor(i / 7) + (i % 7)) },
  ])('GIVEN no dropout and $input WHEN a batch is split with the helper thread THEN loss and updated weights match the single-thread step', async ({ positionPeriod, positions }) => {
    const config = { vocabSize: 6, ...SMALL, dropout: 0, seed: 8, positionPeriod };
    const single = await LanguageModel.create({ ...config, trainingThreads: 1 });
    const dual = await LanguageModel.create({ ...config, trainingThreads: 2 });
    const { inputs, targets } = phraseBatch(PHRASE, 5, 7);
    for (let i = 0; i < 3; i++) {
      expect(dual.trainStep(inputs, targets, 5, 7, positions)).toBeCloseTo(single.trainStep(inputs, targets, 5, 7, positions), 4);
    }
    const a = single.getWeights();
    const b = dual.getWeights();
    for (const name of Object.keys(a)) {
      const diff = a[name]!.values.reduce((m, v, i) => Math.max(m, Math.abs(v - b[name]!.values[i]!)), 0);
      expect(diff, name).toBeLessThan(1e-4);
    }
    single.dispose();
    dual.dispose();
  });

  it('GIVEN position input WHEN stepping one token at a time THEN its NLL equals the whole-piece evaluation, and a window cut mid-piece scores as its positions say', async () => {
    const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 5, positionPeriod: 4 });
    const { inputs, targets } = phraseBatch(PHRASE, 4, 10);
    for (let i = 0; i < 10; i++) model.trainStep(inputs, targets, 4, 10);
    const piece = phraseBatch(PHRASE, 1, 10);
    let state = model.initState(1);
    const stepNll: number[] = [];
    for (let t = 0; t < 10; t++) {
      const out = model.step(state, [piece.inputs[t]!]);
      state = out.state;
      const max = Math.max(...out.logits);
      stepNll.push(Math.log(out.logits.reduce((s, v) => s + Math.exp(v - max), 0)) + max - out.logits[piece.targets[t]!]!);
    }
    expect(state.consumed).toBe(10);
    expect(stepNll.reduce((a, b) => a + b, 0)).toBeCloseTo(model.evaluate(piece.inputs, piece.targets, 1, 10).nll, 3);
    // The same tokens told they sit at indices 1…10 are a different input: the bias rows shift by one.
    const shifted = Int32Array.from({ length: 10 }, (_, t) => t + 1);
    expect(model.evaluate(piece.inputs, piece.targets, 1, 10, shifted).nll).not.toBeCloseTo(model.evaluate(piece.inputs, piece.targets, 1, 10).nll, 3);
    expect(() => model.evaluate(piece.inputs, piece.targets, 1, 10, Int32Array.of(0, 1))).toThrow(RangeError);
    // An encoding's own positions (not the index; here repeating 0 0 1 1 2 2 …) given to each step
    // score exactly as the same positions given to the whole piece.
    const own = Int32Array.from({ length: 10 }, (_, t) => Math.floor(t / 2));
    state = model.initState(1);
    let ownNll = 0;
    for (let t = 0; t < 10; t++) {
      const out = model.step(state, [piece.inputs[t]!], [own[t]!]);
      state = out.state;
      const max = Math.max(...out.logits);
      ownNll += Math.log(out.logits.reduce((s, v) => s + Math.exp(v - max), 0)) + max - out.logits[piece.targets[t]!]!;
    }
    expect(ownNll).toBeCloseTo(model.evaluate(piece.inputs, piece.targets, 1, 10, own).nll, 3);
    expect(ownNll).not.toBeCloseTo(stepNll.reduce((a, b) => a + b, 0), 3);
    expect(() => model.step(model.initState(1), [1], [0, 1])).toThrow(RangeError);
    expect(() => model.step(model.initState(1), [1], [-1])).toThrow(RangeError);
    model.dispose();
  });

  it('GIVEN a trained model without position input WHEN position input is added THEN it predicts exactly as before, saves the new weight, and training moves it', async () => {
    const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 6 });
    const { inputs, targets } = phraseBatch(PHRASE, 4, 8);
    for (let i = 0; i < 5; i++) model.trainStep(inputs, targets, 4, 8);
    const before = model.evaluate(inputs, targets, 4, 8).nll;
    model.addPositionInput(8);
    expect(model.config.positionPeriod).toBe(8);
    expect(model.weightShapes()['lstm_1/position_bias']).toEqual([8, 4 * SMALL.hiddenSizes[0]!]);
    expect(model.evaluate(inputs, targets, 4, 8).nll).toBeCloseTo(before, 5);
    model.trainStep(inputs, targets, 4, 8);
    expect(model.getWeights()['lstm_1/position_bias']!.values.some((v) => v !== 0)).toBe(true);
    expect(() => model.addPositionInput(12)).toThrow(/period of 8/);
    model.dispose();
  });

  it('GIVEN a model with position input WHEN its period grows to a multiple THEN position p predicts as p mod the old period did, and training tells them apart', async () => {
    const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 9, positionPeriod: 4 });
    const { inputs, targets } = phraseBatch(PHRASE, 4, 8);
    for (let i = 0; i < 5; i++) model.trainStep(inputs, targets, 4, 8);
    const wide = Int32Array.from({ length: 32 }, (_, i) => (i * 5) % 12);
    const folded = wide.map((p) => p % 4);
    const before = model.evaluate(inputs, targets, 4, 8, folded).nll;
    model.addPositionInput(12);
    expect(model.weightShapes()['lstm_1/position_bias']).toEqual([12, 4 * SMALL.hiddenSizes[0]!]);
    expect(model.evaluate(inputs, targets, 4, 8, wide).nll).toBeCloseTo(before, 5);
    for (let i = 0; i < 3; i++) model.trainStep(inputs, targets, 4, 8, wide);
    const bias = model.getWeights()['lstm_1/position_bias']!.values;
    const row = 4 * SMALL.hiddenSizes[0]!;
    // Rows 1 and 5 started equal (5 mod 4 = 1); they come with other tokens, so training parts them.
    expect(bias.subarray(row, 2 * row)).not.toEqual(bias.subarray(5 * row, 6 * row));
    model.dispose();
  });

  it('GIVEN ids outside the vocabulary WHEN training or stepping THEN it refuses with a RangeError', async () => {
    const model = await LanguageModel.create({ vocabSize: 6, ...SMALL, seed: 1 });
    expect(() => model.trainStep(Int32Array.of(1, 9), Int32Array.of(1, 2), 1, 2)).toThrow(RangeError);
    expect(() => model.step(model.initState(1), [6])).toThrow(RangeError);
    model.dispose();
  });
});
