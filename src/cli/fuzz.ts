/**
 * `npm run fuzz -- [--n 10000] …` (options: FUZZ_CLI below, or `--help`).
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
import { loadCoreConfig } from '../config.js';
import { prepareInputs } from '../fuzz/prepare-inputs.js';
import { runFuzz, type CaseRecord } from '../fuzz/runner.js';
import { defineCli, UsageError, type ParsedCli } from './define-cli.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

const ANY = Number.MAX_SAFE_INTEGER;

export const FUZZ_CLI = defineCli({
  name: 'fuzz',
  summary: 'Mutate real MIDI and audio files and feed each to the bot’s upload code in a bounded child process; every one must end in a typed error or a valid result.',
  options: {
    n: { type: 'int', min: 1, max: 1_000_000, default: 1000, description: 'mutated files to try' },
    seed: { type: 'int', min: 0, max: 2 ** 31 - 1, default: 1, description: 'makes the mutations reproducible' },
    datasets: { type: 'string', placeholder: 'DIR', default: '../shared/datasets', description: 'where the real files come from' },
    'audio-share': { type: 'number', min: 0, max: 1, default: 0.2, placeholder: 'X', description: 'fraction of cases that are audio uploads' },
    'timeout-ms': { type: 'int', min: 1, max: ANY, default: 5000, description: 'a MIDI case taking longer is a hang' },
    'audio-timeout-ms': { type: 'int', min: 1, max: ANY, default: 60_000, description: 'an audio case taking longer is a hang' },
    'memory-mb': { type: 'int', min: 64, max: ANY, default: 1536, description: 'a case using more RSS is a memory finding' },
    findings: { type: 'string', placeholder: 'DIR', default: 'out/fuzz-findings', description: 'where crashing or hanging inputs are saved' },
    only: { type: 'string', placeholder: 'I,J', description: 'run only these case numbers (from an earlier run’s findings)' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  notes: ['Exit codes: 0 no crash/hang/memory finding, 1 findings, 2 usage, 3 bug.'],
});

function parseOnly(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const cases = text.split(',').map((part) => Number(part.trim()));
  if (cases.some((i) => !Number.isInteger(i) || i < 0)) throw new UsageError(`--only must be case numbers separated by commas, e.g. 12,40 (got ${text})`);
  return cases;
}

async function main({ values }: ParsedCli<typeof FUZZ_CLI.options>): Promise<number> {
  const { n, seed } = values;
  const audioShare = values['audio-share'];
  const only = parseOnly(values.only);
  let config;
  try {
    config = loadCoreConfig();
  } catch (error) {
    return reportCliError(error);
  }
  const datasetsDir = resolve(values.datasets);
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
    findingsDir: resolve(values.findings),
    timeoutMs: { midi: values['timeout-ms'], audio: values['audio-timeout-ms'] },
    memoryLimitMb: values['memory-mb'],
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

// process.exit, not exitCode: the case runner's child processes and timers must not keep it alive.
if (isEntryPoint(import.meta.url)) process.exit(await runCliMain(FUZZ_CLI, main));
