/**
 * The copy cache: music repeats itself (strains played twice, a chorale's first two phrases, a
 * returning theme), and an LSTM trained on short windows cannot recall a passage from hundreds of
 * tokens back. Like the cache language models of Kuhn & De Mori (1990) and Grave et al. (2017), we
 * mix the network's distribution with a pointer into the piece's own past:
 *
 *   p(x) = (1 − λ(m)) · p_lstm(x) + λ(m) · [x = the token that followed the earlier occurrence]
 *
 * where the earlier occurrence is the most recent one of the longest suffix of the context (at least
 * `minMatch` tokens, so chance coincidences do not count) and λ depends on the match length m. λ per
 * length bucket is fitted on validation data by maximum likelihood; it is 0 where copying does not
 * help. Only the piece's own past is used, so the mixture is a proper causal distribution, and the
 * same mixture samples pieces whose phrases return.
 *
 * Where the encoding knows each token's place in the bar (`event`: Tokenizer.createPositionTracker),
 * the cache may count an earlier occurrence only at the same place (`samePlace`). A passage that
 * returns a beat later is then not copied with its old BAR token, which jumped to the bar line over
 * a silent beat: with the cache, nine in ten of the folk samples' empty beats came from such copies.
 * Whether it does is fitted like λ, on validation pieces: it helps the folk tunes, whose bars are
 * where the encoding puts them, and costs the piano pieces, whose pick-ups and meter changes move
 * the bar lines the encoding counts from step 0.
 */
export interface CopyCacheConfig {
  /** Shortest suffix match (tokens) that predicts anything. */
  minMatch: number;
  /** Matches are measured up to this length (longer ones count as this long). */
  maxMatch: number;
  /** Lower edges of the match-length buckets, ascending; the first is minMatch. */
  bucketEdges: number[];
  /** λ per bucket, 0–1. */
  lambdas: number[];
  /** Count an earlier occurrence only at the same place in the bar, where the encoding knows it. Absent: anywhere. */
  samePlace?: boolean;
}

export const DEFAULT_BUCKET_EDGES: readonly number[] = [4, 6, 8, 12, 16, 24, 32, 48, 64, 96];

/**
 * Follows a token stream and, before each next token, tells which token the longest earlier match
 * of the recent context predicts, and how long that match is. O(maxMatch) per token.
 */
export class MatchFinder {
  private readonly history: number[] = [];
  /** Each token's place in the bar, when pushed with one. */
  private readonly phases: number[] = [];
  /** Hash of the last `minMatch` tokens → positions (index of the last token of that n-gram). */
  private readonly index = new Map<string, number[]>();

  constructor(
    private readonly minMatch: number,
    private readonly maxMatch: number,
  ) {}

  /** @param phase the token's place in the bar (see the file comment); undefined: matches anywhere. */
  push(id: number, phase?: number): void {
    this.history.push(id);
    if (phase !== undefined) this.phases[this.history.length - 1] = phase;
    const end = this.history.length - 1;
    if (end + 1 >= this.minMatch) {
      const key = this.key(end);
      const list = this.index.get(key);
      if (list) list.push(end);
      else this.index.set(key, [end]);
    }
  }

  /**
   * The predicted next token and the match length, or undefined when the last `minMatch` tokens
   * never occurred before (with a successor).
   */
  predict(): { token: number; length: number } | undefined {
    const end = this.history.length - 1;
    if (end + 1 < this.minMatch) return undefined;
    const list = this.index.get(this.key(end));
    if (!list || list.length < 2) return undefined;
    // Candidates: earlier ends of the same n-gram (the last entry is the current position). Look
    // at the most recent few and keep the longest match; ties go to the most recent.
    let best: { token: number; length: number } | undefined;
    for (let i = list.length - 2, looked = 0; i >= 0 && looked < 32; i--, looked++) {
      const candidate = list[i]!;
      if (this.phases[candidate] !== this.phases[end]) continue;
      let length = this.minMatch;
      while (length < this.maxMatch && candidate - length >= 0 && this.history[candidate - length] === this.history[end - length]) length++;
      if (!best || length > best.length) best = { token: this.history[candidate + 1]!, length };
    }
    return best;
  }

