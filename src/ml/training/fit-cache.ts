/**
 * Fits a model's copy cache (see ../copy-cache.ts) on the validation split of its data and records
 * it in the model's spec. Runs after training, and on its own for models trained before the cache.
 */
import { MotifError } from '../../errors.js';
import { loadCorpus, splitCorpus } from '../../music/corpus.js';
import { encodingPositions, type Tokenizer } from '../../music/tokenizers/index.js';
import type { CopyCacheConfig } from '../copy-cache.js';
import { scoreModelPieces } from '../ensemble.js';
import { fitCopyCache, totalNll, type PieceScores } from '../evaluation/piece-scoring.js';
import { assertValidationHeldOut, disposeModel, loadModel, rewriteSpec, type ModelSpec } from '../model-dir.js';
import { LanguageModel } from '../network/language-model.js';

export interface FitCacheResult {
  copyCache: CopyCacheConfig;
  validPieces: number;
  /** Validation NLL per token without and with the cache. */
  validNllPerToken: number;
  validNllPerTokenWithCache: number;
}

/**
 * @throws MotifError DATA_EMPTY (no validation pieces), MODEL_* (unusable model), TRAINING_FAILED
 *   for the tutorial network, which has no per-token scores.
 */
export async function fitModelCopyCache(modelDir: string, dataDirs: string[], opts: { minMatch?: number } = {}): Promise<FitCacheResult> {
  const model = await loadModel(modelDir);
  try {
    if (!(model.network instanceof LanguageModel)) {
      throw new MotifError('TRAINING_FAILED', 'The copy cache needs a default-architecture model (`--arch lm`).');
    }
    assertValidationHeldOut(model.spec, 'This model');
    const split = splitCorpus((await loadCorpus(dataDirs)).pieces);
    if (split.valid.length === 0) throw new MotifError('DATA_EMPTY', 'The data has no validation pieces to fit the copy cache on.');
    const pieces = split.valid.map((p) => model.tokenizer.encode(p.sequence, { onUnknown: 'skip' }));
    return await fitScoredCopyCache(modelDir, model.spec, model.tokenizer, pieces, scoreModelPieces(model, pieces), opts);
  } finally {
    disposeModel(model);
  }
}

/**
 * Fits the cache on validation pieces the model has already scored (its network's or its
 * ensemble's scores) and writes it, with the metrics, into `spec` at `modelDir`.
 */
export async function fitScoredCopyCache(
  modelDir: string,
  spec: ModelSpec,
  tokenizer: Tokenizer,
  pieces: readonly (readonly number[])[],
  scores: PieceScores,
  opts: { minMatch?: number } = {},
): Promise<FitCacheResult> {
  const phasesOf = (ids: readonly number[]): Int32Array | undefined => encodingPositions(tokenizer, ids);
  const copyCache = fitCopyCache(pieces, scores, { ...opts, phasesOf, stride: tokenizer.tokensPerStep });
  const without = totalNll(pieces, scores);
  const withCache = totalNll(pieces, scores, copyCache, phasesOf);
  const result: FitCacheResult = {
    copyCache,
    validPieces: pieces.length,
    validNllPerToken: without.nll / without.count,
    validNllPerTokenWithCache: withCache.nll / withCache.count,
  };
  await rewriteSpec(modelDir, {
    ...spec,
    copyCache,
    metrics: { ...spec.metrics, validNllPerTokenWholePieces: result.validNllPerToken, validNllPerTokenWithCache: result.validNllPerTokenWithCache },
  });
  return result;
}
