/**
 * `npm run train -- --data DIR [--data DIR…] --out DIR [--epochs N] [--arch lm|seed] [--encoding event|seed|voices]
 *   [--resume] [--from DIR] [--max-minutes M] [--max-pieces N] [--random-seed N] [--json]`
 *
 * Trains in a worker thread (the CLI's own thread only draws progress and handles Ctrl-C, which
 * stops after the current step and keeps the last checkpoint for --resume).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { WorkerPool } from '../jobs/worker-host.js';
import type { TrainJobData } from '../jobs/train.js';
import type { TrainProgress } from '../ml/training/train-loop.js';
import type { TrainModelResult } from '../ml/training/train-model.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';

const USAGE =
  'usage: npm run train -- --data DIR [--data DIR] --out DIR [--epochs N] [--arch lm|seed] [--encoding event|seed]\n' +
  '         [--batch-size N] [--seq-len N] [--hidden N] [--layers N] [--embedding N] [--lr X] [--threads 1|2] [--patience N] [--augment SEMITONES]\n' +
  '         [--resume] [--from DIR] [--max-minutes M] [--max-pieces N] [--max-steps N] [--random-seed N] [--json]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        data: { type: 'string', multiple: true },
        out: { type: 'string' },
        epochs: { type: 'string', default: '20' },
        arch: { type: 'string', default: 'lm' },
        encoding: { type: 'string' },
        'batch-size': { type: 'string' },
        'seq-len': { type: 'string' },
        hidden: { type: 'string' },
        layers: { type: 'string' },
        embedding: { type: 'string' },
        lr: { type: 'string' },
        threads: { type: 'string' },
        patience: { type: 'string' },
        augment: { type: 'string' },
        resume: { type: 'boolean', default: false },
        from: { type: 'string' },
        'max-minutes': { type: 'string' },
        'max-pieces': { type: 'string' },
        'max-steps': { type: 'string' },
        'random-seed': { type: 'string' },
        name: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help || !values.data?.length || !values.out) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const arch = values.arch;
  const encoding = values.encoding;
  if ((arch !== 'lm' && arch !== 'seed') || (encoding !== undefined && encoding !== 'event' && encoding !== 'seed' && encoding !== 'voices')) {
    process.stderr.write(`--arch must be lm or seed, --encoding event, seed or voices\n${USAGE}\n`);
    return 2;
  }
  const num = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text));
  const maxMinutes = num(values['max-minutes']);
  const data: TrainJobData = {
    dataDirs: values.data.map((d) => resolve(d)),
    outDir: resolve(values.out),
    arch,
    encoding,
    epochs: Number(values.epochs),
    batchSize: num(values['batch-size']),
    sequenceLength: num(values['seq-len']),
    hiddenSize: num(values.hidden),
    layers: num(values.layers),
    embeddingSize: num(values.embedding),
    learningRate: num(values.lr),
    trainingThreads: num(values.threads),
    patience: num(values.patience),
    augmentTransposeSemitones: num(values.augment),
    resume: values.resume,
    fromDir: values.from ? resolve(values.from) : undefined,
    timeBudgetSeconds: maxMinutes === undefined ? undefined : maxMinutes * 60,
    maxPieces: num(values['max-pieces']),
    maxStepsPerEpoch: num(values['max-steps']),
    randomSeed: num(values['random-seed']),
    name: values.name,
    command: `npm run train -- ${process.argv.slice(2).join(' ')}`,
  };
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      process.stderr.write(`--${key} must be a number\n${USAGE}\n`);
      return 2;
    }
  }

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
      `wrote ${result.dir}: ${spec.training.epochs} epoch(s), best ${spec.training.bestEpoch}, ` +
        `valid NLL ${spec.metrics.validNllPerToken?.toFixed(4) ?? 'n/a'} nats/token, ${wallSeconds} s${result.aborted ? ' (stopped early by request)' : ''}\n`,
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
}

process.exitCode = await main();
