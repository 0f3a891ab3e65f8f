/**
 * `npm run fuzz -- [--n 10000] [--seed N] [--json] [--datasets DIR] [--audio-share 0.2]
 *   [--timeout-ms 5000] [--audio-timeout-ms 60000] [--memory-mb 1536] [--findings DIR] [--only i,j]`
 *
 * Mutates real MIDI and audio files from the datasets and feeds each to the bot's upload code (the
 * /compose MIDI seed path and the /corpus add MIDI and audio paths) in a child process with a time
 * and memory bound. Prints counts by outcome, the slowest file and peak RSS; with --json the last
 * stdout line is `{ files, ok, typedErrors, crashes, hangs, overMemory, slowestMs, peakRssMb, … }`.
 * Crashing or hanging inputs are saved under --findings (default out/fuzz-findings).
 * Exit codes: 0 no crash/hang/memory finding, 1 findings, 2 usage, 3 bug.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCoreConfig } from '../config.js';
import { prepareInputs } from '../fuzz/prepare-inputs.js';
import { runFuzz, type CaseRecord } from '../fuzz/runner.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';

const USAGE =
  'usage: npm run fuzz -- [--n 10000] [--seed N] [--json] [--datasets DIR] [--audio-share 0.2]\n' +
  '         [--timeout-ms 5000] [--audio-timeout-ms 60000] [--memory-mb 1536] [--findings DIR] [--only i,j]';

function positiveNumber(name: string, text: string | undefined, fallback: number, opts: { allowZero?: boolean } = {}): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (!opts.allowZero && value === 0)) throw new Error(`--${name} must be a positive number (got ${text})`);
  return value;
}

async function main(): Promise<number> {
  let values;
  let n: number, seed: number, audioShare: number, timeoutMs: number, audioTimeoutMs: number, memoryMb: number;
  let only: number[] | undefined;
  try {
    ({ values } = parseArgs({
      options: {
        n: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean', default: false },
        datasets: { type: 'string' },
        'audio-share': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'audio-timeout-ms': { type: 'string' },
        'memory-mb': { type: 'string' },
        findings: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    n = Math.floor(positiveNumber('n', values.n, 1000));
    seed = Math.floor(positiveNumber('seed', values.seed, 1, { allowZero: true }));
    audioShare = positiveNumber('audio-share', values['audio-share'], 0.2, { allowZero: true });
    if (audioShare > 1) throw new Error('--audio-share must be from 0 to 1');
    timeoutMs = positiveNumber('timeout-ms', values['timeout-ms'], 5000);
    audioTimeoutMs = positiveNumber('audio-timeout-ms', values['audio-timeout-ms'], 60_000);
    memoryMb = positiveNumber('memory-mb', values['memory-mb'], 1536);
    only = values.only?.split(',').map((s) => Math.floor(positiveNumber('only', s, 0, { allowZero: true })));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadCoreConfig();
  } catch (error) {
    return reportCliError(error);
  }
  const datasetsDir = resolve(values.datasets ?? '../shared/datasets');
  const pool = await prepareInputs({ datasetsDir, cacheDir: join(tmpdir(), 'motif-fuzz-inputs'), ffmpegPath: config.ffmpegPath, withAudio: audioShare > 0 });
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(`fuzz: ${only?.length ?? n} cases, seed ${seed}, ${pool.midi.length} MIDI and ${pool.audio.length} audio inputs`);
  const total = only?.length ?? n;
  const bar = createProgressBar({ label: 'fuzzing', enabled: !values.json && Boolean(process.stderr.isTTY) });
  let done = 0;
  const summary = await runFuzz({
    n,
    seed,
    pool,
    only,
    audioShare,
    limits: { maxMidiBytes: config.maxMidiBytes, maxAudioBytes: config.maxAudioBytes, maxAudioSeconds: config.maxAudioSeconds, ffmpegPath: config.ffmpegPath },
    modelDir: config.defaultModelDir,
    workDir: join(tmpdir(), `motif-fuzz-${process.pid}`),
    findingsDir: resolve(values.findings ?? 'out/fuzz-findings'),
    timeoutMs: { midi: timeoutMs, audio: audioTimeoutMs },
    memoryLimitMb: memoryMb,
    onCase: (r: CaseRecord) => {
      done++;
      bar.update(done / total, `fuzzing ${done}/${total}`);
      if (r.outcome === 'crash' || r.outcome === 'hang' || r.outcome === 'memory') {
        log(`case ${r.index} (${r.mutation} of ${r.source}): ${r.outcome.toUpperCase()} ${r.error?.split('\n')[0] ?? ''}`);
      } else if (!process.stderr.isTTY && done % 500 === 0) {
        log(`… ${done}/${total}`);
      }
    },
  });
  bar.finish();
  log(`files ${summary.files}: ok ${summary.ok}, typed errors ${summary.typedErrors}, crashes ${summary.crashes}, hangs ${summary.hangs}, over memory ${summary.overMemory}`);
  log(`slowest ${Math.round(summary.slowestMs)} ms (case ${summary.slowest?.index ?? '-'}: ${summary.slowest?.mutation ?? '-'} of ${summary.slowest?.source ?? '-'}); peak RSS ${Math.round(summary.peakRssMb)} MB; ${Math.round(summary.elapsedMs / 1000)} s`);
  log(`by mutation: ${JSON.stringify(summary.byMutation)}`);
  log(`by error code: ${JSON.stringify(summary.byCode)}`);
  if (values.json) {
    writeJsonResult({
      files: summary.files,
      ok: summary.ok,
      typedErrors: summary.typedErrors,
      crashes: summary.crashes,
      hangs: summary.hangs,
      overMemory: summary.overMemory,
      slowestMs: Math.round(summary.slowestMs),
      peakRssMb: Math.round(summary.peakRssMb),
      seed,
      elapsedMs: Math.round(summary.elapsedMs),
      slowest: summary.slowest,
      byMutation: summary.byMutation,
      byCode: summary.byCode,
      findings: summary.findings.map((f) => ({ index: f.index, mutation: f.mutation, outcome: f.outcome, error: f.error?.split('\n')[0] })),
    });
  }
  return summary.crashes + summary.hangs + summary.overMemory > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => process.exit(reportCliError(error)),
);
