/**
 * `npm run eval -- --model DIR (--data DIR… | --test DIR… [--data DIR…]) [--baseline DIR] [--samples N] [--length N]
 *   [--temperature T] [--random-seed N] [--json]`
 *
 * Prints the likelihood table (ours vs baselines, same encoding), the Yang & Lerch overlap table and
 * the originality distribution; with --json the last stdout line is the whole report.
 */
import { resolve } from 'node:path';
import { evaluateModel } from '../ml/evaluation/evaluate.js';
import { parseStyle, STYLE_NAMES } from '../jobs/styles.js';
import { defineCli, EXIT_CODES_NOTE, UsageError } from './define-cli.js';
import { createProgressBar, reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

export const EVAL_CLI = defineCli({
  name: 'eval',
  summary: 'Score a model on held-out pieces: likelihood vs baselines, musical statistics, originality.',
  options: {
    model: { type: 'string', placeholder: 'DIR', required: true, description: 'the model folder to evaluate' },
    data: { type: 'string', placeholder: 'DIR', multiple: true, description: 'corpus folder(s): the held-out split is scored, or with --test only the baselines train on them' },
    test: { type: 'string', placeholder: 'DIR', multiple: true, description: 'score every piece of these folders as held out (the JSB folder: its published test split)' },
    baseline: { type: 'string', placeholder: 'DIR', description: 'another model folder to compare with (same encoding)' },
    'baseline-tokens': { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, default: 20_000, description: 'tokens scored for slow baselines' },
    samples: { type: 'int', min: 0, max: 10_000, default: 100, description: 'pieces to generate for the statistics (0: likelihood only)' },
    length: { type: 'int', min: 1, max: 2000, default: 100, description: 'notes-or-chords per generated piece' },
    style: { type: 'string', choices: STYLE_NAMES, description: 'sample as this style composes: its temperature, top-p and rules (the flags below override)' },
    temperature: { type: 'number', min: 0.05, max: 5, description: 'sampling temperature for the generated pieces (default: the style’s, else 1)' },
    'top-p': { type: 'number', min: 0.01, max: 1, placeholder: 'P', description: 'nucleus sampling for the generated pieces (default: the style’s, else 1 = off)' },
    'no-cache': { type: 'boolean', description: 'generate with the LSTM alone, without the model’s copy cache' },
    'no-cadence': { type: 'boolean', description: 'do not guide the last note-or-chord to the tonic' },
    monophonic: { type: 'boolean', description: 'one note per onset in the samples (a style rule; on for --style folk)' },
    'unbroken-voices': { type: 'boolean', description: 'no voice rests alone in the samples, all four may breathe together (a style rule; on for --style chorale)' },
    'temper-pitches-only': { type: 'boolean', description: 'temperature and top-p reshape only the choice of pitch, not holds and rests (a style rule; on for --style chorale)' },
    'out-of-key-weight': { type: 'number', min: 0, max: 1, placeholder: 'W', description: 'with a key kept: out-of-key pitches W times as likely instead of refused (default: the style’s, else refused)' },
    'in-one-key': { type: 'boolean', description: 'keep each sample in one key chosen at random (a style rule; on for --style chorale)' },
    'no-silence-guard': { type: 'boolean', description: 'let samples leave whole beats silent (the guard refuses such time steps)' },
    'random-seed': { type: 'int', min: 0, max: 2 ** 31 - 1, default: 1, description: 'makes the samples reproducible' },
    json: { type: 'boolean', description: 'print the whole report as one JSON object on the last line of stdout' },
  },
  notes: [EXIT_CODES_NOTE],
});

if (isEntryPoint(import.meta.url)) process.exitCode = await runCliMain(EVAL_CLI, async ({ values }) => {
  if (!values.data?.length && !values.test?.length) throw new UsageError('--data or --test is required: the pieces to score (see npm run eval -- --help)');
  const style = values.style === undefined ? undefined : parseStyle(values.style);
  const bar = createProgressBar({ label: 'evaluating' });
  try {
    const report = await evaluateModel({
      modelDir: resolve(values.model),
      dataDirs: (values.data ?? []).map((d) => resolve(d)),
      testDirs: values.test?.map((d) => resolve(d)),
      baselineDir: values.baseline ? resolve(values.baseline) : undefined,
      maxBaselineTokens: values['baseline-tokens'],
      samples: values.samples,
      sampleLength: values.length,
      temperature: values.temperature ?? style?.temperature ?? 1,
      topP: values['top-p'] ?? style?.topP ?? 1,
      // The style's rules, each flag turning one on (or setting the weight) on top.
      rules: {
        ...style?.rules,
        monophonic: values.monophonic || style?.rules.monophonic,
        unbrokenVoices: values['unbroken-voices'] || style?.rules.unbrokenVoices,
        temperPitchesOnly: values['temper-pitches-only'] || style?.rules.temperPitchesOnly,
        inOneKey: values['in-one-key'] || style?.rules.inOneKey,
        outOfKeyWeight: values['out-of-key-weight'] ?? style?.rules.outOfKeyWeight,
      },
      noCache: values['no-cache'],
      cadence: !values['no-cadence'],
      silenceGuard: !values['no-silence-guard'],
      randomSeed: values['random-seed'],
      onProgress: (stage, fraction) => bar.update(fraction, stage),
    });
    bar.finish();
    const out = process.stderr;
    out.write(`\n${report.model} on ${report.testPieces} held-out pieces (${report.testTokens} ${report.encoding} tokens, ${report.testNotes} notes)\n\n`);
    out.write(
      `total NLL ${report.totalNll.toFixed(0)} nats over ${report.test16thSteps} 16th steps: ${report.nllPer16thStep.toFixed(4)} per 16th step, ` +
        `${report.nllPerQuarterFrame.toFixed(3)} per quarter frame (each piece scored from its start, state carried through)\n` +
        (report.totalNllWithoutCorpusPointer !== undefined
          ? `with the corpus pointer into the training pieces; without it, as the model composes: ${report.totalNllWithoutCorpusPointer.toFixed(0)} nats, ` +
            `${(report.totalNllWithoutCorpusPointer / Math.max(1, report.test16thSteps)).toFixed(4)} per 16th step\n`
          : '') +
        '\n',
    );
    out.write('model                                                          NLL/token  NLL/note  accuracy  tokens\n');
    for (const row of report.likelihood) {
      out.write(
        `${row.model.slice(0, 62).padEnd(62)} ${row.nllPerToken.toFixed(4).padStart(9)} ${(row.nllPerNote?.toFixed(3) ?? '-').padStart(9)} ` +
          `${(row.accuracy !== undefined ? (row.accuracy * 100).toFixed(1) + '%' : '-').padStart(9)} ${String(row.tokens).padStart(7)}\n`,
      );
    }
    // "real openings": the held-out pieces' own openings scored the same way, the reference per row.
    out.write('\nfeature                overlap  KL      real mean  generated mean  real openings\n');
    report.overlap.forEach((row, i) => {
      const opening = report.openingsOverlap[i]?.overlapArea.toFixed(3) ?? '-';
      out.write(
        `${row.feature.padEnd(22)} ${row.overlapArea.toFixed(3).padStart(7)} ${row.klDivergence.toFixed(3).padStart(7)} ` +
          `${row.real.mean.toFixed(3).padStart(10)} ${row.generated.mean.toFixed(3).padStart(15)} ${opening.padStart(14)}\n`,
      );
    });
    if (report.overlap.length > 0) out.write(`(real openings: the first ${report.openingsLength} notes-or-chords of the ${report.openingsPieces} held-out pieces longer than that)\n`);
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
});
