/**
 * `npm run train -- --data DIR --out DIR …` (options: TRAIN_CLI below, or `--help`).
 *
 * Trains in a worker thread (the CLI's own thread only draws progress and handles Ctrl-C, which
 * stops after the current step and keeps the last checkpoint for --resume).
 */
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCoreConfig } from '../config.js';
import { WorkerPool } from '../jobs/worker-host.js';
import type { TrainJobData } from '../jobs/train.js';
import type { TrainProgress } from '../ml/training/train-loop.js';
import type { TrainModelResult } from '../ml/training/train-model.js';
import { VOICES_HELD_PERIOD } from '../music/tokenizers/index.js';
import { exists, isDirectory, isNonEmptyDir } from './cli-fs.js';
import { defineCli, EXIT_CODES_NOTE, UsageError } from './define-cli.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

const ANY = Number.MAX_SAFE_INTEGER;

export const TRAIN_CLI = defineCli({
  name: 'train',
  summary: 'Train a model folder on MIDI corpora (in a worker thread; Ctrl-C stops after the step and keeps a checkpoint for --resume).',
  options: {
    data: { type: 'string', placeholder: 'DIR', required: true, multiple: true, description: 'corpus folder(s) of MIDI files' },
    out: { type: 'string', placeholder: 'DIR', required: true, description: 'the model folder to write; must be new or empty (see --resume, --force)' },
    epochs: { type: 'int', min: 1, max: 10_000, default: 20, description: 'passes over the training data' },
    arch: { type: 'string', choices: ['lm', 'seed'], default: 'lm', description: 'network: lm (ours) or seed (the tutorial baseline)' },
    encoding: { type: 'string', choices: ['event', 'seed', 'voices'], description: 'tokenizer (default: event for lm, seed for seed; voices: four voices per 16th step, for chorales)' },
    holds: { type: 'string', choices: ['token', 'pitch'], description: 'voices only: a kept note is a HOLD token (default) or its pitch again at every step' },
    'held-input': { type: 'boolean', description: `voices only: the network's positions also say how long the voice to be predicted has held its note (position period ${VOICES_HELD_PERIOD}); with --from, added to a model that reads the index` },
    'batch-size': { type: 'int', min: 1, max: 4096, description: 'sequences per batch (default 64)' },
    'seq-len': { type: 'int', min: 2, max: 4096, description: 'tokens per training window (default 100)' },
    hidden: { type: 'int', min: 1, max: 4096, description: 'LSTM units per layer' },
    layers: { type: 'int', min: 1, max: 4, description: 'stacked LSTM layers (default 2)' },
    embedding: { type: 'int', min: 1, max: 4096, description: 'token embedding size' },
    'position-period': { type: 'int', min: 1, max: 4096, placeholder: 'K', description: 'lm only: tell the network each token\'s position mod K: for voices its index within the piece (16: voice × 16th in the beat), for event the 16th within the bar (24 covers every meter); with --from, adds it to a model without' },
    lr: { type: 'number', min: 1e-7, max: 1, placeholder: 'X', description: 'learning rate' },
    threads: { type: 'int', min: 1, max: 2, description: 'threads per batch (2 pays off only with an idle second core; lm only)' },
    patience: { type: 'int', min: 1, max: 10_000, description: 'stop after this many epochs without a better validation loss (default 3)' },
    augment: { type: 'int', min: 0, max: 12, placeholder: 'SEMITONES', description: 'random transposition per epoch, ± semitones (default 5 for event, 6 for voices)' },
    resume: { type: 'boolean', description: 'continue the interrupted run that wrote <out>.checkpoint' },
    from: { type: 'string', placeholder: 'DIR', description: 'fine-tune this model folder (into a new --out)' },
    force: { type: 'boolean', description: 'replace a non-empty --out, even the shipped models/default' },
    'max-minutes': { type: 'number', min: 0.01, max: ANY, placeholder: 'M', description: 'wall-clock budget; stops after the step that crosses it' },
    'max-pieces': { type: 'int', min: 1, max: ANY, description: 'train on only the first N training pieces' },
    'train-on-valid': { type: 'boolean', description: 'train on the validation pieces too (a last fit once the recipe was chosen on them): no early stopping, the last epoch is kept, the test pieces stay held out' },
    'max-steps': { type: 'int', min: 1, max: ANY, description: 'at most this many steps per epoch' },
    'random-seed': { type: 'int', min: 0, max: 2 ** 31 - 1, description: 'makes the run reproducible (default 1)' },
    name: { type: 'string', description: 'model name recorded in the spec and card' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  notes: [EXIT_CODES_NOTE],
});

/** The model this repository ships: never replaced by accident, whatever MODELS_DIR says. */
const SHIPPED_MODEL_DIR = fileURLToPath(new URL('../../models/default', import.meta.url));

/**
 * Refuses an output folder that would lose work: the shipped model, a non-empty folder (unless
 * --resume or --force), a file, or --resume with nothing to resume.
 * @throws UsageError naming --out / --resume.
 */
function checkTrainOutput(outDir: string, opts: { resume: boolean; force: boolean; protectedDirs: string[] }): void {
  const fromCwd = relative(process.cwd(), outDir);
  const shown = fromCwd === '' ? '.' : fromCwd.startsWith('..') ? outDir : fromCwd;
  if (exists(outDir) && !isDirectory(outDir)) throw new UsageError(`--out must be a folder, but ${shown} is a file`);
  if (!opts.force && opts.protectedDirs.includes(outDir)) {
    throw new UsageError(`--out ${shown} is the shipped default model; train into a new folder (e.g. --out models/mine), or add --force to replace it`);
  }
  if (opts.resume) {
    if (!existsSync(`${outDir}.checkpoint`)) throw new UsageError(`--resume: no interrupted run to continue (${shown}.checkpoint does not exist)`);
    return;
  }
  if (!opts.force && isNonEmptyDir(outDir)) {
    throw new UsageError(`--out ${shown} is not empty; choose a new folder, continue an interrupted run with --resume, or add --force to replace it`);
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await runCliMain(TRAIN_CLI, async ({ values }) => {
  const config = loadCoreConfig();
  const outDir = resolve(values.out);
  checkTrainOutput(outDir, { resume: values.resume, force: values.force, protectedDirs: [SHIPPED_MODEL_DIR, config.defaultModelDir] });
  if (values.from !== undefined && !exists(resolve(values.from))) throw new UsageError(`--from ${values.from}: no such model folder`);
  if (values['train-on-valid'] && values.patience !== undefined) throw new UsageError('--patience needs validation pieces to stop on; with --train-on-valid the run goes its --epochs');
  const maxMinutes = values['max-minutes'];
  const data: TrainJobData = {
    dataDirs: values.data.map((d) => resolve(d)),
    outDir,
    arch: values.arch,
    encoding: values.encoding,
    holds: values.holds,
    heldInput: values['held-input'] || undefined,
    epochs: values.epochs,
    batchSize: values['batch-size'],
    sequenceLength: values['seq-len'],
    hiddenSize: values.hidden,
    layers: values.layers,
    embeddingSize: values.embedding,
    positionPeriod: values['position-period'],
    learningRate: values.lr,
    trainingThreads: values.threads,
    patience: values.patience,
    augmentTransposeSemitones: values.augment,
    resume: values.resume,
    fromDir: values.from ? resolve(values.from) : undefined,
    timeBudgetSeconds: maxMinutes === undefined ? undefined : maxMinutes * 60,
    maxPieces: values['max-pieces'],
    trainOnValid: values['train-on-valid'] || undefined,
    maxStepsPerEpoch: values['max-steps'],
    randomSeed: values['random-seed'],
    name: values.name,
    command: `npm run train -- ${process.argv.slice(2).join(' ')}`,
  };

  const pool = new WorkerPool();
  const controller = new AbortController();
  // npm and tsx relay the terminal's Ctrl-C, so one key press can arrive more than once: only a
  // third signal forces an exit without a clean stop.
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nstopping after this step; the last checkpoint stays for --resume\n');
      controller.abort();
    } else if (interrupts >= 3) process.exit(130);
  });
  const bar = createProgressBar({ label: 'training', showAfterMs: 0 });
  const started = performance.now();
  try {
    const moduleUrl = new URL(import.meta.url.endsWith('.ts') ? '../jobs/train.ts' : '../jobs/train.js', import.meta.url).href;
    const result = (await pool.run('train', moduleUrl, 'runTraining', data, {
      signal: controller.signal,
      abortGraceMs: 120_000,
      onLog: (message) => {
        bar.finish();
        process.stderr.write(`${message}\n`);
      },
      onProgress: (p) => {
        const progress = p as TrainProgress;
        const fraction = (progress.epoch - 1 + progress.step / progress.steps) / progress.epochs;
        bar.update(
          fraction,
          `epoch ${progress.epoch}/${progress.epochs} step ${progress.step}/${progress.steps} loss ${progress.loss.toFixed(3)} ` +
            `${Math.round(progress.tokensPerSecond)} tok/s ETA ${Math.round(progress.etaSeconds)} s`,
        );
        if (!process.stdout.isTTY && progress.step === progress.steps) {
          process.stderr.write(`epoch ${progress.epoch}: loss ${progress.loss.toFixed(4)}, ${Math.round(progress.tokensPerSecond)} tok/s\n`);
        }
      },
    })) as TrainModelResult;
    bar.finish();
    const { spec } = result;
    const wallSeconds = Math.round((performance.now() - started) / 1000);
    process.stderr.write(
      `wrote ${result.dir}: ${spec.training.epochs} epoch(s), ` +
        (spec.training.trainOnValid
          ? `the last kept (trained on the validation pieces too), `
          : `best ${spec.training.bestEpoch}, valid NLL ${spec.metrics.validNllPerToken?.toFixed(4) ?? 'n/a'} nats/token, `) +
        `${wallSeconds} s${result.aborted ? ' (stopped early by request)' : ''}\n`,
    );
    if (values.json) {
      writeJsonResult({
        modelDir: result.dir,
        arch: spec.arch,
        encoding: spec.tokenizer.name,
        vocabSize: spec.vocabSize,
        epochs: spec.training.epochs,
        bestEpoch: spec.training.bestEpoch,
        metrics: spec.metrics,
        tokensPerSecond: spec.training.tokensPerSecond,
        wallSeconds,
        aborted: result.aborted,
      });
    }
    return 0;
  } catch (error) {
    bar.finish();
    return reportCliError(error);
  } finally {
    await pool.close();
  }
});