  private key(end: number): string {
    return this.history.slice(end - this.minMatch + 1, end + 1).join(',');
  }
}

/** Bucket index of a match length (−1 below the first edge). */
export function bucketOf(edges: readonly number[], length: number): number {
  let bucket = -1;
  for (let i = 0; i < edges.length; i++) if (length >= edges[i]!) bucket = i;
  return bucket;
}

/** What the cache says before one token: the bucket of its match and whether its prediction was right. */
export interface CacheObservation {
  /** log p_lstm(actual token). */
  logProbability: number;
  bucket: number;
  hit: boolean;
}

/**
 * Walks a piece and pairs each predicted token with the cache's view of it.
 * @param phases each id's place in the bar, where the encoding knows it (see MatchFinder.push).
 */
export function observeCache(
  ids: readonly number[],
  logProbabilities: ArrayLike<number>,
  config: Pick<CopyCacheConfig, 'minMatch' | 'maxMatch' | 'bucketEdges'>,
  phases?: ArrayLike<number>,
): CacheObservation[] {
  const finder = new MatchFinder(config.minMatch, config.maxMatch);
  const out: CacheObservation[] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    finder.push(ids[t]!, phases?.[t]);
    const prediction = finder.predict();
    const logProbability = logProbabilities[t]!;
    if (Number.isNaN(logProbability)) continue;
    out.push({
      logProbability,
      bucket: prediction ? bucketOf(config.bucketEdges, prediction.length) : -1,
      hit: prediction !== undefined && prediction.token === ids[t + 1],
    });
  }
  return out;
}

/** log of the mixture's probability of the actual token. */
export function mixedLogProbability(observation: CacheObservation, lambdas: readonly number[]): number {
  const lambda = observation.bucket >= 0 ? (lambdas[observation.bucket] ?? 0) : 0;
  if (lambda === 0) return observation.logProbability;
  const p = (1 - lambda) * Math.exp(observation.logProbability) + (observation.hit ? lambda : 0);
  return Math.log(Math.max(p, 1e-30));
}

/** λ per bucket maximising the validation likelihood (a 1-D concave problem per bucket: grid, then refine). */
export function fitLambdas(observations: readonly CacheObservation[], bucketCount: number): number[] {
  const lambdas: number[] = [];
  for (let b = 0; b < bucketCount; b++) {
    const inBucket = observations.filter((o) => o.bucket === b);
    const score = (lambda: number): number =>
      inBucket.reduce((sum, o) => sum + Math.log(Math.max((1 - lambda) * Math.exp(o.logProbability) + (o.hit ? lambda : 0), 1e-30)), 0);
    let best = 0;
    let bestScore = score(0);
    for (let step = 1; step < 100; step++) {
      const lambda = step / 100;
      const s = score(lambda);
      if (s > bestScore) [best, bestScore] = [lambda, s];
    }
    for (const delta of [-0.005, 0.005, -0.0025, 0.0025]) {
      const lambda = Math.min(0.999, Math.max(0, best + delta));
      const s = score(lambda);
      if (s > bestScore) [best, bestScore] = [lambda, s];
    }
    lambdas.push(Number(best.toFixed(4)));
  }
  return lambdas;
}

/**
 * Mixes a next-token distribution given as logits with the cache's one-hot prediction.
 * @returns log-probabilities (usable as logits by the sampler).
 */
export function mixLogits(logits: Float32Array, prediction: { token: number; length: number } | undefined, config: CopyCacheConfig): Float32Array {
  const lambda = prediction ? (config.lambdas[bucketOf(config.bucketEdges, prediction.length)] ?? 0) : 0;
  if (!prediction || lambda === 0) return logits;
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const p = (1 - lambda) * (Math.exp(logits[i]! - max) / sum) + (i === prediction.token ? lambda : 0);
    out[i] = Math.log(Math.max(p, 1e-30));
  }
  return out;
}
