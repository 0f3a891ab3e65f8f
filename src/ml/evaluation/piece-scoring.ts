/**
 * Whole-piece scoring: each piece from its first token with the LSTM state carried to its last (no
 * windows, no resets), which is how the literature reports likelihoods. Pieces of similar length
 * share a batch; padding targets are skipped.
 */
import { DEFAULT_BUCKET_EDGES, DEFAULT_LINE_BUCKET_EDGES, fitLambdas, fitLineWeights, mixedLogProbability, observeCache, type CacheObservation, type CopyCacheConfig } from '../copy-cache.js';
import { corpusMixedLogProbability, observeCorpus, type ScoringCorpus } from '../corpus-pointer.js';
import type { LanguageModel } from '../network/language-model.js';

/** At most this many tokens in one batch (bounds the forward pass's memory). */
const BATCH_TOKENS = 32_768;

export interface PieceScores {
  /** Per piece, log p(ids[t+1] | ids[0..t]) for t = 0 … length−2. */
  logProbabilities: Float32Array[];
  /** Predicted tokens whose most likely id was the right one (undefined for an ensemble: see ensemble.ts). */
  correct?: number;
}

/**
 * @param positionsOf each piece's positions for a network with position input (see
 *   Tokenizer.createPositionTracker); default: the index within the piece.
 */
export function scoreWholePieces(
  network: LanguageModel,
  pieces: readonly (readonly number[])[],
  positionsOf?: (ids: readonly number[]) => Int32Array,
): PieceScores {
  const logProbabilities = pieces.map((ids) => new Float32Array(Math.max(0, ids.length - 1)));
  const order = pieces
    .map((_, i) => i)
    .filter((i) => pieces[i]!.length > 1)
    .sort((a, b) => pieces[a]!.length - pieces[b]!.length);
  let correct = 0;
  let at = 0;
  while (at < order.length) {
    const steps = (end: number): number => pieces[order[end - 1]!]!.length - 1;
    let end = at + 1;
    while (end < order.length && (end + 1 - at) * steps(end + 1) <= BATCH_TOKENS) end++;
    const time = steps(end);
    const batch = end - at;
    const inputs = new Int32Array(batch * time);
    const targets = new Int32Array(batch * time).fill(-1);
    // Padding inputs keep the index default (their targets are skipped).
    const positions = new Int32Array(batch * time).map((_, i) => i % time);
    for (let row = 0; row < batch; row++) {
      const ids = pieces[order[at + row]!]!;
      inputs.set(ids.slice(0, -1), row * time);
      targets.set(ids.slice(1), row * time);
      if (positionsOf) positions.set(positionsOf(ids).subarray(0, ids.length - 1), row * time);
    }
    const logs = network.targetLogProbabilities(inputs, targets, batch, time, positions);
    correct += network.evaluate(inputs, targets, batch, time, positions).correct;
    for (let row = 0; row < batch; row++) {
      const out = logProbabilities[order[at + row]!]!;
      out.set(logs.subarray(row * time, row * time + out.length));
    }
    at = end;
  }
  return { logProbabilities, correct };
}

/** Each piece's places in the bar for the copy cache (see MatchFinder.push); undefined: none. */
export type PhasesOf = (ids: readonly number[]) => ArrayLike<number> | undefined;

/** What the networks' scores are mixed with: the copy cache (and the bar places it reads), the corpus pointer. */
export interface ScoringMix {
  cache?: CopyCacheConfig;
  /** Read only by a cache with `samePlace`. */
  phasesOf?: PhasesOf;
  corpus?: ScoringCorpus;
}

/**
 * Per piece, log p of each next token with the copy cache mixed in (as scores.logProbabilities;
 * NaN where the networks gave none). The scores themselves without a cache.
 */
export function cacheLogProbabilities(pieces: readonly (readonly number[])[], scores: PieceScores, mix: Pick<ScoringMix, 'cache' | 'phasesOf'>): ArrayLike<number>[] {
  const { cache } = mix;
  if (!cache) return scores.logProbabilities;
  return pieces.map((ids, i) => {
    const logs = scores.logProbabilities[i]!;
    const observations = observeCache(ids, logs, cache, cache.samePlace ? mix.phasesOf?.(ids) : undefined);
    // observeCache skips the NaN scores, so its observations follow the others in order.
    let next = 0;
    return Float64Array.from(logs, (lp) => (Number.isNaN(lp) ? NaN : mixedLogProbability(observations[next++]!, cache)));
  });
}

