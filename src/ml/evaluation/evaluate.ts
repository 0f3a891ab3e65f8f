/**
 * `npm run eval`: how good is a model, measured on pieces it never saw.
 * - likelihood: held-out NLL per token and per note, next-token accuracy; baselines on the same
 *   data and the same encoding (a 3-gram Markov chain; the tutorial's network when a model trained
 *   with `--arch seed` on that encoding is given), since NLL is only comparable within one encoding;
 * - music: features of generated pieces against held-out pieces, with Yang & Lerch's overlap areas;
 * - originality: the longest run of (pitch, duration) events each sample copies from the training data.
 */
import { computeFeatures, type PieceFeatures } from '../../music/analysis/features.js';
import { fitMarkov } from '../../music/analysis/markov.js';
import { longestCopiedRun } from '../../music/analysis/originality.js';
import { overlapTable, type OverlapRow } from '../../music/analysis/overlap.js';
import { loadCorpus, splitCorpus, type CorpusPiece } from '../../music/corpus.js';
import { openingNoteEvents } from '../../music/note-sequence.js';
import { encodingPositions, tokenPositions } from '../../music/tokenizers/index.js';
import { assertInRange, MotifError } from '../../errors.js';
import { generatePiece, isDegenerate, MAX_COPIED_RUN, type StyleRules } from '../generate.js';
import { disposeModel, loadCorpusPointer, loadModel, type LoadedModel } from '../model-dir.js';
import { LanguageModel } from '../network/language-model.js';
import type { TutorialModel } from '../network/tutorial-model.js';
import { joinStreams, type TokenStream } from '../training/batches.js';
import { scoreModelAndMembers } from '../ensemble.js';
import { totalNll as piecesNll, type PieceScores } from './piece-scoring.js';

export interface EvaluateOptions {
  modelDir: string;
  /**
   * Corpora whose training split trains the baselines; without `testDirs`, their held-out test
   * split is what is scored.
   */
  dataDirs: string[];
  /**
   * Score every piece of these folders as held out, with no split (a folder with a published split,
   * JSB, contributes its test split). `dataDirs` then only trains the baselines; without any, a
   * published split's training part does.
   */
  testDirs?: string[];
  /** A model trained with `--arch seed` on the same data and encoding. */
  baselineDir?: string;
  /** Pieces to generate for the statistics (default 100). */
  samples?: number;
  /** Notes-or-chords per generated piece (default 100). */
  sampleLength?: number;
  temperature?: number;
  /** Nucleus sampling for the generated samples (default 1 = off). */
  topP?: number;
  /** Generate with the LSTM alone even when the model has a copy cache. */
  noCache?: boolean;
  /** End samples on the tonic (default true, as compose does). */
  cadence?: boolean;
  /** No whole beat of silence in samples (default true, as compose does). */
  silenceGuard?: boolean;
  /** The style's sampling rules for the samples (as compose applies them). Default none. */
  rules?: StyleRules;
  randomSeed?: number;
  /** Cap on held-out tokens scored by the (slow, windowed) tutorial baseline. Default 20,000. */
  maxBaselineTokens?: number;
  onProgress?: (stage: string, fraction: number) => void;
}

export interface LikelihoodRow {
  model: string;
  arch: 'lm' | 'seed' | 'markov3';
  encoding: string;
  nllPerToken: number;
  nllPerNote?: number;
  accuracy?: number;
  tokens: number;
}

export interface EvaluationReport {
  model: string;
  encoding: string;
  testPieces: number;
  testTokens: number;
  testNotes: number;
  /**
   * Our model's NLL in nats summed over every predicted token of the test pieces, each scored from
   * its start with the LSTM state carried through (no resets, no windows): the networks with the
   * copy cache and, where the model has one, the corpus pointer (see totalNllWithoutCorpusPointer).
   */
  totalNll: number;
  /** The same for the LSTM alone, without the copy cache (equal when the model has none). */
  totalNllLstmOnly: number;
  /** With a corpus pointer (corpus-pointer.ts): totalNll without it, i.e. the model as it composes. */
  totalNllWithoutCorpusPointer?: number;
  /** The test pieces' summed length in 16th notes, so per-step figures follow. */
  test16thSteps: number;
  /** totalNll / test16thSteps, and per quarter-note frame (×4), the units of the JSB literature. */
  nllPer16thStep: number;
  nllPerQuarterFrame: number;
  likelihood: LikelihoodRow[];
  overlap: OverlapRow[];
  /**
   * The same table for the held-out pieces' own openings, as many notes-or-chords long as the
   * samples, against the whole pieces (a piece never against its own opening): what real music
   * scores under this protocol (short pieces against whole ones), a reference for each row of
   * `overlap`. Only pieces longer than the samples give an opening; empty when none is.
   */
  openingsOverlap: Pick<OverlapRow, 'feature' | 'overlapArea'>[];
  /** How many held-out pieces gave an opening (are longer than the samples). */
  openingsPieces: number;
  /** The openings' length in notes-or-chords: the samples' length. */
  openingsLength: number;
  originality: {
    samples: number;
    longestCopiedRun: { p50: number; p95: number; p99_5: number; max: number; mean: number };
    /** Fraction of samples copying at most 16 consecutive notes. */
    fractionAtMost16: number;
    histogram: Record<string, number>;
  };
  /**
   * degenerateResamples: tries drawn again (stuck, short, or copying more than MAX_COPIED_RUN from
   * training; composing does the same); degenerateOutputs: samples still degenerate after every try.
   */
  generation: { samples: number; meanEvents: number; degenerateResamples: number; degenerateOutputs: number; msPerSample: number };
}

