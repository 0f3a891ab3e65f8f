/**
 * The epoch loop shared by every architecture: shuffled batches, progress, validation after each
 * epoch, early stopping on validation loss, a checkpoint per epoch, resume and clean abort.
 * The network is behind a small interface so the tutorial baseline and our LSTM train the same way.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MotifError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { createRng } from '../../music/random.js';
import { loadWeights, saveWeights, type NamedWeights } from '../weights.js';
import { epochBatches, evaluationBatches, type Batch, type TokenStream } from './batches.js';

export interface TrainableNetwork {
  /** One optimiser step; returns the mean cross-entropy (nats) per target token. */
  trainBatch(batch: Batch): number | Promise<number>;
  /** Summed NLL (nats) and number of targets scored, without dropout. */
  evaluateBatch(batch: Batch): { nll: number; count: number };
  getWeights(): NamedWeights;
  setWeights(weights: NamedWeights): void;
  /** The optimiser's state, checkpointed so --resume continues it (networks without one restart it). */
  getOptimizerState?(): Promise<NamedWeights>;
  setOptimizerState?(state: NamedWeights): Promise<void>;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss?: number;
  seconds: number;
  tokensPerSecond: number;
}

export interface TrainLoopOptions {
  epochs: number;
  batchSize: number;
  sequenceLength: number;
  /** Epochs without validation improvement before stopping (≥ 1). */
  patience: number;
  /**
   * Nothing held out to choose by (a last fit on the validation pieces too): every epoch counts as
   * the best so far, so the run goes its epochs and ends with the last one's weights.
   */
  keepLastEpoch?: boolean;
  randomSeed: number;
  /** Where per-epoch checkpoints live; `resume` continues from it. */
  checkpointDir?: string;
  resume?: boolean;
  /** Cap steps per epoch (benchmarks, tiny guild corpora, time budgets). */
  maxStepsPerEpoch?: number;
  signal?: AbortSignal;
  /** Wall-clock budget: the epoch running when it expires is cut short, validated, and training ends. */
  timeBudgetSeconds?: number;
  onProgress?: (progress: TrainProgress) => void;
  onEpoch?: (record: EpochRecord) => void;
  /** Awaited after each epoch's checkpoint is on disk (e.g. to copy it where another machine can resume it). */
  onCheckpoint?: (checkpointDir: string) => Promise<void>;
}

export interface TrainOutcome {
  history: EpochRecord[];
  bestEpoch: number;
  bestValidLoss?: number;
  stoppedEarly: boolean;
  /** The time budget ran out before `epochs` finished. */
  outOfTime: boolean;
  /** The budget ran out in the middle of the last recorded epoch (its record covers the steps it made). */
  lastEpochCutShort: boolean;
  aborted: boolean;
  targetTokens: number;
  wallSeconds: number;
}

interface CheckpointState {
  epoch: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestValidLoss?: number;
  epochsWithoutImprovement: number;
}

const PROGRESS_EVERY_MS = 500;

