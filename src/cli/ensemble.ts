/**
 * `npm run ensemble -- --model DIR [--add DIR …] [--transpose N] --data DIR` (options: ENSEMBLE_CLI below, or `--help`).
 *
 * Makes the model an ensemble of its own network and the added ones, each also in transposed views
 * with `--transpose` (see build-ensemble.ts): it then composes, and `npm run eval` scores it, as
 * their mixture. `--refit DIR …` instead swaps its networks for their refits on more data, keeping
 * the mixture (refit-ensemble.ts).
 */
import { resolve } from 'node:path';
import { MAX_TRANSPOSITION } from '../ml/model-dir.js';
import { buildEnsemble } from '../ml/training/build-ensemble.js';
import { refitEnsemble } from '../ml/training/refit-ensemble.js';
import { defineCli, EXIT_CODES_NOTE, UsageError } from './define-cli.js';
import { reportCliError, writeJsonResult } from './progress.js';
import { isEntryPoint, runCliMain } from './run-cli.js';

export const ENSEMBLE_CLI = defineCli({
  name: 'ensemble',
  summary:
    'Make a model an ensemble: copy other networks with the same tokens into its folder and/or average transposed views, fit the mixture weights and refit the copy cache on the validation pieces. Or, with --refit, swap its networks for their refits on more data and keep what was fitted.',
  options: {
    model: { type: 'string', placeholder: 'DIR', required: true, description: 'the model folder to update (a single network; with --refit, the ensemble or network to refit)' },
    add: { type: 'string', placeholder: 'DIR', multiple: true, description: 'a model folder whose network joins the ensemble (repeat for more)' },
    transpose: {
      type: 'int',
      min: 1,
      max: MAX_TRANSPOSITION,
      placeholder: 'N',
      description: 'every network also predicts from the piece moved 1…N semitones up and down; the views are averaged (voices encoding)',
    },
    data: { type: 'string', placeholder: 'DIR', multiple: true, description: 'the corpus folder(s) they were trained on; their validation split is used (required unless --refit)' },
    refit: {
      type: 'string',
      placeholder: 'DIR',
      multiple: true,
      description:
        'instead: one folder per network (the model\'s own first, then its members) refitted on more data (train --from it --train-on-valid); the weights, views and copy cache fitted with the held-out networks stay',
    },
    json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
  },
  notes: [EXIT_CODES_NOTE],
});

if (isEntryPoint(import.meta.url)) process.exitCode = await runCliMain(ENSEMBLE_CLI, async ({ values }) => {
  if (values.refit?.length) {
    if (values.add?.length || values.transpose !== undefined || values.data?.length) {
      throw new UsageError('--refit swaps the networks and keeps everything fitted; it takes no --add, --transpose or --data');
    }
    try {
      const result = await refitEnsemble(resolve(values.model), values.refit.map((d) => resolve(d)));
      const kept = `${result.networks > 1 ? 'the mixture weights, views and copy cache are kept' : 'its views and copy cache are kept'}${result.corpusPieces !== undefined ? `; the corpus pointer now points into the ${result.corpusPieces} pieces they trained on` : ''}`;
      process.stderr.write(`${result.networks > 1 ? `${result.networks} networks swapped for their refits` : 'the network swapped for its refit'} on ${result.trainPieces} pieces; ${kept}\n`);
      if (values.json) writeJsonResult(result);
      return 0;
    } catch (error) {
      return reportCliError(error);
    }
  }
  if (!values.data?.length) throw new UsageError('--data is required: the corpus the networks were trained on, whose validation pieces fit the mixture (see npm run ensemble -- --help)');
  const added = (values.add ?? []).map((d) => resolve(d));
  if (added.length === 0 && values.transpose === undefined) {
    throw new UsageError('--add or --transpose is required: other networks to join the model, transposed views, or both (see npm run ensemble -- --help)');
  }
  try {
    const result = await buildEnsemble(resolve(values.model), added, values.data.map((d) => resolve(d)), { transpose: values.transpose });
    const alone = result.validNllPerToken.networks.map((n) => n.toFixed(4)).join(', ');
    process.stderr.write(
      `ensemble of ${result.weights.length} network${result.weights.length > 1 ? 's' : ''} fitted on ${result.validPieces} validation pieces: ` +
        `weights ${result.weights.map((w) => w.toFixed(3)).join(', ')}` +
        `${result.transpositions ? `, each in ${result.transpositions.length} transposed views` : ''}; NLL/token alone ${alone}, mixed ` +
        `${result.validNllPerToken.mixture.toFixed(4)}, with the copy cache ${result.cache.validNllPerTokenWithCache.toFixed(4)}` +
        `${result.cache.validNllPerTokenWithCorpusPointer !== undefined ? `, and the corpus pointer ${result.cache.validNllPerTokenWithCorpusPointer.toFixed(4)}` : ''}\n`,
    );
    if (values.json) writeJsonResult(result);
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
});
