/**
 * Ensembles: two real (tiny) networks trained through the production pipeline, made one model with
 * buildEnsemble, then scored, composed with and refused when damaged.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mixedLogProbability, observeCache, type CopyCacheConfig } from '../../src/ml/copy-cache.js';
import { fitEnsembleWeights, mixLogProbabilities, mixNextToken, scoreModelPieces } from '../../src/ml/ensemble.js';
import { evaluateModel } from '../../src/ml/evaluation/evaluate.js';
import { createStepper, generatePiece } from '../../src/ml/generate.js';
import { disposeModel, loadCorpusPointer, loadModel } from '../../src/ml/model-dir.js';
import { buildEnsemble } from '../../src/ml/training/build-ensemble.js';
import { fitModelCopyCache, fitScoredCopyCache } from '../../src/ml/training/fit-cache.js';
import { refitEnsemble } from '../../src/ml/training/refit-ensemble.js';
import { transposePrefix } from '../../src/ml/transposed-views.js';
import { trainModel } from '../../src/ml/training/train-model.js';
import { loadCorpus, splitCorpus } from '../../src/music/corpus.js';
import { countNoteEvents } from '../../src/music/note-sequence.js';
import { VOICE_BOS_ID, VOICE_EOS_ID, type VoicesTokenizer } from '../../src/music/tokenizers/voices.js';
import { writeMidi } from '../../src/music/midi-io.js';
import { TINY_NETWORK, tinyTune, writeTinyCorpus } from '../support/tiny-model.js';

describe('mixing predictions', () => {
  it('GIVEN two members’ target log-probabilities WHEN mixed THEN each token gets the weighted mean probability', () => {
    const mixed = mixLogProbabilities([[Float32Array.of(Math.log(0.2), Math.log(0.5))], [Float32Array.of(Math.log(0.6), Math.log(0.5))]], [0.25, 0.75]);
    expect(Math.exp(mixed[0]![0]!)).toBeCloseTo(0.25 * 0.2 + 0.75 * 0.6, 6);
    expect(Math.exp(mixed[0]![1]!)).toBeCloseTo(0.5, 6);
  });

  it('GIVEN logits of any scale WHEN the next token is mixed THEN the result is the log of the weighted mean of the softmaxes', () => {
    const a = Float32Array.of(0, Math.log(3)); // softmax 0.25, 0.75
    const b = Float32Array.of(10 + Math.log(9), 10); // softmax 0.9, 0.1
    const mixed = mixNextToken([a, b], [Math.log(0.5), Math.log(0.5)]);
    expect(Array.from(mixed, Math.exp).map((p) => Number(p.toFixed(6)))).toEqual([0.575, 0.425]);
  });

  it('GIVEN one member right on 70% of tokens and the other on 30% WHEN weights are fitted THEN EM finds the likelihood’s maximum, 0.75 / 0.25', () => {
    // p = 0.9 where right, 0.1 where not: d/dw Σ log(w·pA + (1−w)·pB) = 0 at w = 0.75.
    const tokens = Array.from({ length: 100 }, (_, i) => i < 70);
    const a = [Float32Array.from(tokens, (right) => Math.log(right ? 0.9 : 0.1))];
    const b = [Float32Array.from(tokens, (right) => Math.log(right ? 0.1 : 0.9))];
    const weights = fitEnsembleWeights([a, b]);
    expect(weights[0]).toBeCloseTo(0.75, 3);
    expect(weights[0]! + weights[1]!).toBeCloseTo(1, 9);
  });

  it('GIVEN tokens no member scores (NaN, or probability 0 from all) WHEN weights are fitted THEN they are left out, not spread as NaN', () => {
    const tokens = Array.from({ length: 100 }, (_, i) => i < 70);
    const a = Float32Array.from(tokens, (right) => Math.log(right ? 0.9 : 0.1));
    const b = Float32Array.from(tokens, (right) => Math.log(right ? 0.1 : 0.9));
    const withGaps = (x: Float32Array) => [Float32Array.of(...x, NaN, -Infinity)];
    const weights = fitEnsembleWeights([withGaps(a), withGaps(b)]);
    expect(weights[0]).toBeCloseTo(0.75, 3);
    expect(weights[0]! + weights[1]!).toBeCloseTo(1, 9);
  });

  it('GIVEN two members that nearly agree WHEN weights are fitted THEN EM still reaches the maximum, though each round moves the weights very little', () => {
    // p = 0.6 where right, 0.4 where not, A right on 55% of tokens: the maximum is again w = 0.75
    // (55·(0.6 − 0.2w) = 45·(0.4 + 0.2w)), but the likelihood is flat, so EM creeps: stopping at
    // 100 rounds or at the first step under 1e-5 left the chorale ensemble's weights well short.
    const tokens = Array.from({ length: 100 }, (_, i) => i < 55);
    const a = [Float32Array.from(tokens, (right) => Math.log(right ? 0.6 : 0.4))];
    const b = [Float32Array.from(tokens, (right) => Math.log(right ? 0.4 : 0.6))];
    expect(fitEnsembleWeights([a, b])[0]).toBeCloseTo(0.75, 3);
  });
});

describe('an ensemble model', () => {
  const roots: string[] = [];
  let corpus: string;
  let modelDir: string;
  let otherDir: string;

  const freshDir = async (): Promise<string> => {
    const root = await mkdtemp(join(tmpdir(), 'motif-ensemble-'));
    roots.push(root);
    return root;
  };

  beforeAll(async () => {
    corpus = await writeTinyCorpus(join(await freshDir(), 'tiny-corpus'), 14);
    const train = async (randomSeed: number): Promise<string> => {
      const outDir = join(await freshDir(), 'model');
      await trainModel({ dataDirs: [corpus], outDir, ...TINY_NETWORK, encoding: 'voices', holds: 'pitch', randomSeed });
      return outDir;
    };
    modelDir = await train(3);
    otherDir = await train(8);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
  });

  const ensembleDir = async (): Promise<string> => {
    const dir = join(await freshDir(), 'ensemble');
    await cp(modelDir, dir, { recursive: true });
    await buildEnsemble(dir, [otherDir], [corpus]);
    return dir;
  };

  it('GIVEN two networks with the same tokens WHEN made an ensemble THEN the folder holds the member, the spec its weights, and the fitted mixture is no worse on validation than equal weights', async () => {
    const dir = join(await freshDir(), 'ensemble');
    await cp(modelDir, dir, { recursive: true });
    const result = await buildEnsemble(dir, [otherDir], [corpus]);
    expect(result.members).toEqual(['members/net-2']);
    expect(result.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    const spec = JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'));
    expect(spec.ensemble).toEqual({ members: ['members/net-2'], weights: result.weights });
    expect(spec.copyCache).toBeDefined();
    const model = await loadModel(dir);
    expect(model.ensemble?.map((m) => m.weight)).toEqual(result.weights);
    const split = splitCorpus((await loadCorpus([corpus])).pieces);
    const pieces = split.valid.map((p) => model.tokenizer.encode(p.sequence));
    const nll = (weights: number[]): number => {
      const members = model.ensemble!.map((m) => scoreModelPieces({ ...model, ensemble: undefined, network: m.network, tokenizer: m.tokenizer }, pieces).logProbabilities);
      return -mixLogProbabilities(members, weights).reduce((sum, logs) => sum + logs.reduce((a, b) => a + b, 0), 0);
    };
    expect(nll(result.weights)).toBeLessThanOrEqual(nll([0.5, 0.5]) + 1e-3);
    expect(result.validNllPerToken.networks).toHaveLength(2);
    // The corpus pointer (the tiny corpus is one tune in many keys) is fitted with the training pieces as its corpus, and kept because it helps.
    expect(spec.corpusPointer).toMatchObject({ stride: 4, minMatch: 8 });
    expect(result.cache.validNllPerTokenWithCorpusPointer).toBeLessThan(result.cache.validNllPerTokenWithCache);
    expect((await loadCorpusPointer(model))?.pieces).toEqual(split.train.map((p) => model.tokenizer.encode(p.sequence, { onUnknown: 'skip' })));
    disposeModel(model);
  });

  it('GIVEN an ensemble WHEN it steps through a piece THEN every next-token probability is the one whole-piece scoring gives (composing and eval agree)', async () => {
    const loaded = await loadModel(await ensembleDir());
    // Even weights: fitted, two tiny networks may leave one at almost nothing.
    const model = { ...loaded, ensemble: loaded.ensemble!.map((m) => ({ ...m, weight: 0.5 })) };
    const ids = model.tokenizer.encode(splitCorpus((await loadCorpus([corpus])).pieces).train[0]!.sequence);
    const scored = scoreModelPieces(model, [ids]).logProbabilities[0]!;
    const stepper = createStepper(model.network, model.tokenizer, undefined, model.ensemble);
    for (let t = 0; t < ids.length - 1; t++) {
      const logits = stepper.push(ids[t]!);
      const max = Math.max(...logits);
      const logZ = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
      expect(logits[ids[t + 1]!]! - logZ).toBeCloseTo(scored[t]!, 3);
    }
    // A single network's own scoring differs: the mixture is really used.
    const alone = scoreModelPieces({ ...model, ensemble: undefined }, [ids]).logProbabilities[0]!;
    expect(alone.some((lp, t) => Math.abs(lp - scored[t]!) > 1e-3)).toBe(true);
    disposeModel(model);
  });

  it('GIVEN a cache that follows each voice\'s line WHEN the ensemble steps through a piece with it THEN every next-token probability is the one cache-mixed scoring gives', async () => {
    const model = await loadModel(await ensembleDir());
    const body = model.tokenizer.encode(splitCorpus((await loadCorpus([corpus])).pieces).train[0]!.sequence).slice(1, -1);
    // BOS, the piece twice, EOS: the second time every line has an earlier match.
    const ids = [VOICE_BOS_ID, ...body, ...body, VOICE_EOS_ID];
    const lineEdges = [3, 8];
    const weights = Array.from({ length: (model.copyCache!.bucketEdges.length + 1) * (lineEdges.length + 1) }, (_, row) => {
      const passage = Math.floor(row / (lineEdges.length + 1)) > 0 ? 0.25 : 0;
      const line = row % (lineEdges.length + 1) > 0 ? 0.15 : 0;
      return [1 - passage - line, passage, line];
    });
    const config: CopyCacheConfig = { ...model.copyCache!, lines: { stride: 4, minMatch: 3, maxMatch: 64, bucketEdges: lineEdges, weights } };
    const scored = scoreModelPieces(model, [ids]).logProbabilities[0]!;
    const observations = observeCache(ids, scored, config);
    expect(observations.filter((o) => o.lineHit).length).toBeGreaterThan(body.length / 2);
    const stepper = createStepper(model.network, model.tokenizer, { config }, model.ensemble);
    for (let t = 0; t < ids.length - 1; t++) {
      const logits = stepper.push(ids[t]!);
      const max = Math.max(...logits);
      const logZ = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
      expect(logits[ids[t + 1]!]! - logZ).toBeCloseTo(mixedLogProbability(observations[t]!, config), 3);
    }
    disposeModel(model);
  });

  it('GIVEN an ensemble WHEN evaluated and composed with THEN eval reports the mixture and each network alone, and a piece has the asked length', async () => {
    const dir = await ensembleDir();
    const report = await evaluateModel({ modelDir: dir, dataDirs: [corpus], samples: 2, sampleLength: 12 });
    const names = report.likelihood.map((r) => r.model);
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/ensemble of 2 networks/), expect.stringMatching(/its own network alone/), expect.stringMatching(/members\/net-2 alone/)]));
    expect(names[0]).toMatch(/corpus pointer \(as scored\)/);
    expect(report.totalNll).toBeLessThan(report.totalNllWithoutCorpusPointer!);
    expect(report.totalNllWithoutCorpusPointer).toBeLessThan(report.totalNllLstmOnly);
    const model = await loadModel(dir);
    const piece = generatePiece(model.network, model.tokenizer, { length: 12, randomSeed: 4, copyCache: model.copyCache, ensemble: model.ensemble });
    expect(countNoteEvents(piece.sequence)).toBe(12);
    disposeModel(model);
  });

  it('GIVEN an ensemble and each network refitted with the validation pieces WHEN swapped in THEN the networks are the refits and the fitted mixture, cache and held-out figures stay; a wrong set of refits changes nothing', async () => {
    const dir = await ensembleDir();
    const before = JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'));
    const refit = async (fromDir: string, opts: { trainOnValid?: boolean; hiddenSize?: number; maxPieces?: number } = {}): Promise<string> => {
      const outDir = join(await freshDir(), 'refit');
      const network = opts.hiddenSize ? { hiddenSize: opts.hiddenSize, encoding: 'voices' as const, holds: 'pitch' as const } : { fromDir };
      await trainModel({ dataDirs: [corpus], outDir, ...TINY_NETWORK, ...network, epochs: 1, randomSeed: 11, trainOnValid: opts.trainOnValid ?? true, maxPieces: opts.maxPieces });
      return outDir;
    };
    const [lead, member] = [await refit(modelDir), await refit(otherDir)];

    const unchanged = async (): Promise<void> => expect(JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'))).toEqual(before);
    await expect(refitEnsemble(dir, [lead])).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE', userMessage: expect.stringMatching(/2 networks.*members\/net-2/) });
    await expect(refitEnsemble(dir, [lead, await refit(otherDir, { trainOnValid: false })])).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE', userMessage: expect.stringMatching(/did not train on the validation pieces/) });
    await expect(refitEnsemble(dir, [lead, await refit(otherDir, { maxPieces: 3 })])).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE', userMessage: expect.stringMatching(/different data/) });
    await expect(refitEnsemble(dir, [lead, await refit(otherDir, { hiddenSize: 12 })])).rejects.toMatchObject({ code: 'MODEL_MISMATCH', userMessage: expect.stringMatching(/members\/net-2: its sizes differ/) });
    await unchanged();

    const result = await refitEnsemble(dir, [lead, member]);
    const split = splitCorpus((await loadCorpus([corpus])).pieces);
    expect(result).toEqual({ networks: 2, trainPieces: split.train.length + split.valid.length, corpusPieces: split.train.length + split.valid.length });
    const spec = JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'));
    expect([spec.ensemble, spec.copyCache, spec.corpusPointer]).toEqual([before.ensemble, before.copyCache, before.corpusPointer]);
    expect(spec.training.data[0].pieces).toBe(split.train.length + split.valid.length);
    expect(spec.metrics.validNllPerTokenEnsembleBeforeRefit).toBe(before.metrics.validNllPerTokenEnsemble);
    expect(spec.metrics.validNllPerTokenEnsemble).toBeUndefined();
    expect(await readFile(join(dir, 'copy-index.json'), 'utf8')).toBe(await readFile(join(lead, 'copy-index.json'), 'utf8'));
    const [model, leadModel, memberModel] = await Promise.all([loadModel(dir), loadModel(lead), loadModel(member)]);
    expect(model.network.getWeights()).toEqual(leadModel.network.getWeights());
    expect(model.ensemble![1]!.network.getWeights()).toEqual(memberModel.network.getWeights());
    expect(model.ensemble!.map((m) => m.weight)).toEqual(before.ensemble.weights);
    // The refits know the validation pieces, so the corpus pointer now points into them too.
    expect((await loadCorpusPointer(model))?.pieces).toEqual([...split.train, ...split.valid].map((p) => model.tokenizer.encode(p.sequence, { onUnknown: 'skip' })));
    for (const m of [model, leadModel, memberModel]) disposeModel(m);

    // Nothing more is fitted on the validation pieces the refits have seen; a second refit keeps the first's held-out figures.
    await expect(fitModelCopyCache(dir, [corpus])).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE', userMessage: expect.stringMatching(/has trained on the validation pieces/) });
    await expect(buildEnsemble(lead, [otherDir], [corpus])).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
    await refitEnsemble(dir, [await refit(lead), await refit(member)]);
    expect(JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8')).metrics.validNllPerTokenEnsembleBeforeRefit).toBe(before.metrics.validNllPerTokenEnsemble);
  }, 60_000);

  it('GIVEN a corpus in which no voice ever matches WHEN the cache is fitted with it THEN no corpus pointer is kept and the older corpus file goes', async () => {
    const dir = await ensembleDir();
    expect(existsSync(join(dir, 'corpus-pointer.bin'))).toBe(true);
    const model = await loadModel(dir);
    const pieces = splitCorpus((await loadCorpus([corpus])).pieces).valid.map((p) => model.tokenizer.encode(p.sequence));
    // Every voice on one pitch for 64 steps: no 8-step stretch of the tiny tunes keeps still that long.
    const still = [[VOICE_BOS_ID, ...Array.from({ length: 256 }, () => pieces[0]![1]!), VOICE_EOS_ID]];
    const result = await fitScoredCopyCache(dir, model.spec, model.tokenizer, pieces, scoreModelPieces(model, pieces), { corpus: still });
    expect(result.corpusPointer).toBeUndefined();
    expect(JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8')).corpusPointer).toBeUndefined();
    expect(existsSync(join(dir, 'corpus-pointer.bin'))).toBe(false);
    disposeModel(model);
  });

  it('GIVEN refits whose data folder has changed since they trained WHEN swapped in THEN the corpus pointer cannot be rebuilt and nothing changes', async () => {
    const data = await writeTinyCorpus(join(await freshDir(), 'tiny-corpus'), 14);
    const refit = async (fromDir: string): Promise<string> => {
      const outDir = join(await freshDir(), 'refit');
      await trainModel({ dataDirs: [data], outDir, ...TINY_NETWORK, fromDir, epochs: 1, randomSeed: 12, trainOnValid: true });
      return outDir;
    };
    const refits = [await refit(modelDir), await refit(otherDir)];
    await writeFile(join(data, 'tune-extra.mid'), writeMidi(tinyTune(5)));
    const dir = await ensembleDir();
    const before = await readFile(join(dir, 'spec.json'), 'utf8');
    await expect(refitEnsemble(dir, refits)).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE', userMessage: expect.stringMatching(/trained on 12 pieces .*, which now holds 13; the corpus pointer needs the same pieces/) });
    expect(await readFile(join(dir, 'spec.json'), 'utf8')).toBe(before);
  }, 60_000);

  it('GIVEN damaged ensemble settings, a missing member or a member with other tokens THEN loading and building refuse with a clear error', async () => {
    const dir = await ensembleDir();
    const spec = JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'));
    await writeFile(join(dir, 'spec.json'), JSON.stringify({ ...spec, ensemble: { members: ['members/net-2'], weights: [0.9, 0.9] } }));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
    await writeFile(join(dir, 'spec.json'), JSON.stringify({ ...spec, ensemble: { members: ['../elsewhere'], weights: [0.5, 0.5] } }));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
    // A damaged corpus file only costs the pointer (it improves scores; the model still composes).
    await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
    await writeFile(join(dir, 'corpus-pointer.bin'), Buffer.from([1, 0, 0, 0, 9]));
    const withoutPointer = await loadModel(dir);
    expect([withoutPointer.corpusPointer !== undefined, await loadCorpusPointer(withoutPointer), withoutPointer.copyCache !== undefined]).toEqual([true, undefined, true]);
    disposeModel(withoutPointer);
    await rm(join(dir, 'members'), { recursive: true });
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });

    const eventDir = join(await freshDir(), 'event');
    await trainModel({ dataDirs: [corpus], outDir: eventDir, ...TINY_NETWORK });
    const single = join(await freshDir(), 'single');
    await cp(modelDir, single, { recursive: true });
    await expect(buildEnsemble(single, [eventDir], [corpus])).rejects.toMatchObject({ code: 'MODEL_MISMATCH' });
    await expect(buildEnsemble(single, [], [corpus])).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
    // Nothing was written into the model by the refused builds.
    expect(JSON.parse(await readFile(join(single, 'spec.json'), 'utf8')).ensemble).toBeUndefined();
  }, 60_000);
});

describe('transposed views', () => {
  const roots: string[] = [];
  let corpus: string;
  let modelDir: string;

  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), 'motif-views-'));
    roots.push(root);
    corpus = await writeTinyCorpus(join(root, 'tiny-corpus'), 14);
    modelDir = join(root, 'model');
    await trainModel({ dataDirs: [corpus], outDir: modelDir, ...TINY_NETWORK, encoding: 'voices', holds: 'pitch', randomSeed: 5 });
    await buildEnsemble(modelDir, [], [corpus], { transpose: 1 });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
  });

  it('GIVEN a voices token WHEN transposed THEN a pitch moves within its place, rests and control tokens stay, and a piece stops at its first pitch that cannot move', async () => {
    const model = await loadModel(modelDir);
    const tokenizer = model.tokenizer as VoicesTokenizer;
    const ids = tokenizer.encode(splitCorpus((await loadCorpus([corpus])).pieces).train[0]!.sequence);
    const pitched = ids.find((id) => tokenizer.pitchOf(id) !== undefined)!;
    expect(tokenizer.pitchOf(tokenizer.transposeId(pitched, 2)!)).toBe(tokenizer.pitchOf(pitched)! + 2);
    expect(tokenizer.transposeId(VOICE_BOS_ID, 3)).toBe(VOICE_BOS_ID);
    const top = topPitchId(tokenizer, pitched);
    expect(tokenizer.transposeId(top, 1)).toBeUndefined();
    const withTop = [...ids.slice(0, 9), top, ...ids.slice(10)];
    expect(transposePrefix(tokenizer, withTop, 1)).toHaveLength(9);
    expect(transposePrefix(tokenizer, withTop, -1)).toHaveLength(withTop.length);
    disposeModel(model);
  });

  it('GIVEN a model built with --transpose 1 WHEN it steps through a piece THEN every next-token probability is the one whole-piece scoring gives, also after a view has stopped', async () => {
    const spec = JSON.parse(await readFile(join(modelDir, 'spec.json'), 'utf8'));
    expect(spec.ensemble).toMatchObject({ members: [], weights: [1], transpositions: [-1, 0, 1] });
    const model = await loadModel(modelDir);
    expect(model.ensemble).toHaveLength(1);
    const tokenizer = model.tokenizer as VoicesTokenizer;
    const ids = tokenizer.encode(splitCorpus((await loadCorpus([corpus])).pieces).train[1]!.sequence);
    // A soprano at the top of the vocabulary halfway through: the +1 view stops there.
    const at = 1 + 4 * Math.floor(ids.length / 8);
    const piece = [...ids.slice(0, at), topPitchId(tokenizer, ids[at]!), ...ids.slice(at + 1)];
    const scored = scoreModelPieces(model, [piece]).logProbabilities[0]!;
    const stepper = createStepper(model.network, model.tokenizer, undefined, model.ensemble);
    for (let t = 0; t < piece.length - 1; t++) {
      // One network: the stepper gives the views' mean log-probabilities as they are.
      const logProbabilities = stepper.push(piece[t]!);
      expect(logProbabilities[piece[t + 1]!]!).toBeCloseTo(scored[t]!, 4);
      // They sum to 1, or a little less where a view cannot say the lowest or highest pitches.
      const total = logProbabilities.reduce((sum, v) => sum + Math.exp(v), 0);
      expect(total).toBeLessThanOrEqual(1 + 1e-5);
      expect(total).toBeGreaterThan(0.9);
    }
    // The views change the prediction: the network alone scores the piece otherwise.
    const alone = scoreModelPieces({ ...model, ensemble: undefined }, [piece]).logProbabilities[0]!;
    expect(alone.some((lp, t) => Math.abs(lp - scored[t]!) > 1e-3)).toBe(true);
    const composed = generatePiece(model.network, model.tokenizer, { length: 12, randomSeed: 2, copyCache: model.copyCache, ensemble: model.ensemble });
    expect(countNoteEvents(composed.sequence)).toBe(12);
    disposeModel(model);
  });

  it('GIVEN views without the untransposed one, or views on an encoding that cannot transpose THEN loading and building refuse', async () => {
    const dir = join(roots[0]!, 'damaged');
    await cp(modelDir, dir, { recursive: true });
    const spec = JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'));
    await writeFile(join(dir, 'spec.json'), JSON.stringify({ ...spec, ensemble: { members: [], weights: [1], transpositions: [1, 2] } }));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
    const eventDir = join(roots[0]!, 'event');
    await trainModel({ dataDirs: [corpus], outDir: eventDir, ...TINY_NETWORK });
    await expect(buildEnsemble(eventDir, [], [corpus], { transpose: 2 })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
    await expect(buildEnsemble(dir, [], [corpus], { transpose: 7 })).rejects.toMatchObject({ code: 'OPTION_OUT_OF_RANGE' });
  }, 60_000);
});

/** The id at `id`'s place with the highest pitch the vocabulary holds. */
function topPitchId(tokenizer: VoicesTokenizer, id: number): number {
  let top = id;
  while (tokenizer.transposeId(top, 1) !== undefined) top = tokenizer.transposeId(top, 1)!;
  return top;
}
