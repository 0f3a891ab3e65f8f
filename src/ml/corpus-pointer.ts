/**
 * The corpus pointer: a pointer into the pieces the networks were trained on, where the copy cache
 * (copy-cache.ts) points only into the piece's own past. Bach harmonised many hymn tunes more than
 * once, and the JSB chorales' splits share them: 45% of the test chorales' two-bar soprano windows
 * occur, in some key, in the training and validation chorales. A network half-remembers such a
 * tune; the pointer finds it. As in retrieval language models (kNN-LM, Khandelwal et al. 2020), the
 * next token's probability is mixed with what followed the same context in the corpus:
 *
 *   p(x) = (1 − μ) · p_model(x) + μ · p_corpus(x)
 *
 * where p_model is the networks with the copy cache, and p_corpus is the share of x among the
 * tokens that followed the longest match of the voice's own line (the last `minMatch`…`maxMatch`
 * tokens at the same place in the time step) in the corpus lines at that place. Matches are by
 * intervals, so a tune sung in another key still matches and its continuation is moved into this
 * one. μ per place (voice) and match-length bucket is fitted on validation pieces with the training
 * pieces as the corpus (fit-cache.ts, build-ensemble.ts); networks refitted on both get a corpus of
 * both (refit-ensemble.ts). The corpus is what the networks trained on, so scoring held-out pieces
 * keeps them out of it; scoring pieces from elsewhere (`eval --test` on other data) does not check.
 *
 * Scoring only: composing leaves the pointer out. It exists to recognise a tune from the training
 * pieces and go on as Bach did, which is exactly the copying the originality guard forbids.
 */
import type { Tokenizer } from '../music/tokenizers/index.js';
import { bucketOf, fitMixtureWeight } from './copy-cache.js';

export interface CorpusPointerConfig {
  /** Tokens per time step: the line at place k is every token whose index ≡ k (mod stride). */
  stride: number;
  /** Shortest match (tokens of the line) that predicts; the first bucket edge. */
  minMatch: number;
  /** Matches are measured up to this length. */
  maxMatch: number;
  /** Lower edges of the match-length buckets, ascending. */
  bucketEdges: number[];
  /**
   * μ per place (row, 0 … stride−1) and bucket (column), 0–1. Places count from the piece's first
   * token (BOS): for the chorales, row 0 is the tenor, then soprano, bass, alto.
   */
  weights: number[][];
}

export const DEFAULT_CORPUS_BUCKET_EDGES: readonly number[] = [8, 12, 16, 20, 24, 32, 40, 48, 64];
/** Matches are measured up to four bars of a chorale voice; longer ones are as sure (μ 0.42–0.88 at 64). */
export const DEFAULT_CORPUS_MAX_MATCH = 64;

/** What the pointer needs of an encoding: pitch tokens it can read and move (voices). */
export type PitchTokens = Required<Pick<Tokenizer, 'pitchOf' | 'transposeId'>>;

/** Whether an encoding can have a corpus pointer: a fixed number of tokens per step, each with a readable pitch. */
export function supportsCorpusPointer(tokenizer: Tokenizer): tokenizer is Tokenizer & PitchTokens & { tokensPerStep: number } {
  return (tokenizer.tokensPerStep ?? 1) > 1 && tokenizer.pitchOf !== undefined && tokenizer.transposeId !== undefined;
}

/** The corpus's guess before one token: the longest match's length and the next token's probabilities. */
export interface CorpusGuess {
  place: number;
  length: number;
  next: ReadonlyMap<number, number>;
}

/** The pitch lines of a corpus, indexed by the intervals of their last `minMatch` tokens. */
export class CorpusIndex {
  /** lines[place][piece] = that place's tokens in the piece. */
  private readonly lines: number[][][];
  /** Per place: interval key → [piece, index of the token that follows] pairs, flattened. */
  private readonly index: Map<string, number[]>[];

  constructor(
    pieces: readonly (readonly number[])[],
    private readonly shape: Pick<CorpusPointerConfig, 'stride' | 'minMatch' | 'maxMatch'>,
    private readonly tokens: PitchTokens,
  ) {
    this.lines = Array.from({ length: shape.stride }, () => pieces.map(() => [] as number[]));
    pieces.forEach((ids, piece) => ids.forEach((id, i) => this.lines[i % shape.stride]![piece]!.push(id)));
    this.index = this.lines.map((byPiece) => {
      const map = new Map<string, number[]>();
      byPiece.forEach((line, piece) => {
        for (let next = shape.minMatch; next < line.length; next++) {
          const key = this.keyBefore(line, next);
          if (key === undefined) continue;
          const list = map.get(key);
          if (list) list.push(piece, next);
          else map.set(key, [piece, next]);
        }
      });
      return map;
    });
  }

