/**
 * Training processors (run in a worker thread by the queue and by `npm run train`).
 */
import { join } from 'node:path';
import { LOSS_CURVE_FILE } from '../ml/model-dir.js';
import type { TrainProgress } from '../ml/training/train-loop.js';
import { trainModel, type TrainModelOptions, type TrainModelResult } from '../ml/training/train-model.js';
import { asDiskFull } from '../util/disk-full.js';
import type { ProcessorContext } from './processor.js';

/** Everything of TrainModelOptions that can cross a thread boundary (no callbacks). */
export type TrainJobData = Omit<TrainModelOptions, 'signal' | 'onProgress' | 'onEpoch' | 'log'>;

export async function runTraining(data: TrainJobData, ctx: ProcessorContext<TrainProgress>): Promise<TrainModelResult> {
  return trainModel({ ...data, signal: ctx.signal, onProgress: ctx.reportProgress, log: ctx.log });
}

export interface GuildTrainRequest {
  corpusDir: string;
  outDir: string;
  epochs: number;
  /** Fine-tune this model; absent = train from scratch. */
  fromModelDir?: string;
  /**
   * Wall-clock cap (TRAIN_MAX_MINUTES) so one guild cannot hold the batch lane for hours: the run
   * stops after the step that crosses it, validates what it has and saves its best epoch.
   */
  timeBudgetSeconds?: number;
}

export interface GuildTrainResult {
  modelDir: string;
  metrics: Record<string, number>;
  lossCurvePngPath: string;
  summary: string;
  /** The time budget stopped the run before its epochs were done. */
  stoppedAtTimeBudget: boolean;
  /** Whole passes over the corpus that finished (an epoch cut short by the budget does not count). */
  completedEpochs: number;
}

export const TRAIN_DISK_FULL_MESSAGE =
  "The server's disk is full, so the new model could not be saved. This server keeps composing with its current model. Tell the bot's operator, and run /train again once space is freed.";

/** `/train`: fine-tunes (or trains) a guild model on the guild's uploads. */
export async function trainGuildModel(req: GuildTrainRequest, ctx: ProcessorContext<TrainProgress>): Promise<GuildTrainResult> {
  const result = await trainModel({
    dataDirs: [req.corpusDir],
    outDir: req.outDir,
    epochs: req.epochs,
    fromDir: req.fromModelDir,
    // Guild corpora are small: short windows and batches keep every upload useful.
    batchSize: 16,
    sequenceLength: 64,
    patience: 2,
    timeBudgetSeconds: req.timeBudgetSeconds,
    name: 'guild',
    command: `/train epochs:${req.epochs} from:${req.fromModelDir ? 'default' : 'scratch'}`,
    signal: ctx.signal,
    onProgress: ctx.reportProgress,
    log: ctx.log,
  }).catch((error: unknown) => {
    // A checkpoint or the model itself could not be written: the guild keeps the model it has.
    throw asDiskFull(error, TRAIN_DISK_FULL_MESSAGE);
  });
  const { spec } = result;
  const history = spec.training.history;
  const last = history[history.length - 1];
  const summary = [
    `Trained ${history.length} epoch(s) on ${spec.training.data[0]?.pieces ?? 0} piece(s) in ${spec.training.wallSeconds} s.`,
    last ? `Final training loss ${last.trainLoss.toFixed(3)}` + (last.validLoss !== undefined ? `, validation loss ${last.validLoss.toFixed(3)}` : '') + ' nats/token.' : '',
    spec.metrics.validNllPerToken !== undefined ? `Held-out NLL: ${spec.metrics.validNllPerToken.toFixed(3)} nats/token.` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    modelDir: result.dir,
    metrics: spec.metrics,
    lossCurvePngPath: join(result.dir, LOSS_CURVE_FILE),
    summary,
    stoppedAtTimeBudget: result.outOfTime,
    completedEpochs: result.completedEpochs,
  };
}