/** Trains in place; on return the network holds the weights of the best validation epoch. */
export async function trainLoop(
  net: TrainableNetwork,
  data: { train: TokenStream | ((epoch: number) => TokenStream); valid?: TokenStream },
  opts: TrainLoopOptions,
): Promise<TrainOutcome> {
  const started = performance.now();
  let state: CheckpointState = { epoch: 0, history: [], bestEpoch: 0, epochsWithoutImprovement: 0 };
  let best: NamedWeights | undefined;
  if (opts.resume && opts.checkpointDir) {
    const resumed = await loadCheckpoint(opts.checkpointDir);
    if (resumed) {
      state = resumed.state;
      net.setWeights(resumed.weights);
      if (resumed.optimizer && net.setOptimizerState) await net.setOptimizerState(resumed.optimizer);
      best = resumed.best ?? resumed.weights;
    }
  }

  let targetTokens = 0;
  let stoppedEarly = false;
  let aborted = false;
  let outOfTime = false;
  let lastEpochCutShort = false;
  const deadline = opts.timeBudgetSeconds ? started + opts.timeBudgetSeconds * 1000 : Infinity;
  for (let epoch = state.epoch + 1; epoch <= opts.epochs; epoch++) {
    // Seeded per epoch so a resumed run draws the same windows as an uninterrupted one.
    const random = createRng(opts.randomSeed * 1_000_003 + epoch);
    const trainStream = typeof data.train === 'function' ? data.train(epoch) : data.train;
    let batches = epochBatches(trainStream, opts.batchSize, opts.sequenceLength, random);
    if (opts.maxStepsPerEpoch) batches = batches.slice(0, opts.maxStepsPerEpoch);
    if (batches.length === 0) {
      throw new MotifError('DATA_EMPTY', 'The training data is too short to make a single training window.');
    }
    const epochStart = performance.now();
    let lossSum = 0;
    let lastReport = 0;
    let epochTokens = 0;
    for (let step = 0; step < batches.length; step++) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      if (performance.now() > deadline && step > 0) {
        outOfTime = true;
        lastEpochCutShort = true;
        batches = batches.slice(0, step);
        break;
      }
      const batch = batches[step]!;
      const loss = await net.trainBatch(batch);
      if (!Number.isFinite(loss)) {
        throw new MotifError('TRAINING_FAILED', 'Training diverged (the loss became infinite). Try fewer epochs or more data.');
      }
      lossSum += loss;
      epochTokens += batch.batch * batch.time;
      const now = performance.now();
      if (now - lastReport > PROGRESS_EVERY_MS || step === batches.length - 1) {
        lastReport = now;
        const tokensPerSecond = epochTokens / ((now - epochStart) / 1000);
        const stepsLeft = batches.length - step - 1 + (opts.epochs - epoch) * batches.length;
        opts.onProgress?.({
          epoch,
          epochs: opts.epochs,
          step: step + 1,
          steps: batches.length,
          loss: lossSum / (step + 1),
          tokensPerSecond,
          etaSeconds: (stepsLeft * opts.batchSize * opts.sequenceLength) / tokensPerSecond,
        });
        // Yield so abort signals and worker messages get through between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    targetTokens += epochTokens;
    if (aborted) break;

    const seconds = (performance.now() - epochStart) / 1000;
    const record: EpochRecord = {
      epoch,
      trainLoss: lossSum / batches.length,
      seconds,
      tokensPerSecond: epochTokens / seconds,
    };
    if (data.valid) record.validLoss = evaluateStream(net, data.valid, opts.batchSize, opts.sequenceLength).nllPerToken;
    state.history.push(record);
    state.epoch = epoch;
    opts.onEpoch?.(record);

    const score = record.validLoss ?? record.trainLoss;
    if (opts.keepLastEpoch || state.bestValidLoss === undefined || score < state.bestValidLoss) {
      state.bestValidLoss = score;
      state.bestEpoch = epoch;
      state.epochsWithoutImprovement = 0;
      best = net.getWeights();
    } else {
      state.epochsWithoutImprovement++;
    }
    if (opts.checkpointDir) {
      await saveCheckpoint(opts.checkpointDir, state, net.getWeights(), best, await net.getOptimizerState?.());
      await opts.onCheckpoint?.(opts.checkpointDir);
    }
    if (state.epochsWithoutImprovement >= opts.patience) {
      stoppedEarly = true;
      break;
    }
    if (outOfTime || performance.now() > deadline) {
      outOfTime = true;
      break;
    }
  }
  if (best) net.setWeights(best);
  return {
    history: state.history,
    bestEpoch: state.bestEpoch,
    bestValidLoss: state.bestValidLoss,
    stoppedEarly,
    outOfTime,
    lastEpochCutShort,
    aborted,
    targetTokens,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

/** Held-out negative log-likelihood, each token scored once. */
export function evaluateStream(
  net: TrainableNetwork,
  stream: TokenStream,
  batchSize: number,
  sequenceLength: number,
): { nll: number; count: number; nllPerToken: number } {
  let nll = 0;
  let count = 0;
  for (const batch of evaluationBatches(stream, batchSize, sequenceLength)) {
    const result = net.evaluateBatch(batch);
    nll += result.nll;
    count += result.count;
  }
  return { nll, count, nllPerToken: count > 0 ? nll / count : Number.NaN };
}

// --- checkpoints: each epoch's files go to their own folder, and state.json — written last,
// atomically — names that folder. A crash at any point leaves the previous checkpoint whole.

async function saveCheckpoint(dir: string, state: CheckpointState, weights: NamedWeights, best?: NamedWeights, optimizer?: NamedWeights): Promise<void> {
  const files = `epoch-${state.epoch}`;
  await rm(join(dir, files), { recursive: true, force: true });
  await saveWeights(join(dir, files, 'current'), weights);
  if (best) await saveWeights(join(dir, files, 'best'), best);
  if (optimizer && Object.keys(optimizer).length > 0) await saveWeights(join(dir, files, 'optimizer'), optimizer);
  await writeFileAtomic(join(dir, 'state.json'), Buffer.from(JSON.stringify({ ...state, files })));
  const older = (await readdir(dir)).filter((name) => name.startsWith('epoch-') && name !== files);
  await Promise.all(older.map((name) => rm(join(dir, name), { recursive: true, force: true })));
}

async function loadCheckpoint(
  dir: string,
): Promise<{ state: CheckpointState; weights: NamedWeights; best?: NamedWeights; optimizer?: NamedWeights } | undefined> {
  const stateText = await readFile(join(dir, 'state.json'), 'utf8').catch(() => undefined);
  if (!stateText) return undefined;
  const { files, ...state } = JSON.parse(stateText) as CheckpointState & { files?: string };
  const at = files ? join(dir, files) : dir;
  const weights = await loadWeights(join(at, 'current'));
  const best = await loadWeights(join(at, 'best')).catch(() => undefined);
  // Checkpoints without optimiser state still resume, with a fresh Adam.
  const optimizer = await loadWeights(join(at, 'optimizer')).catch(() => undefined);
  return { state, weights, best, optimizer };
}
