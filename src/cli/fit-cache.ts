/**
 * `npm run fit-cache -- --model DIR --data DIR …` (options: FIT_CACHE_CLI below, or `--help`).
 *
 * Fits the model's copy cache on the validation split of the data it was trained on and writes it
 * into the model's spec.json (training does this itself; this is for older models and refits).
 */
import { resolve } from 'node:path';
import { fitModelCopyCache } from '../ml/training/fit-cache.js';
import { defineCli, EXIT_CODES_NOTE } from './define-cli.js';
import { reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

export const FIT_CACHE_CLI = defineCli({
  name: 'fit-cache',
  summary: 'Fit a model’s copy cache (λ per match length) on the validation pieces of its data and record it in its spec.json.',
  options: {
    model: { type: 'string', placeholder: 'DIR', required: true, description: 'the model folder to update' },
    data: { type: 'string', placeholder: 'DIR', required: true, multiple: true, description: 'the corpus folder(s) it was trained on; their validation split is used' },
    'min-match': { type: 'int', min: 1, max: 64, default: 4, description: 'shortest repeat (tokens) the cache may follow' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  notes: [EXIT_CODES_NOTE],
});

if (isEntryPoint(import.meta.url)) process.exitCode = await runCliMain(FIT_CACHE_CLI, async ({ values }) => {
  try {
    const result = await fitModelCopyCache(resolve(values.model), values.data.map((d) => resolve(d)), { minMatch: values['min-match'] });
    const lambdas = result.copyCache.bucketEdges.map((edge, i) => `${edge}+: ${result.copyCache.lambdas[i]}`).join(', ');
    process.stderr.write(
      `copy cache fitted on ${result.validPieces} validation pieces: NLL/token ${result.validNllPerToken.toFixed(4)} → ` +
        `${result.validNllPerTokenWithCache.toFixed(4)}; λ by match length ${lambdas}` +
        `${result.copyCache.samePlace ? '; copies only at the same place in the bar' : ''}` +
        `${result.copyCache.lines ? `; also copies each voice's own line (${result.copyCache.lines.stride} tokens a step)` : ''}` +
        `${result.validNllPerTokenWithCorpusPointer !== undefined ? `; with the corpus pointer into the training pieces ${result.validNllPerTokenWithCorpusPointer.toFixed(4)}` : ''}\n`,
    );
    if (values.json) writeJsonResult(result);
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
});