export async function evaluateModel(opts: EvaluateOptions): Promise<EvaluationReport> {
  const progress = opts.onProgress ?? (() => undefined);
  // A negative count printed empty tables and exited 0 (`--samples -1`): refuse before any work.
  if (opts.samples !== undefined) assertInRange('samples', opts.samples, 0, 100_000, { integer: true });
  const model = await loadModel(opts.modelDir);
  const { test, train } = await evaluationPieces(opts, model.spec.training.trainOnValid === true);
  const encode = (pieces: CorpusPiece[]): number[][] => pieces.map((p) => model.tokenizer.encode(p.sequence, { onUnknown: 'skip' }));
  const testIds = encode(test);
  const positionsOf = (ids: readonly number[]): Int32Array => tokenPositions(model.tokenizer, ids);
  const testStream = joinStreams(testIds, { positionsOf });
  const testNotes = test.reduce((sum, p) => sum + p.sequence.notes.filter((n) => !n.isDrum).length, 0);

  const test16thSteps = test.reduce((sum, p) => sum + (p.sequence.totalSteps * 4) / p.sequence.stepsPerQuarter, 0);

  progress('likelihood', 0);
  const { rows: ours, scores: ourScores } = scoreModel(model, testIds, testStream, testNotes, opts.maxBaselineTokens ?? 20_000);
  const likelihood: LikelihoodRow[] = [...ours];
  let totalNll = ours[0]!.nllPerToken * ours[0]!.tokens;
  const lstmOnlyNll = totalNll;
  let withoutCorpusPointer: number | undefined;
  const mix = { cache: model.copyCache, phasesOf: (ids: readonly number[]) => encodingPositions(model.tokenizer, ids) };
  if (model.copyCache && ourScores) {
    // The model as it composes: LSTM mixed with the copy cache (λ fitted on validation pieces).
    const withCache = piecesNll(testIds, ourScores, mix);
    totalNll = withCache.nll;
    likelihood.unshift({
      model: `${model.spec.name} + copy cache (as it composes)`,
      arch: 'lm',
      encoding: model.tokenizer.name,
      nllPerToken: withCache.nll / withCache.count,
      nllPerNote: withCache.nll / Math.max(1, testNotes),
      tokens: withCache.count,
    });
  }
  const corpus = ourScores ? await loadCorpusPointer(model) : undefined;
  if (corpus && ourScores) {
    // As scored: the corpus pointer on top (it does not compose: see corpus-pointer.ts).
    const withPointer = piecesNll(testIds, ourScores, { ...mix, corpus });
    withoutCorpusPointer = totalNll;
    totalNll = withPointer.nll;
    likelihood.unshift({
      model: `${model.spec.name}${model.copyCache ? ' + copy cache' : ''} + corpus pointer (as scored)`,
      arch: 'lm',
      encoding: model.tokenizer.name,
      nllPerToken: withPointer.nll / withPointer.count,
      nllPerNote: withPointer.nll / Math.max(1, testNotes),
      tokens: withPointer.count,
    });
  }
  if (train.length > 0) {
    progress('markov baseline', 0.2);
    const markov = fitMarkov(encode(train), model.tokenizer.vocabSize);
    const markovScore = markov.nllPerToken(testIds);
    likelihood.push({
      model: '3-gram Markov chain (same data, same encoding)',
      arch: 'markov3',
      encoding: model.tokenizer.name,
      nllPerToken: markovScore.nllPerToken,
      nllPerNote: (markovScore.nllPerToken * markovScore.tokens) / Math.max(1, testNotes),
      tokens: markovScore.tokens,
    });
  }
  if (opts.baselineDir) {
    progress('tutorial baseline', 0.3);
    const baseline = await loadModel(opts.baselineDir);
    if (baseline.tokenizer.name !== model.tokenizer.name) {
      throw new MotifError('MODEL_MISMATCH', 'The baseline uses another encoding; NLL is only comparable within one encoding.');
    }
    // A seed-encoding vocabulary is data-dependent: re-encode with the baseline's own tokenizer.
    const baselineStream = joinStreams(test.map((p) => baseline.tokenizer.encode(p.sequence, { onUnknown: 'skip' })));
    likelihood.push(...scoreModel(baseline, [], baselineStream, testNotes, opts.maxBaselineTokens ?? 20_000).rows);
    disposeModel(baseline);
  }

  progress('generating', 0.4);
  const samples = opts.samples ?? 100;
  const generated = [];
  let degenerateResamples = 0;
  let degenerateOutputs = 0;
  const started = performance.now();
  for (let i = 0; i < samples; i++) {
    const piece = generatePiece(model.network, model.tokenizer, {
      length: opts.sampleLength ?? 100,
      temperature: opts.temperature ?? 1,
      randomSeed: (opts.randomSeed ?? 1) * 10_007 + i,
      topP: opts.topP,
      copyCache: opts.noCache ? undefined : model.copyCache,
      copyGuard: model.copyIndex && { index: model.copyIndex, maxRun: MAX_COPIED_RUN },
      ensemble: model.ensemble,
      cadence: opts.cadence,
      silenceGuard: opts.silenceGuard,
      ...opts.rules,
    });
    degenerateResamples += piece.attempts - 1;
    if (isDegenerate(piece.sequence)) degenerateOutputs++;
    generated.push(piece);
    progress('generating', 0.4 + (0.5 * (i + 1)) / samples);
  }
  const msPerSample = (performance.now() - started) / Math.max(1, samples);

  progress('statistics', 0.9);
  // --samples 0 scores likelihood only (the 1/5/50/all-files comparison needs nothing else).
  const testFeatures = test.map((p) => computeFeatures(p.sequence));
  const compare = (other: PieceFeatures[], sources?: number[]) => overlapTable(testFeatures, other, { randomSeed: opts.randomSeed ?? 1, sources });
  const overlap = samples > 0 ? compare(generated.map((g) => computeFeatures(g.sequence))) : [];
  const openingsLength = opts.sampleLength ?? 100;
  const openings = samples > 0 ? test.flatMap((p, source) => {
    const opening = openingNoteEvents(p.sequence, openingsLength);
    return opening ? [{ source, features: computeFeatures(opening) }] : [];
  }) : [];
  const openingsOverlap =
    openings.length > 0
      ? compare(openings.map((o) => o.features), openings.map((o) => o.source)).map(({ feature, overlapArea }) => ({ feature, overlapArea }))
      : [];
  const copies = model.copyIndex ? generated.map((g) => longestCopiedRun(model.copyIndex!, g.sequence)) : [];
  disposeModel(model);
  return {
    model: model.spec.name,
    encoding: model.tokenizer.name,
    testPieces: test.length,
    testTokens: testStream.ids.length,
    testNotes,
    totalNll,
    totalNllLstmOnly: lstmOnlyNll,
    ...(withoutCorpusPointer !== undefined ? { totalNllWithoutCorpusPointer: withoutCorpusPointer } : {}),
    test16thSteps,
    nllPer16thStep: totalNll / Math.max(1, test16thSteps),
    nllPerQuarterFrame: (4 * totalNll) / Math.max(1, test16thSteps),
    likelihood,
    overlap,
    openingsOverlap,
    openingsPieces: openings.length,
    openingsLength,
    originality: originalityReport(copies),
    generation: {
      samples,
      meanEvents: generated.reduce((s, g) => s + g.generatedEvents, 0) / Math.max(1, samples),
      degenerateResamples,
      degenerateOutputs,
      msPerSample: Math.round(msPerSample),
    },
  };
}