  /**
   * What followed the longest match of `line` (the place's tokens so far) in the corpus lines at
   * `place`, moved into `line`'s key; undefined when its last `minMatch` tokens match nowhere.
   */
  guess(place: number, line: readonly number[]): CorpusGuess | undefined {
    const key = this.keyBefore(line, line.length);
    const list = key === undefined ? undefined : this.index[place]!.get(key);
    if (!list) return undefined;
    const last = line[line.length - 1]!;
    let best = 0;
    let counts = new Map<number, number>();
    for (let k = 0; k < list.length; k += 2) {
      const other = this.lines[place]![list[k]!]!;
      const next = list[k + 1]!;
      const length = this.minMatch + this.extension(line, other, next);
      if (length < best) continue;
      // A continuation that cannot be moved into this key (beyond the vocabulary) is no guess at all,
      // so it does not hide a shorter match's usable one.
      const id = this.moved(other[next]!, other[next - 1]!, last);
      if (id === undefined) continue;
      if (length > best) [best, counts] = [length, new Map()];
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    let total = 0;
    for (const c of counts.values()) total += c;
    if (total === 0) return undefined;
    const next = new Map([...counts].map(([id, c]) => [id, c / total]));
    return { place, length: best, next };
  }

  private get minMatch(): number {
    return this.shape.minMatch;
  }

  /** How many tokens before the common `minMatch` the two lines keep the same intervals. */
  private extension(line: readonly number[], other: readonly number[], otherNext: number): number {
    const room = Math.min(this.shape.maxMatch, line.length, otherNext) - this.minMatch;
    let extra = 0;
    while (extra < room) {
      const a = line.length - this.minMatch - extra;
      const b = otherNext - this.minMatch - extra;
      const ia = this.interval(line[a - 1]!, line[a]!);
      if (ia === undefined || ia !== this.interval(other[b - 1]!, other[b]!)) break;
      extra++;
    }
    return extra;
  }

  /**
   * The corpus's next token moved as far as the two lines' last pitches are apart; a token without a
   * pitch stays. (An encoding that spells the place in the beat into its ids, voices with 16
   * positions, keeps the corpus's place: a continuation from another place in the beat then guesses
   * an id that cannot come, and the fitted μ is the lower for it.)
   */
  private moved(corpusNext: number, corpusLast: number, last: number): number | undefined {
    if (this.tokens.pitchOf(corpusNext) === undefined) return corpusNext;
    return this.tokens.transposeId(corpusNext, this.tokens.pitchOf(last)! - this.tokens.pitchOf(corpusLast)!);
  }

  private interval(a: number, b: number): number | undefined {
    const pa = this.tokens.pitchOf(a);
    const pb = this.tokens.pitchOf(b);
    return pa === undefined || pb === undefined ? undefined : pb - pa;
  }

  /** The intervals of the `minMatch` tokens before index `end` of a line, or undefined when one has no pitch. */
  private keyBefore(line: readonly number[], end: number): string | undefined {
    if (end < this.minMatch) return undefined;
    const intervals: number[] = [];
    for (let i = end - this.minMatch + 1; i < end; i++) {
      const interval = this.interval(line[i - 1]!, line[i]!);
      if (interval === undefined) return undefined;
      intervals.push(interval);
    }
    if (this.tokens.pitchOf(line[end - 1]!) === undefined) return undefined;
    return intervals.join(',');
  }
}

/** A corpus pointer ready to predict: its settings and the index of the pieces it points into. */
export interface ScoringCorpus {
  config: CorpusPointerConfig;
  index: CorpusIndex;
}

/** Follows one piece's tokens and asks the index before each next one. */
export class CorpusPointer {
  private readonly lines: number[][];
  private pushed = 0;

  constructor(
    private readonly index: CorpusIndex,
    private readonly stride: number,
  ) {
    this.lines = Array.from({ length: stride }, () => []);
  }

  push(id: number): void {
    this.lines[this.pushed % this.stride]!.push(id);
    this.pushed++;
  }

