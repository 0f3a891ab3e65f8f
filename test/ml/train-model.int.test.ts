import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { disposeModel, loadModel } from '../../src/ml/model-dir.js';
import { buildEnsemble } from '../../src/ml/training/build-ensemble.js';
import { loadCorpus, splitCorpus } from '../../src/music/corpus.js';
import { trainModel } from '../../src/ml/training/train-model.js';
import { evaluateModel } from '../../src/ml/evaluation/evaluate.js';
import { loadWeights } from '../../src/ml/weights.js';
import { tokenPositions, VOICES_HELD_PERIOD } from '../../src/music/tokenizers/index.js';
import { TINY_NETWORK, tinyTune, writeTinyCorpus } from '../support/tiny-model.js';

// Not `motif-train-`: that is the train job's scratch prefix, which test/jobs/train-job.int.test.ts
// watches in the shared tmpdir while this file runs in parallel.
const outRoots: string[] = [];
async function freshOut(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'motif-model-out-'));
  outRoots.push(root);
  return join(root, 'model');
}
afterAll(async () => {
  await Promise.all(outRoots.map((root) => rm(root, { recursive: true, force: true })));
});

describe('trainModel', () => {
  it('GIVEN a folder of MIDI files WHEN trained THEN a complete model directory loads back with its spec, weights, copy index and loss curve', async () => {
    const corpus = await writeTinyCorpus();
    const outDir = await freshOut();
    const progress: number[] = [];
    const result = await trainModel({ dataDirs: [corpus], outDir, ...TINY_NETWORK, onProgress: (p) => progress.push(p.step) });
    expect(progress.length).toBeGreaterThan(0);
    expect((await readdir(outDir)).sort()).toEqual(['copy-index.json', 'loss-curve.png', 'spec.json', 'weights.bin', 'weights.json']);
    expect(existsSync(`${outDir}.checkpoint`)).toBe(false);
    const loaded = await loadModel(outDir);
    expect(loaded.spec.arch).toBe('lm');
    expect(loaded.spec.tokenizer.name).toBe('event');
    expect(loaded.spec.training.history).toHaveLength(2);
    expect(loaded.copyIndex).toBeDefined();
    expect(result.spec.metrics.validNllPerToken).toBeGreaterThan(0);
    const png = await readFile(join(outDir, 'loss-curve.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    loaded.network.dispose();
  });

  it.each([1, 2])('GIVEN an aborted run on %i thread(s) WHEN resumed THEN it continues from the checkpoint — weights, Adam state and dropout streams — as if never stopped', async (threads) => {
    const corpus = await writeTinyCorpus();
    const network = { ...TINY_NETWORK, trainingThreads: threads };
    const interruptedRun = async (opts: { dropOptimizerState: boolean }): Promise<{ dir: string; losses: number[]; resumedEpochs: number[] }> => {
      const outDir = await freshOut();
      const controller = new AbortController();
      // Abort during epoch 2: epoch 1 is checkpointed, epoch 2 is not finished.
      const first = await trainModel({
        dataDirs: [corpus],
        outDir,
        ...network,
        epochs: 3,
        signal: controller.signal,
        onEpoch: (record) => {
          if (record.epoch === 1) controller.abort();
        },
      });
      expect(first.aborted).toBe(true);
      expect(existsSync(join(`${outDir}.checkpoint`, 'state.json'))).toBe(true);
      // One complete epoch folder, named by state.json (written last).
      expect((await readdir(`${outDir}.checkpoint`)).sort()).toEqual(['epoch-1', 'state.json']);
      if (opts.dropOptimizerState) await rm(join(`${outDir}.checkpoint`, 'epoch-1', 'optimizer'), { recursive: true });
      const resumedEpochs: number[] = [];
      const resumed = await trainModel({ dataDirs: [corpus], outDir, ...network, epochs: 3, resume: true, onEpoch: (r) => resumedEpochs.push(r.epoch) });
      expect(resumed.spec.training.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
      return { dir: outDir, losses: resumed.spec.training.history.map((h) => h.trainLoss), resumedEpochs };
    };
    const straightDir = await freshOut();
    const straight = await trainModel({ dataDirs: [corpus], outDir: straightDir, ...network, epochs: 3 });
    const straightLosses = straight.spec.training.history.map((h) => h.trainLoss);
    const maxWeightDiff = async (dir: string): Promise<number> => {
      const [a, b] = await Promise.all([loadWeights(dir), loadWeights(straightDir)]);
      let max = 0;
      for (const [name, { values }] of Object.entries(a)) {
        values.forEach((v, i) => (max = Math.max(max, Math.abs(v - b[name]!.values[i]!))));
      }
      return max;
    };

    const resumed = await interruptedRun({ dropOptimizerState: false });
    expect(resumed.resumedEpochs).toEqual([2, 3]);
    // Equal up to float32 rounding (Adam recomputes beta^t on restore instead of multiplying it up).
    resumed.losses.forEach((loss, i) => expect(loss).toBeCloseTo(straightLosses[i]!, 6));
    const resumedDiff = await maxWeightDiff(resumed.dir);
    expect(resumedDiff).toBeLessThan(1e-5);

    // Control: without the saved Adam state the resumed run restarts Adam and lands far further away.
    const restarted = await interruptedRun({ dropOptimizerState: true });
    const restartedDiff = await maxWeightDiff(restarted.dir);
    console.info(`resume vs uninterrupted, max weight difference: ${resumedDiff.toExponential(2)} with Adam state, ${restartedDiff.toExponential(2)} without`);
    expect(restartedDiff).toBeGreaterThan(100 * Math.max(resumedDiff, 1e-7));
  });

  it('GIVEN --threads out of range or with the tutorial network WHEN training starts THEN a clear error before any data is read; with --from two threads train and the saved model records one', async () => {
    const missing = join(await mkdtemp(join(tmpdir(), 'motif-threads-')), 'no-such-data');
    const outDir = await freshOut();
    await expect(trainModel({ dataDirs: [missing], outDir, ...TINY_NETWORK, trainingThreads: 3 })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
    await expect(trainModel({ dataDirs: [missing], outDir, ...TINY_NETWORK, arch: 'seed', trainingThreads: 2 })).rejects.toMatchObject({
      code: 'OPTION_OUT_OF_RANGE',
      userMessage: expect.stringMatching(/only for the default architecture/),
    });
    const corpus = await writeTinyCorpus();
    const base = await freshOut();
    await trainModel({ dataDirs: [corpus], outDir: base, ...TINY_NETWORK, epochs: 1 });
    const tuned = await trainModel({ dataDirs: [corpus], outDir: await freshOut(), ...TINY_NETWORK, epochs: 1, fromDir: base, trainingThreads: 2 });
    // The run used two threads; the saved model trains on one unless asked again.
    expect(tuned.spec.network).toMatchObject({ trainingThreads: 1 });
    expect(existsSync(outDir)).toBe(false);
  });

  it('GIVEN an existing model WHEN fine-tuned with --from, a new --lr and --position-period THEN the run uses that rate, the saved model reads positions, and it loads and scores', async () => {
    const corpus = await writeTinyCorpus();
    const base = await freshOut();
    await trainModel({ dataDirs: [corpus], outDir: base, ...TINY_NETWORK, epochs: 1 });
    const baseSpec = JSON.parse(await readFile(join(base, 'spec.json'), 'utf8'));
    expect(baseSpec.network.learningRate).not.toBe(0.0003);
    const tunedDir = await freshOut();
    const tuned = await trainModel({ dataDirs: [corpus], outDir: tunedDir, ...TINY_NETWORK, epochs: 1, fromDir: base, learningRate: 0.0003, positionPeriod: 16 });
    expect(tuned.spec.network).toMatchObject({ learningRate: 0.0003, positionPeriod: 16 });
    const loaded = await loadModel(tunedDir);
    const bias = (await loadWeights(tunedDir, (loaded.network as { weightShapes(): Record<string, number[]> }).weightShapes()))['lstm_1/position_bias']!;
    expect(bias.shape[0]).toBe(16);
    // Trained from zero: one epoch moved it.
    expect(bias.values.some((v) => v !== 0)).toBe(true);
    loaded.network.dispose();
    await expect(trainModel({ dataDirs: [corpus], outDir: await freshOut(), ...TINY_NETWORK, epochs: 1, fromDir: tunedDir, positionPeriod: 4 })).rejects.toMatchObject({
      code: 'OPTION_OUT_OF_RANGE',
      userMessage: expect.stringMatching(/period of 16/),
    });
  });

  it('GIVEN an ensemble WHEN fine-tuned with --from THEN it says only its own network is tuned, and the result is one network that loads alone', async () => {
    const corpus = await writeTinyCorpus();
    const lead = await freshOut();
    const other = await freshOut();
    await trainModel({ dataDirs: [corpus], outDir: lead, ...TINY_NETWORK, epochs: 1 });
    await trainModel({ dataDirs: [corpus], outDir: other, ...TINY_NETWORK, epochs: 1, randomSeed: 9 });
    await buildEnsemble(lead, [other], [corpus]);
    const lines: string[] = [];
    const tunedDir = await freshOut();
    const tuned = await trainModel({ dataDirs: [corpus], outDir: tunedDir, ...TINY_NETWORK, epochs: 1, fromDir: lead, log: (m) => lines.push(m) });
    expect(lines.some((l) => /is an ensemble: fine-tuning its own network only/.test(l))).toBe(true);
    expect(tuned.spec.ensemble).toBeUndefined();
    const loaded = await loadModel(tunedDir);
    expect(loaded.ensemble).toBeUndefined();
    disposeModel(loaded);
  });

  it('GIVEN a voices model reading the index WHEN fine-tuned with held-note input THEN the spec records it with period 192, its positions are the held ones, and other encodings or periods are refused', async () => {
    const corpus = await writeTinyCorpus();
    const base = await freshOut();
    await trainModel({ dataDirs: [corpus], outDir: base, ...TINY_NETWORK, epochs: 1, encoding: 'voices', holds: 'pitch', positionPeriod: 16 });
    const tunedDir = await freshOut();
    const tuned = await trainModel({ dataDirs: [corpus], outDir: tunedDir, ...TINY_NETWORK, epochs: 1, fromDir: base, heldInput: true });
    expect(tuned.spec.network).toMatchObject({ positionPeriod: VOICES_HELD_PERIOD });
    expect(tuned.spec.tokenizer).toMatchObject({ name: 'voices', config: { holds: 'pitch', heldInput: true } });
    const loaded = await loadModel(tunedDir);
    // A piece's positions now go past 16 where a voice has held its note.
    const ids = loaded.tokenizer.encode(tinyTune(0));
    expect(Math.max(...tokenPositions(loaded.tokenizer, ids))).toBeGreaterThan(16);
    loaded.network.dispose();
    await expect(trainModel({ dataDirs: [corpus], outDir: await freshOut(), ...TINY_NETWORK, epochs: 1, heldInput: true })).rejects.toMatchObject({
      code: 'OPTION_OUT_OF_RANGE',
      userMessage: expect.stringMatching(/voices encoding only/),
    });
    await expect(trainModel({ dataDirs: [corpus], outDir: await freshOut(), ...TINY_NETWORK, epochs: 1, encoding: 'voices', heldInput: true, positionPeriod: 16 })).rejects.toMatchObject({
      code: 'OPTION_OUT_OF_RANGE',
      userMessage: expect.stringMatching(/period of 192/),
    });
  });

  it('GIVEN an existing model WHEN fine-tuned with --from on seed-encoded data with new chords THEN the vocabulary grows and old ids keep their meaning', async () => {
    const corpus = await writeTinyCorpus();
    const base = await freshOut();
    await trainModel({ dataDirs: [corpus], outDir: base, ...TINY_NETWORK, encoding: 'seed', sequenceLength: 4, maxPieces: 3 });
    const baseSpec = JSON.parse(await readFile(join(base, 'spec.json'), 'utf8'));
    const tuned = await freshOut();
    const result = await trainModel({ dataDirs: [corpus], outDir: tuned, ...TINY_NETWORK, sequenceLength: 4, fromDir: base });
    const vocabulary = (result.spec.tokenizer as { vocabulary: string[] }).vocabulary;
    expect(vocabulary.length).toBeGreaterThan(baseSpec.vocabSize);
    expect(vocabulary.slice(0, baseSpec.vocabSize)).toEqual(baseSpec.tokenizer.vocabulary);
    (await loadModel(tuned)).network.dispose();
  });

  it('GIVEN a time budget shorter than one epoch WHEN trained THEN it stops inside the first epoch, says so, and still saves the best weights it has', async () => {
    const corpus = await writeTinyCorpus(undefined, 12);
    const outDir = await freshOut();
    // 1 ms: over after the first step, so the cut always lands inside epoch 1 (it has several steps).
    const result = await trainModel({ dataDirs: [corpus], outDir, ...TINY_NETWORK, epochs: 50, timeBudgetSeconds: 0.001 });
    expect(result.outOfTime).toBe(true);
    expect(result.completedEpochs).toBe(0);
    expect(result.spec.training.history).toHaveLength(1);
    expect(result.spec.training.history[0]!.validLoss).toBeGreaterThan(0);
    expect((await readdir(outDir)).sort()).toEqual(['copy-index.json', 'loss-curve.png', 'spec.json', 'weights.bin', 'weights.json']);
    const full = await trainModel({ dataDirs: [corpus], outDir: await freshOut(), ...TINY_NETWORK, epochs: 1 });
    expect([full.outOfTime, full.completedEpochs]).toEqual([false, 1]);
  });

  it('GIVEN --train-on-valid WHEN trained THEN the validation pieces join the training pieces, the test pieces stay out, the run goes its epochs and keeps the last, and the spec says so', async () => {
    const corpus = await writeTinyCorpus(undefined, 24);
    const split = splitCorpus((await loadCorpus([corpus])).pieces);
    // The tiny corpus's split is fixed (ids hash the same every run); the test needs all three parts.
    expect(split.valid.length).toBeGreaterThan(0);
    expect(split.test.length).toBeGreaterThan(0);
    const result = await trainModel({ dataDirs: [corpus], outDir: await freshOut(), ...TINY_NETWORK, epochs: 3, patience: 1, trainOnValid: true });
    expect(result.spec.metrics.trainPieces).toBe(split.train.length + split.valid.length);
    expect(result.spec.training.data[0]!.pieces).toBe(split.train.length + split.valid.length);
    expect(result.spec.metrics.validNllPerToken).toBeUndefined();
    expect(result.spec.training.history.map((e) => e.validLoss)).toEqual([undefined, undefined, undefined]);
    expect([result.spec.training.bestEpoch, result.spec.training.trainOnValid]).toEqual([3, true]);
    const heldOut = await trainModel({ dataDirs: [corpus], outDir: await freshOut(), ...TINY_NETWORK, epochs: 1 });
    expect(heldOut.spec.metrics.trainPieces).toBe(split.train.length);
    expect(heldOut.spec.training.trainOnValid).toBeUndefined();
  });

  it('GIVEN a corpus without test pieces WHEN trained with --train-on-valid THEN a clear DATA_EMPTY error: nothing would be held out', async () => {
    const corpus = await writeTinyCorpus(undefined, 3);
    expect(splitCorpus((await loadCorpus([corpus])).pieces).test).toHaveLength(0);
    const outDir = await freshOut();
    await expect(trainModel({ dataDirs: [corpus], outDir, ...TINY_NETWORK, trainOnValid: true })).rejects.toMatchObject({
      code: 'DATA_EMPTY',
      userMessage: expect.stringMatching(/no test pieces/),
    });
    expect(existsSync(outDir)).toBe(false);
    // Nor is such a model scored on a corpus's validation pieces in place of test pieces.
    const refit = await freshOut();
    await trainModel({ dataDirs: [await writeTinyCorpus(undefined, 24)], outDir: refit, ...TINY_NETWORK, epochs: 1, trainOnValid: true });
    await expect(evaluateModel({ modelDir: refit, dataDirs: [corpus], samples: 0 })).rejects.toMatchObject({ code: 'DATA_EMPTY', userMessage: expect.stringMatching(/--test DIR/) });
    await expect(evaluateModel({ modelDir: refit, dataDirs: [corpus], testDirs: [corpus], samples: 0 })).resolves.toMatchObject({ testPieces: 3 });
  });

  it('GIVEN an empty or missing training folder THEN a clear DATA_EMPTY error and nothing is written', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'motif-empty-'));
    await writeFile(join(empty, 'notes.txt'), 'not music');
    const outDir = await freshOut();
    await expect(trainModel({ dataDirs: [empty], outDir, ...TINY_NETWORK })).rejects.toMatchObject({ code: 'DATA_EMPTY' });
    await expect(trainModel({ dataDirs: [join(empty, 'nope')], outDir, ...TINY_NETWORK })).rejects.toBeInstanceOf(MotifError);
    expect(existsSync(outDir)).toBe(false);
  });
});
