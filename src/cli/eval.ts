/**
 * `npm run eval -- --model DIR --data DIR [--data DIR] [--baseline DIR] [--samples N] [--length N]
 *   [--temperature T] [--random-seed N] [--json]`
 *
 * Prints the likelihood table (ours vs baselines, same encoding), the Yang & Lerch overlap table and
 * the originality distribution; with --json the last stdout line is the whole report.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateModel } from '../ml/evaluation/evaluate.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';

const USAGE =
  'usage: npm run eval -- --model DIR (--data DIR [--data DIR] | --test DIR [--data DIR]) [--baseline DIR] [--baseline-tokens N] [--samples N] [--length N]\n' +
  '         [--temperature T] [--top-p P] [--no-cache] [--no-cadence] [--random-seed N] [--json]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        model: { type: 'string' },
        data: { type: 'string', multiple: true },
        test: { type: 'string', multiple: true },
        baseline: { type: 'string' },
        'baseline-tokens': { type: 'string', default: '20000' },
        samples: { type: 'string', default: '100' },
        length: { type: 'string', default: '100' },
        temperature: { type: 'string', default: '1' },
        'top-p': { type: 'string', default: '1' },
        'no-cache': { type: 'boolean', default: false },
        'no-cadence': { type: 'boolean', default: false },
        'random-seed': { type: 'string', default: '1' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help || !values.model || (!values.data?.length && !values.test?.length)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const bar = createProgressBar({ label: 'evaluating' });
  try {
    const report = await evaluateModel({
      modelDir: resolve(values.model),
      dataDirs: (values.data ?? []).map((d) => resolve(d)),
      testDirs: values.test?.map((d) => resolve(d)),
      baselineDir: values.baseline ? resolve(values.baseline) : undefined,
      maxBaselineTokens: Number(values['baseline-tokens']),
      samples: Number(values.samples),
      sampleLength: Number(values.length),
      temperature: Number(values.temperature),
      topP: Number(values['top-p']),
      noCache: values['no-cache'],
      cadence: !values['no-cadence'],
      randomSeed: Number(values['random-seed']),
      onProgress: (stage, fraction) => bar.update(fraction, stage),
    });
    bar.finish();
    const out = process.stderr;
    out.write(`\n${report.model} on ${report.testPieces} held-out pieces (${report.testTokens} ${report.encoding} tokens, ${report.testNotes} notes)\n\n`);
    out.write(
      `total NLL ${report.totalNll.toFixed(0)} nats over ${report.test16thSteps} 16th steps: ${report.nllPer16thStep.toFixed(4)} per 16th step, ` +
        `${report.nllPerQuarterFrame.toFixed(3)} per quarter frame (each piece scored from its start, state carried through)\n\n`,
    );
    out.write('model                                                          NLL/token  NLL/note  accuracy  tokens\n');
    for (const row of report.likelihood) {
      out.write(
        `${row.model.slice(0, 62).padEnd(62)} ${row.nllPerToken.toFixed(4).padStart(9)} ${(row.nllPerNote?.toFixed(3) ?? '-').padStart(9)} ` +
          `${(row.accuracy !== undefined ? (row.accuracy * 100).toFixed(1) + '%' : '-').padStart(9)} ${String(row.tokens).padStart(7)}\n`,
      );
    }
    out.write('\nfeature                overlap  KL      real mean  generated mean\n');
    for (const row of report.overlap) {
      out.write(
        `${row.feature.padEnd(22)} ${row.overlapArea.toFixed(3).padStart(7)} ${row.klDivergence.toFixed(3).padStart(7)} ` +
          `${row.real.mean.toFixed(3).padStart(10)} ${row.generated.mean.toFixed(3).padStart(15)}\n`,
      );
    }
    const o = report.originality;
    out.write(
      `\nlongest run copied from the training data (${o.samples} samples): p50 ${o.longestCopiedRun.p50}, p95 ${o.longestCopiedRun.p95}, ` +
        `max ${o.longestCopiedRun.max}; ≤ 16 notes in ${(o.fractionAtMost16 * 100).toFixed(1)}% of samples\n`,
    );
    if (values.json) writeJsonResult(report);
    return 0;
  } catch (error) {
    bar.finish();
    return reportCliError(error);
  }
}

process.exitCode = await main();
