/**
 * The n-gram baseline: an interpolated Kneser–Ney trigram over token ids (Chen & Goodman 1998,
 * one absolute discount per order estimated as n1 / (n1 + 2·n2)). The lowest order is interpolated
 * with a uniform distribution over the whole vocabulary, so every token — even one never seen in
 * training — has a probability > 0 and the NLL stays finite. Sequence starts are padded with a
 * virtual start symbol that is never predicted.
 *
 * NLL is in nats per token, the same unit as the LSTM's cross-entropy loss, so the numbers are
 * directly comparable within one encoding.
 */
import type { Rng } from '../random.js';

export interface MarkovModel {
  readonly vocabSize: number;
  /** P(w | u, v) where u, v are the two previous ids (or -1 for "before the start"). */
  prob(w: number, u: number, v: number): number;
  /** Mean negative log-likelihood per token (nats) and the number of tokens scored. */
  nllPerToken(sequences: readonly (readonly number[])[]): { nllPerToken: number; tokens: number };
  /** Samples `length` ids, continuing `prefix` when given (the prefix is not returned). */
  sample(rng: Rng, length: number, prefix?: readonly number[]): number[];
}

function discount(countsOfCounts: Map<number, number>): number {
  const n1 = countsOfCounts.get(1) ?? 0;
  const n2 = countsOfCounts.get(2) ?? 0;
  const d = n1 + 2 * n2 === 0 ? 0.5 : n1 / (n1 + 2 * n2);
  return Math.min(0.95, Math.max(0.05, d));
}

function increment(map: Map<number, number>, key: number, by = 1): number {
  const value = (map.get(key) ?? 0) + by;
  map.set(key, value);
  return value;
}

/**
 * Fits the trigram on id sequences.
 * @param vocabSize ids must lie in [0, vocabSize); others are ignored.
 */
export function fitMarkov(sequences: readonly (readonly number[])[], vocabSize: number): MarkovModel {
  const V = vocabSize;
  const S = V; // the virtual start symbol
  const B = V + 1; // base for packing (u, v, w) into one number key
  const tri = new Map<number, number>(); // c(u v w)
  const ctx2 = new Map<number, number>(); // c(u v ·)
  const types2 = new Map<number, number>(); // |{w : c(u v w) > 0}|
  const cont2 = new Map<number, number>(); // N1+(· v w)
  const cont2Ctx = new Map<number, number>(); // N1+(· v ·) = Σ_w N1+(· v w)
  const types1 = new Map<number, number>(); // |{w : N1+(· v w) > 0}|
  const cont1 = new Map<number, number>(); // N1+(· w) over bigram types (v w)
  let cont1Total = 0; // Σ_w N1+(· w)

  for (const seq of sequences) {
    let u = S;
    let v = S;
    for (const w of seq) {
      if (!Number.isInteger(w) || w < 0 || w >= V) continue;
      const key = (u * B + v) * B + w;
      const c = increment(tri, key);
      increment(ctx2, u * B + v);
      if (c === 1) {
        increment(types2, u * B + v);
        const c2 = increment(cont2, v * B + w);
        increment(cont2Ctx, v);
        if (c2 === 1) {
          increment(types1, v);
          increment(cont1, w);
          cont1Total++;
        }
      }
      u = v;
      v = w;
    }
  }

  const coc3 = new Map<number, number>();
  for (const c of tri.values()) increment(coc3, c);
  const coc2 = new Map<number, number>();
  for (const c of cont2.values()) increment(coc2, c);
  const coc1 = new Map<number, number>();
  for (const c of cont1.values()) increment(coc1, c);
  const d3 = discount(coc3);
  const d2 = discount(coc2);
  const d1 = discount(coc1);
  const seenTypes1 = cont1.size;

  const p1 = (w: number): number => {
    const uniform = 1 / V;
    if (cont1Total === 0) return uniform;
    return Math.max((cont1.get(w) ?? 0) - d1, 0) / cont1Total + ((d1 * seenTypes1) / cont1Total) * uniform;
  };
  const p2 = (w: number, v: number): number => {
    const total = cont2Ctx.get(v) ?? 0;
    if (total === 0) return p1(w);
    return Math.max((cont2.get(v * B + w) ?? 0) - d2, 0) / total + ((d2 * (types1.get(v) ?? 0)) / total) * p1(w);
  };
  const p3 = (w: number, u: number, v: number): number => {
    const ctx = u * B + v;
    const total = ctx2.get(ctx) ?? 0;
    if (total === 0) return p2(w, v);
    return Math.max((tri.get(ctx * B + w) ?? 0) - d3, 0) / total + ((d3 * (types2.get(ctx) ?? 0)) / total) * p2(w, v);
  };
  const symbol = (x: number): number => (x < 0 || x >= V ? S : x);

  return {
    vocabSize: V,
    prob: (w, u, v) => (w < 0 || w >= V ? 0 : p3(w, symbol(u), symbol(v))),
    nllPerToken(seqs) {
      let nll = 0;
      let tokens = 0;
      for (const seq of seqs) {
        let u = S;
        let v = S;
        for (const w of seq) {
          if (!Number.isInteger(w) || w < 0 || w >= V) continue;
          nll -= Math.log(p3(w, u, v));
          tokens++;
          u = v;
          v = w;
        }
      }
      return { nllPerToken: tokens === 0 ? 0 : nll / tokens, tokens };
    },
    sample(rng, length, prefix = []) {
      let u = S;
      let v = S;
      for (const w of prefix) {
        u = v;
        v = symbol(w);
      }
      const out: number[] = [];
      const probs = new Float64Array(V);
      for (let i = 0; i < length; i++) {
        let total = 0;
        for (let w = 0; w < V; w++) total += probs[w] = p3(w, u, v);
        let r = rng() * total;
        let pick = V - 1;
        for (let w = 0; w < V; w++) {
          r -= probs[w]!;
          if (r < 0) {
            pick = w;
            break;
          }
        }
        out.push(pick);
        u = v;
        v = pick;
      }
      return out;
    },
  };
}