/**
 * The pieces to score and to train the baselines on. Without `--test`, the data's test split, or its
 * validation split when it has no test pieces: not for a model that trained on validation pieces
 * (`trainedOnValid`), which would be scored on what it has seen.
 * @throws MotifError DATA_EMPTY when nothing is held out.
 */
async function evaluationPieces(opts: EvaluateOptions, trainedOnValid: boolean): Promise<{ test: CorpusPiece[]; train: CorpusPiece[] }> {
  const fromData = opts.dataDirs.length > 0 ? splitCorpus((await loadCorpus(opts.dataDirs)).pieces) : undefined;
  if (!opts.testDirs?.length) {
    if (trainedOnValid && fromData && fromData.test.length === 0 && fromData.valid.length > 0) {
      throw new MotifError('DATA_EMPTY', 'The evaluation data has no test pieces, and this model trained on validation pieces: give held-out pieces with `--test DIR`.');
    }
    const test = fromData && fromData.test.length > 0 ? fromData.test : (fromData?.valid ?? []);
    if (test.length === 0) throw new MotifError('DATA_EMPTY', 'The evaluation data has no held-out pieces.');
    return { test, train: fromData?.train ?? [] };
  }
  const pieces = (await loadCorpus(opts.testDirs)).pieces;
  const published = splitCorpus(pieces.filter((p) => PUBLISHED_SPLIT.test(p.id)));
  const test = [...published.test, ...pieces.filter((p) => !PUBLISHED_SPLIT.test(p.id))];
  if (test.length === 0) throw new MotifError('DATA_EMPTY', 'The test folder has no pieces to score.');
  return { test, train: fromData?.train ?? published.train };
}