/** Summed NLL of the scored pieces, with the copy cache and then the corpus pointer mixed in when given. */
export function totalNll(pieces: readonly (readonly number[])[], scores: PieceScores, mix: ScoringMix = {}): { nll: number; count: number } {
  const logs = cacheLogProbabilities(pieces, scores, mix);
  let nll = 0;
  let count = 0;
  pieces.forEach((ids, i) => {
    if (mix.corpus) {
      for (const o of observeCorpus(ids, logs[i]!, mix.corpus.index, mix.corpus.config)) {
        nll -= corpusMixedLogProbability(o, mix.corpus.config.weights);
        count++;
      }
      return;
    }
    if (!mix.cache) {
      // The networks' own scores, every one counted: a NaN shows in the total rather than vanishing from it.
      for (const lp of scores.logProbabilities[i]!) nll -= lp;
      count += scores.logProbabilities[i]!.length;
      return;
    }
    const mixed = logs[i]!;
    for (let t = 0; t < mixed.length; t++) {
      if (Number.isNaN(mixed[t]!)) continue; // skipped by the cache, as observeCache does
      nll -= mixed[t]!;
      count++;
    }
  });
  return { nll, count };
}

/**
 * Fits the cache's λ per match-length bucket on (validation) pieces scored by the network. With
 * `phasesOf` (an encoding that knows the bar), fits it both ways, matching anywhere and only at the
 * same place in the bar, and keeps the one with the lower NLL (see copy-cache.ts). With `stride`
 * (an encoding with that many tokens per time step), also fits the line pointer and keeps it when
 * it lowers the NLL.
 */
export function fitCopyCache(
  pieces: readonly (readonly number[])[],
  scores: PieceScores,
  opts: { minMatch?: number; maxMatch?: number; phasesOf?: PhasesOf; stride?: number } = {},
): CopyCacheConfig {
  const minMatch = opts.minMatch ?? DEFAULT_BUCKET_EDGES[0]!;
  const maxMatch = opts.maxMatch ?? 128;
  const bucketEdges = DEFAULT_BUCKET_EDGES.filter((edge) => edge >= minMatch && edge <= maxMatch);
  const base = { minMatch, maxMatch, bucketEdges };
  // Each piece's places once, for both fits and the comparison.
  const phases = new Map(pieces.map((ids) => [ids, opts.phasesOf?.(ids)]));
  const observe = (config: Parameters<typeof observeCache>[2], samePlace: boolean) =>
    pieces.flatMap((ids, i) => observeCache(ids, scores.logProbabilities[i]!, config, samePlace ? phases.get(ids) : undefined));
  // Each candidate is compared on the observations it was fitted on (what totalNll would walk again).
  const nllOf = (observations: readonly CacheObservation[], config: CopyCacheConfig): number =>
    observations.reduce((sum, o) => sum - mixedLogProbability(o, config), 0);
  const fit = (samePlace: boolean): { config: CopyCacheConfig; nll: number } => {
    const observations = observe(base, samePlace);
    const lambdas = fitLambdas(observations, bucketEdges.length);
    const config = samePlace ? { ...base, lambdas, samePlace } : { ...base, lambdas };
    return { config, nll: nllOf(observations, config) };
  };
  const anywhere = fit(false);
  let passage = anywhere.config;
  if (![...phases.values()].every((p) => p === undefined)) {
    const samePlace = fit(true);
    if (samePlace.nll < anywhere.nll) passage = samePlace.config;
  }
  if (!opts.stride || opts.stride < 2) return passage;
  const shape = { stride: opts.stride, minMatch: DEFAULT_LINE_BUCKET_EDGES[0]!, maxMatch: 64, bucketEdges: [...DEFAULT_LINE_BUCKET_EDGES] };
  // These observations hold the passage pointer's view too, so both candidates score on them.
  const observations = observe({ ...passage, lines: shape }, passage.samePlace === true);
  const withLines: CopyCacheConfig = { ...passage, lines: { ...shape, weights: fitLineWeights(observations, bucketEdges.length, shape) } };
  return nllOf(observations, withLines) < nllOf(observations, passage) ? withLines : passage;
}
