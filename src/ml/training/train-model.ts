/**
 * `npm run train` and `/train`: corpus → tokens → network → epoch loop → model directory.
 * Runs wherever it is called; callers put it in a worker thread (see train-job.ts).
 */
import { rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { assertInRange, MotifError } from '../../errors.js';
import { buildCopyIndex, copyIndexToJson } from '../../music/analysis/originality.js';
import { loadCorpus, splitCorpus, type CorpusPiece } from '../../music/corpus.js';
import { createRng, randomInt } from '../../music/random.js';
import {
  buildSeedVocabulary,
  createEventTokenizer,
  createSeedTokenizer,
  createVoicesTokenizer,
  growSeedVocabulary,
  VoicesTokenizer,
  VOICES_HELD_PERIOD,
  tokenPositions,
  type Tokenizer,
} from '../../music/tokenizers/index.js';
import { transpose } from '../../music/transform.js';
import { renderLossCurvePng } from '../../report/loss-curve.js';
import { createNetwork, loadModel, saveModel, type Arch, type ModelSpec, type Network } from '../model-dir.js';
import { DEFAULT_LANGUAGE_MODEL_CONFIG, LanguageModel, type LanguageModelConfig } from '../network/language-model.js';
import { DEFAULT_TUTORIAL_CONFIG, type TutorialModel, type TutorialModelConfig } from '../network/tutorial-model.js';
import { joinStreams, type TokenStream } from './batches.js';
import { evaluateStream, trainLoop, type EpochRecord, type TrainableNetwork, type TrainProgress } from './train-loop.js';
import { tutorialTrainable } from './tutorial-network.js';

export type Encoding = 'event' | 'seed' | 'voices';

export interface TrainModelOptions {
  dataDirs: string[];
  outDir: string;
  arch?: Arch;
  encoding?: Encoding;
  /** `voices` only: how a kept note is spelled (VoicesTokenizerConfig.holds). */
  holds?: 'token' | 'pitch';
  /**
   * `voices` only (VoicesTokenizerConfig.heldInput): the network's positions also say how long the
   * voice to be predicted has kept its note. Implies position input with VOICES_HELD_PERIOD; with
   * `fromDir`, a model reading the plain index learns it on top of what it knows.
   */
  heldInput?: boolean;
  epochs: number;
  batchSize?: number;
  sequenceLength?: number;
  embeddingSize?: number;
  hiddenSize?: number;
  /** Stacked LSTM layers of `hiddenSize` units (1–4, default 2). */
  layers?: number;
  /** LanguageModelConfig.positionPeriod; with `fromDir`, adds position input to a model without it. */
  positionPeriod?: number;
  learningRate?: number;
  /**
   * Threads computing each batch's gradients (1 or 2; default-architecture models only). Two pay
   * off only when a second core is idle: on a busy machine they are slower than one.
   */
  trainingThreads?: number;
  patience?: number;
  randomSeed?: number;
  /** Each epoch every training piece is transposed by a random shift in ±this many semitones. */
  augmentTransposeSemitones?: number;
  /** Train on only the first N training pieces (sorted by id), same held-out pieces: the 1/5/50-file comparison. */
  maxPieces?: number;
  /**
   * Train on the validation pieces too, for a last fit once the recipe (epochs, rates) was chosen
   * on them: nothing is held out to stop early, so the run goes its `epochs` and keeps the last.
   * The test pieces stay held out (a corpus without any is refused), and the spec says so
   * (`training.trainOnValid`): nothing may then be fitted on its validation pieces.
   */
  trainOnValid?: boolean;
  maxStepsPerEpoch?: number;
  timeBudgetSeconds?: number;
  /** Continue from the checkpoint left by an interrupted run with the same outDir. */
  resume?: boolean;
  /** Fine-tune an existing model directory (vocabulary grows when the data has new tokens). */
  fromDir?: string;
  name?: string;
  /** The command line recorded in the spec, for reproduction. */
  command?: string;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
  onEpoch?: (record: EpochRecord) => void;
  /** See TrainLoopOptions.onCheckpoint. */
  onCheckpoint?: (checkpointDir: string) => Promise<void>;
  log?: (message: string) => void;
}

export interface TrainModelResult {
  dir: string;
  spec: ModelSpec;
  aborted: boolean;
  /** `timeBudgetSeconds` ran out before `epochs` finished: the model holds the best epoch so far. */
  outOfTime: boolean;
  /** Whole passes over the training data (an epoch the budget cut short does not count). */
  completedEpochs: number;
}

/**
 * @throws MotifError DATA_EMPTY (no readable pieces), MODEL_* (bad --from), TRAINING_FAILED, JOB_CANCELLED.
 */
export async function trainModel(opts: TrainModelOptions): Promise<TrainModelResult> {
  const log = opts.log ?? (() => undefined);
  const arch = opts.arch ?? 'lm';
  const randomSeed = opts.randomSeed ?? 1;
  const batchSize = opts.batchSize ?? 64;
  let sequenceLength = opts.sequenceLength ?? 100;
  const threads = opts.trainingThreads ?? 1;
  // Checked before the corpus loads, which can take a while. Zero epochs would save an untrained model.
  assertInRange('epochs', opts.epochs, 1, 10_000, { integer: true });
  assertInRange('threads', threads, 1, 2, { integer: true });
  const twoThreadsNeedLm = (): MotifError =>
    new MotifError('OPTION_OUT_OF_RANGE', 'A second training thread is only for the default architecture (`--arch lm`), not the tutorial baseline.');
  if (threads > 1 && arch === 'seed' && !opts.fromDir) throw twoThreadsNeedLm();

  const corpus = await loadCorpus(opts.dataDirs);
  const split = splitCorpus(corpus.pieces);
  // Limit only what is trained on: held-out parts stay the full corpus's, so runs on 1, 5, 50 or
  // all files are scored on the same pieces.
  if (opts.maxPieces !== undefined) split.train = split.train.slice(0, opts.maxPieces);
  if (opts.trainOnValid) {
    if (split.test.length === 0) {
      throw new MotifError('DATA_EMPTY', 'This corpus has no test pieces, so training on its validation pieces too would leave nothing held out; train without `--train-on-valid`.');
    }
    split.train = [...split.train, ...split.valid];
    split.valid = [];
  }
  log(`corpus: ${corpus.pieces.length} pieces (${split.train.length} train, ${split.valid.length} valid, ${split.test.length} test), ${corpus.skipped.length} files skipped`);
  if (split.train.length === 0) throw new MotifError('DATA_EMPTY', 'There is not enough readable music to train on.');

  const base = opts.fromDir ? await loadModel(opts.fromDir) : undefined;
  const encoding: Encoding = base ? base.tokenizer.name : (opts.encoding ?? 'event');
  const tokenizer = buildTokenizer(encoding, split.train, base?.tokenizer, opts);
  const positionPeriod = opts.heldInput ? heldInputPeriod(opts.positionPeriod) : opts.positionPeriod;
  let network: Network;
  if (base) {
    network = base.network;
    if (base.ensemble) {
      // Only the model's own network is fine-tuned: free the members now rather than hold them for hours.
      for (const member of base.ensemble.slice(1)) member.network.dispose();
      log(`${base.spec.name} is an ensemble: fine-tuning its own network only; the result is one network (rebuild the ensemble with \`npm run ensemble\`)`);
    }
    if (network instanceof LanguageModel) {
      network.config.trainingThreads = threads;
      // A fine-tune usually wants a smaller rate than the base was trained with.
      if (opts.learningRate !== undefined) network.setLearningRate(opts.learningRate);
      if (positionPeriod !== undefined) network.addPositionInput(positionPeriod);
    } else if (threads > 1) {
      network.dispose();
      throw twoThreadsNeedLm();
    } else if (opts.learningRate !== undefined || opts.positionPeriod !== undefined) {
      network.dispose();
      throw new MotifError('OPTION_OUT_OF_RANGE', 'A fine-tune’s new learning rate or position input (`--from` with `--lr` or `--position-period`) is only for the default architecture, not the tutorial baseline.');
    }
    if (tokenizer.vocabSize > base.tokenizer.vocabSize) {
      if (!(network instanceof LanguageModel)) {
        throw new MotifError('TRAINING_FAILED', 'The tutorial baseline cannot grow its vocabulary; fine-tune a default-architecture model instead.');
      }
      log(`vocabulary grows from ${base.tokenizer.vocabSize} to ${tokenizer.vocabSize} tokens`);
      network.growVocabulary(tokenizer.vocabSize);
    }
  } else {
    network = await createNetwork(arch, networkConfig(arch, tokenizer.vocabSize, sequenceLength, randomSeed, { ...opts, positionPeriod }));
  }
  const trainable: TrainableNetwork = network instanceof LanguageModel ? network : tutorialTrainable(network as TutorialModel);
  const effectiveArch: Arch = network instanceof LanguageModel ? 'lm' : 'seed';

  // voices: ±6 puts every chorale in all twelve keys over the epochs, and the range still fits.
  const augment = opts.augmentTransposeSemitones ?? (encoding === 'event' ? 5 : encoding === 'voices' ? 6 : 0);
  const encodeAll = (pieces: CorpusPiece[], shift: (i: number) => number): number[][] =>
    pieces.map((p, i) => tokenizer.encode(transpose(p.sequence, shift(i)), { onUnknown: 'skip' }));
  const trainIds = encodeAll(split.train, () => 0);
  const positionsOf = (ids: readonly number[]): Int32Array => tokenPositions(tokenizer, ids);
  const fixedTrain = joinStreams(trainIds, { positionsOf });
  const trainStream = (epoch: number): TokenStream => {
    if (augment === 0) return fixedTrain;
    const rng = createRng(randomSeed * 7_919 + epoch);
    return joinStreams(encodeAll(split.train, () => randomInt(rng, 2 * augment + 1) - augment), { positionsOf });
  };
  // Small uploads: shorten the LSTM's windows to the data rather than refuse to train (the
  // tutorial network's window is part of its architecture and stays).
  if (network instanceof LanguageModel && fixedTrain.ids.length <= sequenceLength) {
    sequenceLength = Math.max(8, fixedTrain.ids.length - 1);
    log(`training data is short: windows of ${sequenceLength} tokens`);
  }
  const validStream = split.valid.length > 0 ? joinStreams(encodeAll(split.valid, () => 0), { positionsOf }) : undefined;
  log(`tokens: ${fixedTrain.ids.length} train, ${validStream?.ids.length ?? 0} valid (encoding ${encoding}, vocabulary ${tokenizer.vocabSize})`);

  const checkpointDir = `${opts.outDir}.checkpoint`;
  if (!opts.resume) await rm(checkpointDir, { recursive: true, force: true });
  const outcome = await trainLoop(
    trainable,
    { train: trainStream, valid: validStream },
    {
      epochs: opts.epochs,
      batchSize,
      sequenceLength,
      patience: opts.patience ?? 3,
      keepLastEpoch: opts.trainOnValid,
      randomSeed,
      checkpointDir,
      resume: opts.resume,
      maxStepsPerEpoch: opts.maxStepsPerEpoch,
      timeBudgetSeconds: opts.timeBudgetSeconds,
      signal: opts.signal,
      onProgress: opts.onProgress,
      onEpoch: opts.onEpoch,
      onCheckpoint: opts.onCheckpoint,
    },
  );
  if (outcome.aborted && outcome.history.length === 0) {
    network.dispose();
    throw new MotifError('JOB_CANCELLED', 'Training was cancelled before the first epoch finished; nothing was saved. Run again with --resume to continue.');
  }

  const metrics: Record<string, number> = {
    trainPieces: split.train.length,
    trainTokens: fixedTrain.ids.length,
    bestEpoch: outcome.bestEpoch,
  };
  if (validStream) {
    const valid = evaluateStream(trainable, validStream, batchSize, sequenceLength);
    const validNotes = split.valid.reduce((sum, p) => sum + p.sequence.notes.length, 0);
    metrics.validNllPerToken = valid.nllPerToken;
    metrics.validTokens = valid.count;
    // Per note: comparable across encodings because every encoding spells the same notes.
    if (effectiveArch === 'lm') metrics.validNllPerNote = valid.nll / Math.max(1, validNotes);
  }
  const last = outcome.history[outcome.history.length - 1];
  const spec: ModelSpec = {
    format: 'motif-model',
    version: 1,
    name: opts.name ?? (base ? `${base.spec.name}-finetuned` : `motif-${effectiveArch}-${encoding}`),
    arch: effectiveArch,
    tokenizer: tokenizer.toJSON(),
    vocabSize: tokenizer.vocabSize,
    // Thread count is a property of this run, not of the model: a loaded model trains on one unless asked.
    network: network instanceof LanguageModel ? { ...network.config, trainingThreads: 1 } : network.config,
    sequenceLength,
    training: {
      command: opts.command ?? '',
      data: opts.dataDirs.map((dir) => {
        const inDir = (id: string): boolean => id.startsWith(`${lastSegment(dir)}/`);
        const tokens = split.train.reduce((sum, p, i) => sum + (inDir(p.id) ? trainIds[i]!.length : 0), 0);
        // Relative to where the command ran, like the recorded command: the spec does not carry this machine's layout.
        return { dir: relative(process.cwd(), dir) || '.', pieces: split.train.filter((p) => inDir(p.id)).length, tokens };
      }),
      skippedFiles: corpus.skipped.length,
      epochs: outcome.history.length,
      bestEpoch: outcome.bestEpoch,
      batchSize,
      randomSeed,
      augmentTransposeSemitones: augment,
      wallSeconds: Math.round(outcome.wallSeconds),
      tokensPerSecond: last ? Math.round(last.tokensPerSecond) : 0,
      history: outcome.history,
      fromModel: base?.spec.name,
      trainOnValid: opts.trainOnValid || undefined,
    },
    metrics,
    createdAt: new Date().toISOString(),
  };
  await saveModel(opts.outDir, {
    spec,
    weights: network.getWeights(),
    copyIndex: copyIndexToJson(buildCopyIndex(split.train.map((p) => p.sequence))),
    lossCurvePng: renderLossCurvePng(outcome.history),
  });
  network.dispose();
  // An interrupted run keeps its checkpoint so --resume can finish it; a finished one cleans up.
  if (!outcome.aborted) await rm(checkpointDir, { recursive: true, force: true });
  return {
    dir: opts.outDir,
    spec,
    aborted: outcome.aborted,
    outOfTime: outcome.outOfTime,
    completedEpochs: outcome.history.length - (outcome.lastEpochCutShort ? 1 : 0),
  };
}

/** `heldInput` needs this period; another one given is a mistake, not a choice. */
function heldInputPeriod(given: number | undefined): number {
  if (given !== undefined && given !== VOICES_HELD_PERIOD) {
    throw new MotifError('OPTION_OUT_OF_RANGE', `Held-note input needs a position period of ${VOICES_HELD_PERIOD} (16 places × how long the voice has held), not ${given}.`);
  }
  return VOICES_HELD_PERIOD;
}

function buildTokenizer(encoding: Encoding, train: CorpusPiece[], base: Tokenizer | undefined, opts: Pick<TrainModelOptions, 'holds' | 'heldInput'>): Tokenizer {
  if (opts.heldInput && encoding !== 'voices') {
    throw new MotifError('OPTION_OUT_OF_RANGE', 'Held-note input (`--held-input`) is for the voices encoding only.');
  }
  if (encoding === 'event') return base ?? createEventTokenizer();
  if (encoding === 'voices') {
    if (base instanceof VoicesTokenizer) return opts.heldInput ? new VoicesTokenizer({ ...base.config, heldInput: true }) : base;
    return createVoicesTokenizer({ ...(opts.holds && { holds: opts.holds }), ...(opts.heldInput && { heldInput: true }) });
  }
  const sequences = train.map((p) => p.sequence);
  if (!base) return createSeedTokenizer(buildSeedVocabulary(sequences));
  const spec = base.toJSON();
  if (spec.name !== 'seed') return base;
  return createSeedTokenizer(growSeedVocabulary(spec.vocabulary, sequences).vocabulary);
}

function networkConfig(
  arch: Arch,
  vocabSize: number,
  sequenceLength: number,
  seed: number,
  opts: TrainModelOptions,
): LanguageModelConfig | TutorialModelConfig {
  if (arch === 'seed') {
    return { ...DEFAULT_TUTORIAL_CONFIG, vocabSize, windowSize: sequenceLength, hiddenSize: opts.hiddenSize ?? 256, seed };
  }
  const hidden = opts.hiddenSize ?? 256;
  const layers = opts.layers ?? 2;
  assertInRange('layers', layers, 1, 4, { integer: true });
  return {
    ...DEFAULT_LANGUAGE_MODEL_CONFIG,
    vocabSize,
    embeddingSize: opts.embeddingSize ?? DEFAULT_LANGUAGE_MODEL_CONFIG.embeddingSize,
    hiddenSizes: Array.from({ length: layers }, () => hidden),
    learningRate: opts.learningRate ?? DEFAULT_LANGUAGE_MODEL_CONFIG.learningRate,
    trainingThreads: opts.trainingThreads ?? DEFAULT_LANGUAGE_MODEL_CONFIG.trainingThreads,
    positionPeriod: opts.positionPeriod ?? DEFAULT_LANGUAGE_MODEL_CONFIG.positionPeriod,
    seed,
  };
}

function lastSegment(dir: string): string {
  return dir.replace(/\/+$/, '').split('/').pop() ?? dir;
}
