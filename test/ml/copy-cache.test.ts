import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  CachePredictor,
  fitLambdas,
  fitLineWeights,
  MatchFinder,
  mixedLogProbability,
  mixLogits,
  observeCache,
  type CopyCacheConfig,
} from '../../src/ml/copy-cache.js';
import { cacheLogProbabilities, fitCopyCache, totalNll } from '../../src/ml/evaluation/piece-scoring.js';

describe('copy cache', () => {
  it('GIVEN a phrase played twice WHEN the second time starts THEN the finder predicts each next token of the phrase, with a growing match', () => {
    const phrase = [5, 9, 7, 3, 8, 2, 6, 4, 1, 9];
    const finder = new MatchFinder(4, 64);
    const predictions: ({ token: number; length: number } | undefined)[] = [];
    for (const id of [...phrase, ...phrase]) {
      finder.push(id);
      predictions.push(finder.predict());
    }
    // Nothing repeats in the first playing.
    expect(predictions.slice(0, 10).every((p) => p === undefined)).toBe(true);
    // From the 4th token of the repeat on, the next token of the phrase is predicted.
    for (let i = 13; i < 19; i++) expect(predictions[i]?.token).toBe(phrase[(i + 1) % 10]);
    expect(predictions[18]!.length).toBeGreaterThan(predictions[13]!.length);
  });

  it('GIVEN a phrase that returns at another place in the bar WHEN the finder knows each token\'s place THEN it copies only at the same place', () => {
    const phrase = [5, 9, 7, 3, 8, 2, 6, 4, 1, 9];
    // Places in a 16-step bar: the first playing from 0, the second from 4 (a beat later), the third from 0 again.
    const places = [...phrase.map((_, i) => i % 16), ...phrase.map((_, i) => (i + 4) % 16), ...phrase.map((_, i) => i % 16)];
    const finder = new MatchFinder(4, 64);
    const predictions = [...phrase, ...phrase, ...phrase].map((id, i) => {
      finder.push(id, places[i]);
      return finder.predict();
    });
    // Shifted by a beat: nothing is copied (its BAR or SHIFT would land elsewhere).
    expect(predictions.slice(10, 20).every((p) => p === undefined)).toBe(true);
    // Back in place: copied from the first playing.
    for (let i = 23; i < 29; i++) expect(predictions[i]?.token).toBe(phrase[(i + 1) % 10]);
    // Without places the shifted playing is copied too, and observeCache agrees with the finder.
    const ids = [...phrase, ...phrase, ...phrase];
    const logs = new Float32Array(ids.length - 1).fill(Math.log(0.1));
    const config = { minMatch: 4, maxMatch: 64, bucketEdges: [4] };
    const hits = (phases?: number[]): number => observeCache(ids, logs, config, phases).filter((o) => o.hit).length;
    expect(hits(places)).toBe(predictions.slice(0, -1).filter((p, i) => p?.token === ids[i + 1]).length);
    expect(hits()).toBeGreaterThan(hits(places));
  });

  it('GIVEN observations where the cache is always right, or never WHEN λ is fitted THEN it is near 1, or 0', () => {
    const right = Array.from({ length: 200 }, () => ({ logProbability: Math.log(0.2), bucket: 0, hit: true, lineBucket: -1, lineHit: false }));
    const wrong = Array.from({ length: 200 }, () => ({ logProbability: Math.log(0.2), bucket: 1, hit: false, lineBucket: -1, lineHit: false }));
    const lambdas = fitLambdas([...right, ...wrong], 2);
    expect(lambdas[0]).toBeGreaterThan(0.95);
    expect(lambdas[1]).toBe(0);
    // Mixing never makes a right prediction less likely than the network alone.
    expect(mixedLogProbability(right[0]!, { lambdas })).toBeGreaterThan(Math.log(0.2));
  });

  it('GIVEN logits and a prediction WHEN mixed THEN the result is a distribution that favours the predicted token by λ', () => {
    const config: CopyCacheConfig = { minMatch: 4, maxMatch: 64, bucketEdges: [4, 8], lambdas: [0.5, 0.9] };
    const logits = Float32Array.from([0, 1, 2, 3]);
    const mixed = mixLogits(logits, { passage: { token: 0, length: 10 } }, config);
    const probabilities = Array.from(mixed, Math.exp);
    expect(probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 6);
    const p0 = Math.exp(0) / [0, 1, 2, 3].reduce((s, x) => s + Math.exp(x), 0);
    expect(probabilities[0]).toBeCloseTo(0.1 * p0 + 0.9, 6);
    expect(bucketOf(config.bucketEdges, 3)).toBe(-1);
    // A short match below every bucket leaves the network's logits untouched.
    expect(mixLogits(logits, { passage: { token: 0, length: 3 } }, config)).toBe(logits);
  });

  it('GIVEN a token the networks did not score (NaN) mid-piece WHEN the cache is mixed in THEN that token stays NaN and is not counted, and every other token gets its own mixture', () => {
    const ids = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2];
    const config: CopyCacheConfig = { minMatch: 4, maxMatch: 16, bucketEdges: [4], lambdas: [0.5] };
    const logs = Float32Array.from({ length: ids.length - 1 }, (_, t) => (t === 6 ? NaN : Math.log(0.1)));
    const [mixed] = cacheLogProbabilities([ids], { logProbabilities: [logs] }, { cache: config });
    // What the cache would give each token had none been skipped: only the copying tokens differ from log 0.1.
    const whole = observeCache(ids, new Float32Array(ids.length - 1).fill(Math.log(0.1)), config).map((o) => mixedLogProbability(o, config));
    expect(Array.from(mixed!, (lp, t) => (t === 6 ? Number.isNaN(lp) : lp))).toEqual(whole.map((lp, t) => (t === 6 ? true : expect.closeTo(lp, 6))));
    expect(whole.filter((lp) => lp > Math.log(0.1) + 0.1).length).toBeGreaterThanOrEqual(3);
    expect(totalNll([ids], { logProbabilities: [logs] }, { cache: config }).count).toBe(ids.length - 2);
    // Without a cache a NaN is not hidden: it shows in the total.
    expect(totalNll([ids], { logProbabilities: [logs] }).nll).toBeNaN();
  });

  it('GIVEN a piece WHEN observed THEN there is one observation per predicted token', () => {
    const ids = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2];
    const observations = observeCache(ids, new Float32Array(ids.length - 1).fill(Math.log(0.1)), { minMatch: 4, maxMatch: 16, bucketEdges: [4] });
    expect(observations).toHaveLength(ids.length - 1);
    expect(observations.filter((o) => o.hit).length).toBeGreaterThan(0);
  });

  it('GIVEN pieces whose passages return elsewhere in the bar WHEN the cache is fitted THEN it copies only at the same place when that scores better, and anywhere when not', () => {
    const a = [5, 9, 7, 3, 8, 2, 6, 4];
    const flat = (ids: number[]): Float32Array[] => [new Float32Array(ids.length - 1).fill(Math.log(1 / 16))];
    const score = (ids: number[]) => ({ logProbabilities: flat(ids), correct: 0 });
    // 1. The passage returns a beat later and goes on the same way: copying from anywhere is right.
    const shifted = [...a, ...a, ...a];
    const shiftedPlaces = shifted.map((_, i) => (i < 8 ? i : i + 4) % 16);
    const anywhere = fitCopyCache([shifted], score(shifted), { phasesOf: () => shiftedPlaces });
    expect(anywhere.samePlace).toBeUndefined();
    expect(anywhere.lambdas.some((l) => l > 0.5)).toBe(true);
    // 2. Its ending (the tokens after the repeated 4) differs wherever it comes back elsewhere in the
    //    bar, and is the same at the same place: copying only at the same place is right.
    const phrase = (end: number[]): number[] => [...a.slice(0, 4), ...end];
    // Eight tokens each: on the bar line (places 0–7), then half a bar on (8–15), and so on.
    const pieceIds = [phrase([1, 1, 1, 1]), phrase([2, 2, 2, 2]), phrase([1, 1, 1, 1]), phrase([2, 2, 2, 2]), phrase([1, 1, 1, 1])].flat();
    const places = pieceIds.map((_, i) => i % 16);
    const fitted = fitCopyCache([pieceIds], score(pieceIds), { phasesOf: () => places });
    expect(fitted.samePlace).toBe(true);
    const plain = fitCopyCache([pieceIds], score(pieceIds));
    expect(totalNll([pieceIds], score(pieceIds), { cache: fitted, phasesOf: () => places }).nll).toBeLessThan(totalNll([pieceIds], score(pieceIds), { cache: plain }).nll);
    // Without places (an encoding that knows no bar) the fit never asks for them.
    expect(plain.samePlace).toBeUndefined();
  });

  describe('the line pointer (one line per place in the step)', () => {
    // Two voices a step (stride 2): the upper sings its phrase twice, the lower never repeats.
    const upper = [40, 41, 42, 43, 44, 45];
    const interleave = (a: number[], b: number[]): number[] => a.flatMap((x, i) => [x, b[i]!]);
    const piece = interleave([...upper, ...upper], Array.from({ length: 12 }, (_, i) => 10 + i));
    const lines = { stride: 2, minMatch: 2, maxMatch: 64, bucketEdges: [2, 4] };

    it('GIVEN a voice that repeats its phrase under a new other voice WHEN followed THEN the line pointer predicts the phrase and the passage pointer nothing', () => {
      const predictor = new CachePredictor({ minMatch: 4, maxMatch: 64, lines });
      const guesses = piece.slice(0, -1).map((id) => {
        predictor.push(id);
        return predictor.predict();
      });
      expect(guesses.every((g) => g.passage === undefined)).toBe(true);
      // The upper voice's tokens are at even indices; from its third note of the repeat on, the
      // line pointer names its next note.
      for (let i = 16; i < 23; i += 2) {
        expect(guesses[i - 1]!.line?.token).toBe(piece[i]);
      }
      // The lower voice's line never repeats: nothing is guessed for it.
      for (let i = 1; i < piece.length; i += 2) expect(guesses[i - 1]!.line).toBeUndefined();
    });

    it('GIVEN pieces whose voices repeat lines WHEN the cache is fitted with the stride THEN it keeps the line pointer, which lowers the NLL; without repeats it is not kept', () => {
      const flat = (ids: number[]) => ({ logProbabilities: [new Float32Array(ids.length - 1).fill(Math.log(1 / 32))] });
      const withLines = fitCopyCache([piece], flat(piece), { stride: 2 });
      expect(withLines.lines?.stride).toBe(2);
      const passageOnly = fitCopyCache([piece], flat(piece));
      expect(passageOnly.lines).toBeUndefined();
      expect(totalNll([piece], flat(piece), { cache: withLines }).nll).toBeLessThan(totalNll([piece], flat(piece), { cache: passageOnly }).nll - 1);
      const distinct = Array.from({ length: 24 }, (_, i) => i);
      expect(fitCopyCache([distinct], flat(distinct), { stride: 2 }).lines).toBeUndefined();
    });

    it('GIVEN observations where only the line guesses right WHEN weights are fitted THEN that pair of buckets gives the line nearly all the weight, and pairs never seen the network all', () => {
      const observation = { logProbability: Math.log(0.1), bucket: -1, hit: false, lineBucket: 1, lineHit: true };
      const weights = fitLineWeights(Array.from({ length: 100 }, () => observation), 1, lines);
      // Rows: (passage bucket + 1) · 3 + (line bucket + 1).
      expect(weights).toHaveLength(2 * 3);
      expect(weights[2]![2]).toBeGreaterThan(0.95);
      expect(weights[2]![1]).toBe(0);
      expect(weights[0]).toEqual([1, 0, 0]);
      for (const row of weights) expect(row[0]! + row[1]! + row[2]!).toBeCloseTo(1, 3);
    });

    it('GIVEN both pointers WHEN logits are mixed THEN each guessed token gains its pointer\'s weight and the result is a distribution', () => {
      const weights = Array.from({ length: 2 * 3 }, () => [1, 0, 0]);
      weights[1 * 3 + 2] = [0.5, 0.3, 0.2]; // passage bucket 0, line bucket 1
      const config: CopyCacheConfig = { minMatch: 4, maxMatch: 64, bucketEdges: [4], lambdas: [0.9], lines: { ...lines, weights } };
      const logits = Float32Array.from([0, 1, 2, 3]);
      const p = [0, 1, 2, 3].map((x) => Math.exp(x) / [0, 1, 2, 3].reduce((s, v) => s + Math.exp(v), 0));
      const apart = Array.from(mixLogits(logits, { passage: { token: 0, length: 5 }, line: { token: 1, length: 4 } }, config), Math.exp);
      expect(apart.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
      expect(apart[0]).toBeCloseTo(0.5 * p[0]! + 0.3, 6);
      expect(apart[1]).toBeCloseTo(0.5 * p[1]! + 0.2, 6);
      const together = Array.from(mixLogits(logits, { passage: { token: 3, length: 5 }, line: { token: 3, length: 4 } }, config), Math.exp);
      expect(together[3]).toBeCloseTo(0.5 * p[3]! + 0.5, 6);
      // A pair whose row says "network only" leaves the logits as they are (λ is not used with lines).
      expect(mixLogits(logits, { passage: { token: 0, length: 5 } }, config)).toBe(logits);
      // Scoring mixes the same way.
      const observed = { logProbability: Math.log(p[1]!), bucket: 0, hit: false, lineBucket: 1, lineHit: true };
      expect(Math.exp(mixedLogProbability(observed, config))).toBeCloseTo(apart[1]!, 6);
    });
  });
});
