/**
 * Training processors (run in a worker thread by the queue and by `npm run train`).
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { LOSS_CURVE_FILE } from '../ml/model-dir.js';
import type { TrainProgress } from '../ml/training/train-loop.js';
import { trainModel, type TrainModelOptions, type TrainModelResult } from '../ml/training/train-model.js';
import { MotifError } from '../errors.js';
import { asDiskFull } from '../util/disk-full.js';
import { isBlobPrefix, type BlobStore } from '../storage/blobs/blob-store.js';
import { LocalBlobStore } from '../storage/blobs/local-blob-store.js';
import { guildKeys } from '../storage/guild-paths.js';
import { z } from 'zod';
import { jobBlobStore, type JobBlobSettings } from './job-blobs.js';
import { wasCancelled, type ProcessorContext } from './processor.js';
import { safeJson } from '../util/safe-json.js';

/** Everything of TrainModelOptions that can cross a thread boundary (no callbacks). */
export type TrainJobData = Omit<TrainModelOptions, 'signal' | 'onProgress' | 'onEpoch' | 'onCheckpoint' | 'log'>;

export async function runTraining(data: TrainJobData, ctx: ProcessorContext<TrainProgress>): Promise<TrainModelResult> {
  return trainModel({ ...data, signal: ctx.signal, onProgress: ctx.reportProgress, log: ctx.log });
}

export interface GuildTrainRequest {
  guildId: string;
  /** Blob keys of the corpus files to train on (MIDI), fetched by the worker. */
  corpusKeys: readonly string[];
  /** The NEW version's blob prefix (`guilds/<g>/models/<version>/`): written once, never over another. */
  modelPrefix: string;
  /** The blob store, and where a local one keeps its files (see job-blobs.ts). */
  blobs: JobBlobSettings;
  epochs: number;
  /** Fine-tune this bundled model folder; absent = train from scratch. */
  fromModelDir?: string;
  /**
   * Wall-clock cap (TRAIN_MAX_MINUTES) so one guild cannot hold the batch lane for hours: the run
   * stops after the step that crosses it, validates what it has and saves its best epoch.
   */
  timeBudgetSeconds?: number;
}

export interface GuildTrainResult {
  /** The request's `modelPrefix`, now holding the whole model. */
  modelPrefix: string;
  metrics: Record<string, number>;
  /** Blob key of the loss-curve PNG, inside `modelPrefix`. */
  lossCurveKey: string;
  summary: string;
  /** The time budget stopped the run before its epochs were done. */
  stoppedAtTimeBudget: boolean;
  /** Whole passes over the corpus that finished (an epoch cut short by the budget does not count). */
  completedEpochs: number;
}

export const TRAIN_DISK_FULL_MESSAGE =
  "The server's disk is full, so the new model could not be saved. This server keeps composing with its current model. Tell the bot's operator, and run /train again once space is freed.";

/**
 * `/train`: fine-tunes (or trains) a guild model on the guild's uploads. Runs in a worker that may
 * share no disk with the bot: the corpus is fetched from the blob store into a scratch folder, the
 * model is trained there and uploaded under the new version prefix. On failure nothing is left
 * under the prefix, and the scratch folder is removed.
 * @throws MotifError DATA_EMPTY, DISK_FULL, JOB_CANCELLED, TRAINING_FAILED, STORAGE_UNAVAILABLE.
 */
export async function trainGuildModel(req: GuildTrainRequest, ctx: ProcessorContext<TrainProgress>): Promise<GuildTrainResult> {
  if (!isBlobPrefix(req.modelPrefix)) throw new Error(`Not a model version prefix: ${JSON.stringify(req.modelPrefix.slice(0, 200))}`);
  const store = await jobBlobStore(req.blobs);
  const scratch = await scratchFor(store, req.modelPrefix);
  // Named `corpus` as the guild's folder always was: piece ids (and so the validation split) stay the same.
  const corpusDir = join(scratch.corpusRoot, 'corpus');
  const checkpoints = new StoredCheckpoint(store, guildKeys.checkpointOf(req.modelPrefix), `${scratch.modelDir}.checkpoint`);
  try {
    await mkdir(corpusDir, { recursive: true });
    for (const key of req.corpusKeys) await store.getToFile(key, join(corpusDir, basename(key)));
    // A worker that crashed or was killed mid-run left its last stored checkpoint: continue from there,
    // within what is left of the run's time budget (it counts from the first start, not this one).
    const resume = await checkpoints.fetch();
    if (resume) ctx.log('resuming from the checkpoint of an interrupted run');
    const timeBudgetSeconds = req.timeBudgetSeconds === undefined ? undefined : Math.max(1, req.timeBudgetSeconds - checkpoints.secondsSinceRunStarted());
    const result = await trainModel({
      resume,
      // Nothing is stored once stopped: a cancelled run's checkpoint is about to be removed.
      onCheckpoint: () => (ctx.signal.aborted ? Promise.resolve() : checkpoints.save()),
      dataDirs: [corpusDir],
      outDir: scratch.modelDir,
      epochs: req.epochs,
      fromDir: req.fromModelDir,
      // Guild corpora are small: short windows and batches keep every upload useful.
      batchSize: 16,
      sequenceLength: 64,
      patience: 2,
      timeBudgetSeconds,
      name: 'guild',
      command: `/train epochs:${req.epochs} from:${req.fromModelDir ? 'default' : 'scratch'}`,
      signal: ctx.signal,
      onProgress: ctx.reportProgress,
      log: ctx.log,
    });
    // Stopped: nothing is uploaded. Handed back, the stored checkpoint stays for the retry.
    if (ctx.signal.aborted) throw new MotifError('JOB_CANCELLED', 'Training was stopped before it finished.');
    // Moved, not copied: on the local store the model stays on its disk (no second copy on a full one).
    for (const file of await filesUnder(scratch.modelDir)) {
      await store.putFile(`${req.modelPrefix}${file.split(sep).join('/')}`, join(scratch.modelDir, file), { move: true });
    }
    await checkpoints.remove();
    return summarize(result, req.modelPrefix);
  } catch (error) {
    // Cancelled: nobody resumes it. The bot removes the checkpoint as soon as it hears of the cancel,
    // but a save already under way here would outlive that, so this side removes it too, last.
    if (wasCancelled(ctx.signal)) await checkpoints.remove().catch(() => undefined);
    if (ctx.signal.aborted) throw error;
    // Ended (failed, out of disk): nothing to resume. A killed worker never gets here.
    await checkpoints.remove().catch(() => undefined);
    await store.deletePrefix(req.modelPrefix).catch(() => undefined);
    // A checkpoint or the model itself could not be written: the guild keeps the model it has.
    throw asDiskFull(error, TRAIN_DISK_FULL_MESSAGE);
  } finally {
    await scratch.remove();
  }
}

