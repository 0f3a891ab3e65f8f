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
  /** The second pointer, into each voice's own line (see the file comment); with it, `lambdas` are unused. */
  lines?: LineCacheConfig;
}

/** The line pointer: lengths are counted in steps of the voice's own line. */
export interface LineCacheConfig {
  /** Tokens per time step: the line of the token at index i is every `stride`-th token before it. */
  stride: number;
  minMatch: number;
  maxMatch: number;
  /** Lower edges of the line's match-length buckets, ascending; the first is minMatch. */
  bucketEdges: number[];
  /**
   * Mixture weights [network, passage copy, line copy], summing to 1, per pair of buckets: row
   * (passage bucket + 1) · (line buckets + 1) + (line bucket + 1), bucket −1 meaning no match.
   */
  weights: number[][];
}

export const DEFAULT_LINE_BUCKET_EDGES: readonly number[] = [3, 4, 6, 8, 12, 16, 24, 32];

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
  predict(): Match | undefined {
    const end = this.history.length - 1;
    if (end + 1 < this.minMatch) return undefined;
    const list = this.index.get(this.key(end));
    if (!list || list.length < 2) return undefined;
    // Candidates: earlier ends of the same n-gram (the last entry is the current position). Look
    // at the most recent few and keep the longest match; ties go to the most recent.
    let best: Match | undefined;
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

/** One pointer's guess: the token that followed the longest earlier match, and the match's length. */
export interface Match {
  token: number;
  length: number;
}

/** What the cache predicts before one token: the passage's guess and, with `lines`, the voice line's. */
export interface CachePrediction {
  passage?: Match;
  line?: Match;
}

/** What the two pointers need to know: how long a match may be, and the line pointer's stride. */
type PointerShape = Pick<CopyCacheConfig, 'minMatch' | 'maxMatch'> & { lines?: Pick<LineCacheConfig, 'stride' | 'minMatch' | 'maxMatch'> };

/** Both pointers over one token stream (see the file comment). */
export class CachePredictor {
  private readonly passage: MatchFinder;
  /** One finder per place in the step: finder k sees the tokens at indices ≡ k (mod stride). */
  private readonly lines: MatchFinder[];
  private pushed = 0;

  constructor(config: PointerShape) {
    this.passage = new MatchFinder(config.minMatch, config.maxMatch);
    const lines = config.lines;
    this.lines = lines ? Array.from({ length: lines.stride }, () => new MatchFinder(lines.minMatch, lines.maxMatch)) : [];
  }

  /** @param phase the token's place in the bar, for a passage copied only at the same place (MatchFinder.push). */
  push(id: number, phase?: number): void {
    this.passage.push(id, phase);
    if (this.lines.length > 0) this.lines[this.pushed % this.lines.length]!.push(id);
    this.pushed++;
  }

  /** The guesses for the next token (index = tokens pushed so far). */
  predict(): CachePrediction {
    const line = this.lines.length > 0 ? this.lines[this.pushed % this.lines.length]!.predict() : undefined;
    return { passage: this.passage.predict(), line };
  }
}

/** Bucket index of a match length (−1 below the first edge). */
export function bucketOf(edges: readonly number[], length: number): number {
  let bucket = -1;
  for (let i = 0; i < edges.length; i++) if (length >= edges[i]!) bucket = i;
  return bucket;
}

/** What the cache says before one token: the buckets of its matches and whether their guesses were right. */
export interface CacheObservation {
  /** log p_lstm(actual token). */
  logProbability: number;
  bucket: number;
  hit: boolean;
  /** The line pointer's bucket (−1: no match or no line pointer) and whether it guessed right. */
  lineBucket: number;
  lineHit: boolean;
}

/** The pointers' shape (PointerShape) and the buckets their matches are counted in. */
type ObservedShape = PointerShape & Pick<CopyCacheConfig, 'bucketEdges'> & { lines?: Pick<LineCacheConfig, 'bucketEdges'> };

/**
 * Walks a piece and pairs each predicted token with the cache's view of it.
 * @param phases each id's place in the bar, where the encoding knows it (see MatchFinder.push).
 */
export function observeCache(ids: readonly number[], logProbabilities: ArrayLike<number>, config: ObservedShape, phases?: ArrayLike<number>): CacheObservation[] {
  const predictor = new CachePredictor(config);
  const out: CacheObservation[] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    predictor.push(ids[t]!, phases?.[t]);
    const { passage, line } = predictor.predict();
    const logProbability = logProbabilities[t]!;
    if (Number.isNaN(logProbability)) continue;
    out.push({
      logProbability,
      bucket: passage ? bucketOf(config.bucketEdges, passage.length) : -1,
      hit: passage !== undefined && passage.token === ids[t + 1],
      lineBucket: line && config.lines ? bucketOf(config.lines.bucketEdges, line.length) : -1,
      lineHit: line !== undefined && line.token === ids[t + 1],
    });
  }
  return out;
}