  /** The corpus's guess for the next token (index = tokens pushed so far). */
  guess(): CorpusGuess | undefined {
    const place = this.pushed % this.stride;
    return this.index.guess(place, this.lines[place]!);
  }
}

/** One scored token as the pointer sees it: the model's probability and the corpus's, and where μ is read. */
export interface CorpusObservation {
  /** log p_model(actual token): the networks with the copy cache. */
  logProbability: number;
  /** p_corpus(actual token); 0 without a match. */
  corpusProbability: number;
  place: number;
  /** −1: no match. */
  bucket: number;
}

/**
 * Pairs each of a piece's scored tokens with the corpus's view of it.
 * @param logProbabilities log p_model(ids[t+1] | ids[0..t]) for each t; NaN ones are skipped (as the cache does).
 */
export function observeCorpus(
  ids: readonly number[],
  logProbabilities: ArrayLike<number>,
  index: CorpusIndex,
  config: Pick<CorpusPointerConfig, 'stride' | 'bucketEdges'>,
): CorpusObservation[] {
  const pointer = new CorpusPointer(index, config.stride);
  const out: CorpusObservation[] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    pointer.push(ids[t]!);
    const logProbability = logProbabilities[t]!;
    if (Number.isNaN(logProbability)) continue;
    const guess = pointer.guess();
    out.push({
      logProbability,
      corpusProbability: guess?.next.get(ids[t + 1]!) ?? 0,
      place: (t + 1) % config.stride,
      bucket: guess ? bucketOf(config.bucketEdges, guess.length) : -1,
    });
  }
  return out;
}

/** log of the mixture's probability of the actual token. */
export function corpusMixedLogProbability(o: CorpusObservation, weights: readonly (readonly number[])[]): number {
  const mu = o.bucket >= 0 ? (weights[o.place]?.[o.bucket] ?? 0) : 0;
  if (mu === 0) return o.logProbability;
  return Math.log(Math.max((1 - mu) * Math.exp(o.logProbability) + mu * o.corpusProbability, 1e-30));
}

/** μ per place and bucket maximising the likelihood of the observations (validation pieces). */
export function fitCorpusWeights(observations: readonly CorpusObservation[], stride: number, buckets: number): number[][] {
  const groups = Array.from({ length: stride }, () => Array.from({ length: buckets }, (): { p: number; q: number }[] => []));
  for (const o of observations) if (o.bucket >= 0) groups[o.place]![o.bucket]!.push({ p: Math.exp(o.logProbability), q: o.corpusProbability });
  return groups.map((row) => row.map((pairs) => (pairs.length === 0 ? 0 : fitMixtureWeight(pairs))));
}

/**
 * The corpus file: a little-endian u32 piece count, each piece's length (u32), then every id (u16).
 * The pieces are token ids, so a model's corpus is as long as the pieces it trained on (JSB: 0.6 MB).
 * @throws RangeError for an id that is not a u16 (no vocabulary is that large).
 */
export function encodeCorpus(pieces: readonly (readonly number[])[]): Uint8Array {
  if (pieces.some((p) => p.some((id) => !Number.isInteger(id) || id < 0 || id > 0xffff))) throw new RangeError('corpus ids must be integers in 0…65535');
  const total = pieces.reduce((sum, p) => sum + p.length, 0);
  const bytes = new Uint8Array(4 + 4 * pieces.length + 2 * total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, pieces.length, true);
  pieces.forEach((p, i) => view.setUint32(4 + 4 * i, p.length, true));
  let at = 4 + 4 * pieces.length;
  for (const p of pieces) for (const id of p) (view.setUint16(at, id, true), (at += 2));
  return bytes;
}

/** The pieces of a corpus file, or undefined when it is not one whose ids are all below `vocabSize`. */
export function decodeCorpus(bytes: Uint8Array, vocabSize: number): number[][] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) return undefined;
  const count = view.getUint32(0, true);
  if (bytes.byteLength < 4 + 4 * count) return undefined;
  const lengths = Array.from({ length: count }, (_, i) => view.getUint32(4 + 4 * i, true));
  if (bytes.byteLength !== 4 + 4 * count + 2 * lengths.reduce((a, b) => a + b, 0)) return undefined;
  let at = 4 + 4 * count;
  const pieces: number[][] = [];
  for (const length of lengths) {
    const piece: number[] = [];
    for (let i = 0; i < length; i++, at += 2) {
      const id = view.getUint16(at, true);
      if (id >= vocabSize) return undefined;
      piece.push(id);
    }
    pieces.push(piece);
  }
  return pieces;
}
