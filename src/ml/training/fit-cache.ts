/**
 * Fits a model's copy cache (see ../copy-cache.ts) on the validation split of its data and records
 * it in the model's spec. Runs after training, and on its own for models trained before the cache.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MotifError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { loadCorpus, splitCorpus } from '../../music/corpus.js';
import { encodingPositions, type Tokenizer } from '../../music/tokenizers/index.js';
import type { CopyCacheConfig } from '../copy-cache.js';
import { scoreModelPieces } from '../ensemble.js';
import {
  CorpusIndex,
  corpusMixedLogProbability,
  DEFAULT_CORPUS_BUCKET_EDGES,
  DEFAULT_CORPUS_MAX_MATCH,
  encodeCorpus,
  fitCorpusWeights,
  observeCorpus,
  supportsCorpusPointer,
  type CorpusPointerConfig,
  type PitchTokens,
} from '../corpus-pointer.js';
import { cacheLogProbabilities, fitCopyCache, totalNll, type PieceScores } from '../evaluation/piece-scoring.js';
import { assertValidationHeldOut, CORPUS_FILE, disposeModel, loadModel, rewriteSpec, type ModelSpec } from '../model-dir.js';
import { LanguageModel } from '../network/language-model.js';

export interface FitCacheResult {
  copyCache: CopyCacheConfig;
  validPieces: number;
  /** Validation NLL per token without and with the cache. */
  validNllPerToken: number;
  validNllPerTokenWithCache: number;
  /** The corpus pointer, when the encoding has one and it lowered the validation NLL (see fitCorpusPointer). */
  corpusPointer?: CorpusPointerConfig;
  /** Validation NLL per token with the cache and the corpus pointer. */
  validNllPerTokenWithCorpusPointer?: number;
}

export interface FitCacheOptions {
  /** The copy cache's shortest match (its first bucket edge). */
  minMatch?: number;
  /** Token ids of the training pieces (never the validation ones): the corpus the pointer is fitted with and ships with. */
  corpus?: readonly (readonly number[])[];
}

/**
 * @throws MotifError DATA_EMPTY (no validation pieces), MODEL_* (unusable model), TRAINING_FAILED
 *   for the tutorial network, which has no per-token scores.
 */
export async function fitModelCopyCache(modelDir: string, dataDirs: string[], opts: Pick<FitCacheOptions, 'minMatch'> = {}): Promise<FitCacheResult> {
  const model = await loadModel(modelDir);
  try {
    if (!(model.network instanceof LanguageModel)) {
      throw new MotifError('TRAINING_FAILED', 'The copy cache needs a default-architecture model (`--arch lm`).');
    }
    assertValidationHeldOut(model.spec, 'This model');
    const split = splitCorpus((await loadCorpus(dataDirs)).pieces);
    if (split.valid.length === 0) throw new MotifError('DATA_EMPTY', 'The data has no validation pieces to fit the copy cache on.');
    const encode = (list: typeof split.valid): number[][] => list.map((p) => model.tokenizer.encode(p.sequence, { onUnknown: 'skip' }));
    const pieces = encode(split.valid);
    const corpus = supportsCorpusPointer(model.tokenizer) ? encode(split.train) : undefined;
    return await fitScoredCopyCache(modelDir, model.spec, model.tokenizer, pieces, scoreModelPieces(model, pieces), { ...opts, corpus });
  } finally {
    disposeModel(model);
  }
}

/**
 * Fits the cache on validation pieces the model has already scored (its network's or its
 * ensemble's scores) and, with `opts.corpus` and an encoding that has one, the corpus pointer on top
 * of it; writes them, with the metrics, into `spec` at `modelDir` (the corpus file first, so a spec
 * never names a pointer without its pieces).
 */
export async function fitScoredCopyCache(
  modelDir: string,
  spec: ModelSpec,
  tokenizer: Tokenizer,
  pieces: readonly (readonly number[])[],
  scores: PieceScores,
  opts: FitCacheOptions = {},
): Promise<FitCacheResult> {
  const phasesOf = (ids: readonly number[]): Int32Array | undefined => encodingPositions(tokenizer, ids);
  const copyCache = fitCopyCache(pieces, scores, { minMatch: opts.minMatch, phasesOf, stride: tokenizer.tokensPerStep });
  const without = totalNll(pieces, scores);
  const withCache = totalNll(pieces, scores, { cache: copyCache, phasesOf });
  const result: FitCacheResult = {
    copyCache,
    validPieces: pieces.length,
    validNllPerToken: without.nll / without.count,
    validNllPerTokenWithCache: withCache.nll / withCache.count,
  };
  const pointer =
    opts.corpus && supportsCorpusPointer(tokenizer) ? fitCorpusPointer(pieces, cacheLogProbabilities(pieces, scores, { cache: copyCache, phasesOf }), opts.corpus, tokenizer) : undefined;
  const kept = pointer && pointer.nll < withCache.nll ? pointer : undefined;
  if (kept) {
    result.corpusPointer = kept.config;
    result.validNllPerTokenWithCorpusPointer = kept.nll / withCache.count;
    await writeFileAtomic(join(modelDir, CORPUS_FILE), encodeCorpus(opts.corpus!));
  } else {
    await rm(join(modelDir, CORPUS_FILE), { force: true });
  }
  const metrics: Record<string, number> = { ...spec.metrics, validNllPerTokenWholePieces: result.validNllPerToken, validNllPerTokenWithCache: result.validNllPerTokenWithCache };
  if (kept) metrics.validNllPerTokenWithCorpusPointer = result.validNllPerTokenWithCorpusPointer!;
  else delete metrics.validNllPerTokenWithCorpusPointer;
  const { corpusPointer: _dropped, ...rest } = spec;
  await rewriteSpec(modelDir, { ...rest, copyCache, ...(kept ? { corpusPointer: kept.config } : {}), metrics });
  return result;
}

/**
 * μ per voice and match length for the corpus pointer (corpus-pointer.ts), on validation pieces
 * whose scores (`logs`, the networks with the cache) are in hand, `corpus` being the training pieces.
 */
function fitCorpusPointer(
  pieces: readonly (readonly number[])[],
  logs: readonly ArrayLike<number>[],
  corpus: readonly (readonly number[])[],
  tokenizer: Tokenizer & PitchTokens & { tokensPerStep: number },
): { config: CorpusPointerConfig; nll: number } {
  const shape = { stride: tokenizer.tokensPerStep, minMatch: DEFAULT_CORPUS_BUCKET_EDGES[0]!, maxMatch: DEFAULT_CORPUS_MAX_MATCH, bucketEdges: [...DEFAULT_CORPUS_BUCKET_EDGES] };
  const index = new CorpusIndex(corpus, shape, tokenizer);
  const observations = pieces.flatMap((ids, i) => observeCorpus(ids, logs[i]!, index, shape));
  const config = { ...shape, weights: fitCorpusWeights(observations, shape.stride, shape.bucketEdges.length) };
  return { config, nll: observations.reduce((sum, o) => sum - corpusMixedLogProbability(o, config.weights), 0) };
}