/** Pieces of a dataset with a published train/valid/test split (JSB chorales). */
const PUBLISHED_SPLIT = /#(train|valid|test)-\d+$/;

/**
 * The model's likelihood rows, its own first (an ensemble's mixture, then each member alone), and
 * the whole-piece scores behind the first, for the copy cache.
 */
function scoreModel(
  model: LoadedModel,
  pieces: readonly (readonly number[])[],
  stream: TokenStream,
  notes: number,
  maxWindowedTokens: number,
): { rows: LikelihoodRow[]; scores?: PieceScores } {
  const { network, spec } = model;
  if (network instanceof LanguageModel) {
    const row = (name: string, scores: PieceScores): LikelihoodRow => {
      const { nll, count } = piecesNll(pieces, scores);
      return {
        model: name,
        arch: 'lm',
        encoding: model.tokenizer.name,
        nllPerToken: nll / count,
        nllPerNote: nll / Math.max(1, notes),
        accuracy: scores.correct === undefined ? undefined : scores.correct / count,
        tokens: count,
      };
    };
    const { model: scores, members } = scoreModelAndMembers(model, pieces);
    if (!model.ensemble) return { rows: [row(`${spec.name} (ours: embedding + 2×LSTM, target at every step)`, scores)], scores };
    const views = spec.ensemble?.transpositions ? `, each in ${spec.ensemble.transpositions.length} transposed views` : '';
    if (members.length === 0) return { rows: [row(`${spec.name} (one network${views}, without the cache)`, scores)], scores };
    const memberRows = members.map((m, k) => row(`${spec.name}: ${k === 0 ? 'its own network' : spec.ensemble!.members[k - 1]} alone`, m));
    return { rows: [row(`${spec.name} (ensemble of ${members.length} networks${views}, without the cache)`, scores), ...memberRows], scores };
  }
  return { rows: [tutorialRow(model, stream, notes, maxWindowedTokens)] };
}

function tutorialRow(model: LoadedModel, stream: TokenStream, notes: number, maxWindowedTokens: number): LikelihoodRow {
  const { network, spec } = model;
  // The tutorial scores one target per 100-token window; score every window start up to the cap.
  const tutorial = network as TutorialModel;
  const window = tutorial.config.windowSize;
  const windows = Math.min(maxWindowedTokens, stream.ids.length - window);
  const inputs = new Int32Array(windows * window);
  const targets = new Int32Array(windows);
  const stride = Math.max(1, Math.floor((stream.ids.length - window) / Math.max(1, windows)));
  for (let w = 0; w < windows; w++) {
    inputs.set(stream.ids.subarray(w * stride, w * stride + window), w * window);
    targets[w] = stream.ids[w * stride + window]!;
  }
  const r = tutorial.evaluate(inputs, targets);
  return {
    model: `${spec.name} (the tutorial's network: scalar input, one target per window)`,
    arch: 'seed',
    encoding: model.tokenizer.name,
    nllPerToken: r.nll / r.count,
    accuracy: r.correct / r.count,
    tokens: r.count,
  };
}

function originalityReport(copies: number[]): EvaluationReport['originality'] {
  const sorted = [...copies].sort((a, b) => a - b);
  const quantile = (q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  const histogram: Record<string, number> = {};
  for (const c of copies) {
    const bucket = c <= 4 ? '0-4' : c <= 8 ? '5-8' : c <= 16 ? '9-16' : c <= 32 ? '17-32' : '33+';
    histogram[bucket] = (histogram[bucket] ?? 0) + 1;
  }
  return {
    samples: copies.length,
    longestCopiedRun: {
      p50: quantile(0.5),
      p95: quantile(0.95),
      p99_5: quantile(0.995),
      max: sorted[sorted.length - 1] ?? 0,
      mean: copies.reduce((s, c) => s + c, 0) / Math.max(1, copies.length),
    },
    fractionAtMost16: copies.length === 0 ? 0 : copies.filter((c) => c <= 16).length / copies.length,
    histogram,
  };
}

