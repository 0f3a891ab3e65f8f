/**
 * `npm run ensemble -- --model DIR --add DIR [--add DIR …] --data DIR` (options: ENSEMBLE_CLI below, or `--help`).
 *
 * Makes the model an ensemble of its own network and the added ones (see build-ensemble.ts): it
 * then composes, and `npm run eval` scores it, as their mixture.
 */
import { resolve } from 'node:path';
import { buildEnsemble } from '../ml/training/build-ensemble.js';
import { defineCli, EXIT_CODES_NOTE } from './define-cli.js';
import { reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

export const ENSEMBLE_CLI = defineCli({
  name: 'ensemble',
  summary: 'Make a model an ensemble: copy other networks with the same tokens into its folder, fit their mixture weights and refit the copy cache on the validation pieces.',
  options: {
    model: { type: 'string', placeholder: 'DIR', required: true, description: 'the model folder to update (a single network)' },
    add: { type: 'string', placeholder: 'DIR', required: true, multiple: true, description: 'a model folder whose network joins the ensemble (repeat for more)' },
    data: { type: 'string', placeholder: 'DIR', required: true, multiple: true, description: 'the corpus folder(s) they were trained on; their validation split is used' },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  notes: [EXIT_CODES_NOTE],
});

if (isEntryPoint(import.meta.url)) process.exitCode = await runCliMain(ENSEMBLE_CLI, async ({ values }) => {
  try {
    const result = await buildEnsemble(resolve(values.model), values.add.map((d) => resolve(d)), values.data.map((d) => resolve(d)));
    const alone = result.validNllPerToken.networks.map((n) => n.toFixed(4)).join(', ');
    process.stderr.write(
      `ensemble of ${result.weights.length} networks fitted on ${result.validPieces} validation pieces: ` +
        `weights ${result.weights.map((w) => w.toFixed(3)).join(', ')}; NLL/token alone ${alone}, mixed ` +
        `${result.validNllPerToken.mixture.toFixed(4)}, with the copy cache ${result.cache.validNllPerTokenWithCache.toFixed(4)}\n`,
    );
    if (values.json) writeJsonResult(result);
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
});