/** Index of a pair of buckets in LineCacheConfig.weights. */
function lineRow(lines: Pick<LineCacheConfig, 'bucketEdges'>, bucket: number, lineBucket: number): number {
  return (bucket + 1) * (lines.bucketEdges.length + 1) + (lineBucket + 1);
}

const NETWORK_ONLY: readonly [number, number, number] = [1, 0, 0];
/** The network keeps at least this weight in every fitted pair, as λ stays ≤ 0.999: no token's probability is ever all a pointer's. */
const MIN_NETWORK_WEIGHT = 0.001;

/** [network, passage copy, line copy] weights for a pair of buckets (−1: no match). */
export function mixtureWeights(config: Pick<CopyCacheConfig, 'lambdas' | 'lines'>, bucket: number, lineBucket: number): readonly [number, number, number] {
  if (config.lines) {
    const row = config.lines.weights[lineRow(config.lines, bucket, lineBucket)];
    return row ? [row[0]!, row[1]!, row[2]!] : NETWORK_ONLY;
  }
  const lambda = bucket >= 0 ? (config.lambdas[bucket] ?? 0) : 0;
  return lambda === 0 ? NETWORK_ONLY : [1 - lambda, lambda, 0];
}

/** log of the mixture's probability of the actual token. */
export function mixedLogProbability(observation: CacheObservation, config: Pick<CopyCacheConfig, 'lambdas' | 'lines'>): number {
  const [network, passage, line] = mixtureWeights(config, observation.bucket, observation.lineBucket);
  if (network === 1) return observation.logProbability;
  const p = network * Math.exp(observation.logProbability) + (observation.hit ? passage : 0) + (observation.lineHit ? line : 0);
  return Math.log(Math.max(p, 1e-30));
}

/**
 * The weight of a second distribution q in (1 − w)·p + w·q that maximises Σ log over the pairs: the
 * likelihood is concave in w, so a grid of 0.01 and a refinement find it. Kept ≤ 0.999, so the first
 * distribution never loses a token's whole probability.
 */
export function fitMixtureWeight(pairs: readonly { p: number; q: number }[]): number {
  const score = (w: number): number => pairs.reduce((sum, { p, q }) => sum + Math.log(Math.max((1 - w) * p + w * q, 1e-30)), 0);
  let best = 0;
  let bestScore = score(0);
  for (let step = 1; step < 100; step++) {
    const s = score(step / 100);
    if (s > bestScore) [best, bestScore] = [step / 100, s];
  }
  for (const delta of [-0.005, 0.005, -0.0025, 0.0025]) {
    const w = Math.min(0.999, Math.max(0, best + delta));
    const s = score(w);
    if (s > bestScore) [best, bestScore] = [w, s];
  }
  return Number(best.toFixed(4));
}