/** Copying a checkpoint (weights, best weights, optimiser state: tens of MB) after every short epoch would dominate a small run. */
const CHECKPOINT_STORE_EVERY_MS = 5_000;

/**
 * The run's epoch checkpoint (train-loop.ts writes it to `dir`) mirrored in the blob store, so the
 * retry of a run whose worker died continues it on any machine (the "/train resumes from its
 * last checkpoint").
 */
class StoredCheckpoint {
  private lastStoredAt = 0;
  private runStartedAt = Date.now();

  constructor(
    private readonly blobs: BlobStore,
    private readonly prefix: string,
    private readonly dir: string,
  ) {}

  /** @returns true when a stored checkpoint was fetched into `dir`. */
  async fetch(): Promise<boolean> {
    const started = await this.blobs.get(this.prefix + RUN_FILE).catch(() => undefined);
    const startedAt = started ? runFileSchema.safeParse(safeJson(started.toString('utf8'))) : undefined;
    if (startedAt?.success) this.runStartedAt = startedAt.data.startedAt;
    else await this.blobs.put(this.prefix + RUN_FILE, Buffer.from(JSON.stringify({ startedAt: this.runStartedAt })));
    const stored = (await this.blobs.list(this.prefix)).filter((blob) => blob.key !== this.prefix + RUN_FILE);
    if (stored.length === 0) return false;
    await rm(this.dir, { recursive: true, force: true });
    for (const blob of stored) await this.blobs.getToFile(blob.key, join(this.dir, ...blob.key.slice(this.prefix.length).split('/')));
    return true;
  }

  /** After an epoch's checkpoint is written: store it, at most every few seconds. */
  async save(): Promise<void> {
    if (Date.now() - this.lastStoredAt < CHECKPOINT_STORE_EVERY_MS) return;
    this.lastStoredAt = Date.now();
    const files = await filesUnder(this.dir);
    for (const file of files) await this.blobs.putFile(`${this.prefix}${file.split(sep).join('/')}`, join(this.dir, file));
    // Files of an older checkpoint that this one no longer has would be read back with it.
    const keep = new Set([this.prefix + RUN_FILE, ...files.map((file) => `${this.prefix}${file.split(sep).join('/')}`)]);
    for (const blob of await this.blobs.list(this.prefix)) if (!keep.has(blob.key)) await this.blobs.delete(blob.key);
  }

  /** Seconds since the run's first attempt started (its time budget is for the whole run). */
  secondsSinceRunStarted(): number {
    return Math.max(0, (Date.now() - this.runStartedAt) / 1000);
  }

  async remove(): Promise<void> {
    await this.blobs.deletePrefix(this.prefix);
  }
}

/** Beside the checkpoint: when the run first started (`{ "startedAt": epoch ms }`). */
const RUN_FILE = 'run.json';
const runFileSchema = z.object({ startedAt: z.number().int().positive() });


interface Scratch {
  /** Where the corpus is fetched to (small files: always the system's temp folder). */
  corpusRoot: string;
  /** Where the model is trained (its epoch checkpoint goes beside it, `<modelDir>.checkpoint`). */
  modelDir: string;
  remove(): Promise<void>;
}

/**
 * For the local store the model is trained beside its final place (`<version>~work`, a name no key
 * can have), on the disk it will live on, as before the blob store: the bot's free-space check is
 * about that disk, and the finished files are renamed into place. Other stores: the system's temp folder.
 */
async function scratchFor(store: BlobStore, modelPrefix: string): Promise<Scratch> {
  const corpusRoot = await mkdtemp(join(tmpdir(), 'motif-train-'));
  const workDir = store instanceof LocalBlobStore ? `${store.pathOf(modelPrefix)}~work` : join(corpusRoot, 'work');
  await mkdir(workDir, { recursive: true });
  const modelDir = join(workDir, 'model');
  return {
    corpusRoot,
    modelDir,
    remove: async () => {
      await Promise.all([corpusRoot, workDir].map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** Paths of the files under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

function summarize(result: TrainModelResult, modelPrefix: string): GuildTrainResult {
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
    modelPrefix,
    metrics: spec.metrics,
    lossCurveKey: `${modelPrefix}${LOSS_CURVE_FILE}`,
    summary,
    stoppedAtTimeBudget: result.outOfTime,
    completedEpochs: result.completedEpochs,
  };
}
