/**
 * `npm run fit-cache -- --model DIR --data DIR [--data DIR] [--min-match N] [--json]`
 *
 * Fits the model's copy cache on the validation split of the data it was trained on and writes it
 * into the model's spec.json (training does this itself; this is for older models and refits).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fitModelCopyCache } from '../ml/training/fit-cache.js';
import { reportCliError, writeJsonResult } from './progress.js';

const USAGE = 'usage: npm run fit-cache -- --model DIR --data DIR [--data DIR] [--min-match N] [--json]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        model: { type: 'string' },
        data: { type: 'string', multiple: true },
        'min-match': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help || !values.model || !values.data?.length) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const minMatch = values['min-match'] === undefined ? undefined : Number(values['min-match']);
  if (minMatch !== undefined && (!Number.isInteger(minMatch) || minMatch < 1 || minMatch > 64)) {
    process.stderr.write(`--min-match must be a whole number from 1 to 64\n`);
    return 2;
  }
  try {
    const result = await fitModelCopyCache(resolve(values.model), values.data.map((d) => resolve(d)), { minMatch });
    process.stderr.write(
      `copy cache fitted on ${result.validPieces} validation pieces: NLL/token ${result.validNllPerToken.toFixed(4)} → ` +
        `${result.validNllPerTokenWithCache.toFixed(4)}; λ by match length ${result.copyCache.bucketEdges.map((e, i) => `${e}+: ${result.copyCache.lambdas[i]}`).join(', ')}\n`,
    );
    if (values.json) writeJsonResult(result);
    return 0;
  } catch (error) {
    return reportCliError(error);
  }
}

process.exitCode = await main();