/** λ per bucket maximising the validation likelihood: the cache's guess is a distribution all on one token. */
export function fitLambdas(observations: readonly CacheObservation[], bucketCount: number): number[] {
  return Array.from({ length: bucketCount }, (_, b) =>
    fitMixtureWeight(observations.filter((o) => o.bucket === b).map((o) => ({ p: Math.exp(o.logProbability), q: o.hit ? 1 : 0 }))),
  );
}

/**
 * The three-part weights per pair of buckets that maximise the validation likelihood: EM on each
 * pair's observations (a mixture's weights, so every round raises the likelihood or keeps it), with
 * one virtual observation for the network and its weight kept ≥ 0.001. A pointer without a match
 * in a pair gets no weight there; a pair never seen predicts with the network alone.
 */
export function fitLineWeights(observations: readonly CacheObservation[], passageBuckets: number, lines: Pick<LineCacheConfig, 'bucketEdges'>): number[][] {
  const rows = (passageBuckets + 1) * (lines.bucketEdges.length + 1);
  const byRow = Array.from({ length: rows }, (): CacheObservation[] => []);
  for (const o of observations) byRow[lineRow(lines, o.bucket, o.lineBucket)]!.push(o);
  return byRow.map((list) => {
    if (list.length === 0) return [...NETWORK_ONLY];
    const canCopy = [true, list[0]!.bucket >= 0, list[0]!.lineBucket >= 0];
    let weights: number[] = canCopy.map((can, k) => (k === 0 ? 0.8 : can ? 0.1 : 0));
    for (let round = 0; round < 200; round++) {
      const responsibility = [0, 0, 0];
      for (const o of list) {
        const parts = [weights[0]! * Math.exp(o.logProbability), o.hit ? weights[1]! : 0, o.lineHit ? weights[2]! : 0];
        const total = parts[0]! + parts[1]! + parts[2]!;
        if (total > 0) parts.forEach((p, k) => (responsibility[k]! += p / total));
      }
      // One virtual observation credited to the network: a pair seen a few times, each a hit,
      // does not learn to trust a pointer blindly (a miss there would cost the token its whole probability).
      responsibility[0]! += 1;
      const next = responsibility.map((r) => r / (list.length + 1));
      const moved = Math.max(...next.map((w, k) => Math.abs(w - weights[k]!)));
      weights = next;
      if (moved < 1e-6) break;
    }
    const rounded = weights.map((w) => Number(w.toFixed(4)));
    rounded[0] = Number((1 - rounded[1]! - rounded[2]!).toFixed(4));
    if (rounded[0] < MIN_NETWORK_WEIGHT) {
      const scale = (1 - MIN_NETWORK_WEIGHT) / (rounded[1]! + rounded[2]!);
      rounded[1] = Number((rounded[1]! * scale).toFixed(4));
      rounded[2] = Number((rounded[2]! * scale).toFixed(4));
      rounded[0] = Number((1 - rounded[1]! - rounded[2]!).toFixed(4));
    }
    return rounded;
  });
}

/**
 * Mixes a next-token distribution given as logits with the cache's guesses.
 * @returns log-probabilities (usable as logits by the sampler); the logits themselves when the
 *   cache has nothing to add.
 */
export function mixLogits(logits: Float32Array, prediction: CachePrediction | undefined, config: CopyCacheConfig): Float32Array {
  const bucket = prediction?.passage ? bucketOf(config.bucketEdges, prediction.passage.length) : -1;
  const lineBucket = prediction?.line && config.lines ? bucketOf(config.lines.bucketEdges, prediction.line.length) : -1;
  const [network, passage, line] = mixtureWeights(config, bucket, lineBucket);
  if (network === 1) return logits;
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const p =
      network * (Math.exp(logits[i]! - max) / sum) +
      (i === prediction?.passage?.token ? passage : 0) +
      (i === prediction?.line?.token ? line : 0);
    out[i] = Math.log(Math.max(p, 1e-30));
  }
  return out;
}
