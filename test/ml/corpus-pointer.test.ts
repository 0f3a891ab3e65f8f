/**
 * The corpus pointer on hand-made lines: matching by intervals in any key, the longest match
 * winning, ties shared, breaks at tokens without a pitch, the weights fitted where it is right, and
 * the corpus file's round trip. The chorale model's own figures are in its card; the pointer through
 * fitting, refitting and eval is in ensemble.int.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CorpusIndex, corpusMixedLogProbability, CorpusPointer, decodeCorpus, encodeCorpus, fitCorpusWeights, observeCorpus, type CorpusObservation, type PitchTokens } from '../../src/ml/corpus-pointer.js';

/** Ids 10–127 are the pitches themselves; 0–9 are control tokens (REST = 3). */
const REST = 3;
const pitches: PitchTokens = {
  pitchOf: (id) => (id >= 10 ? id : undefined),
  transposeId: (id, semitones) => (id < 10 ? id : id + semitones >= 10 && id + semitones < 128 ? id + semitones : undefined),
};
/** One voice (stride 1), matches from 3 tokens up to 6. */
const shape = { stride: 1, minMatch: 3, maxMatch: 6 };

const guessAfter = (index: CorpusIndex, line: number[]) => index.guess(0, line);

describe('the corpus pointer', () => {
  it('GIVEN a tune in the corpus WHEN the same tune is sung a minor third higher THEN the guess is the corpus’s next note moved up a minor third', () => {
    const tune = [60, 62, 64, 65, 67, 65, 64, 62, 60];
    const index = new CorpusIndex([tune], shape, pitches);
    const up = tune.map((p) => p + 3);
    const guess = guessAfter(index, up.slice(0, 5));
    expect(guess?.length).toBe(5);
    expect([...guess!.next]).toEqual([[65 + 3, 1]]);
    // The match is counted up to maxMatch, however long the common stretch.
    expect(guessAfter(index, up.slice(0, 8))!.length).toBe(6);
  });

  it('GIVEN two places where the context occurred WHEN one matches longer THEN only its continuation counts; at equal length they share', () => {
    const a = [50, 60, 62, 64, 65];
    const b = [55, 57, 59, 61, 63];
    const index = new CorpusIndex([a, b], shape, pitches);
    // Two whole tones after a leap of a minor seventh: a matches 4 tokens (then up a semitone), b's two places only the whole tones.
    expect([...guessAfter(index, [40, 50, 52, 54])!.next]).toEqual([[55, 1]]);
    const c = [57, 59, 61, 62];
    const tie = new CorpusIndex([c, b.slice(1)], shape, pitches);
    const guess = guessAfter(tie, [20, 22, 24]);
    expect(guess?.length).toBe(3);
    expect(Object.fromEntries(guess!.next)).toEqual({ 25: 0.5, 26: 0.5 });
  });

  it('GIVEN a rest among the last tokens THEN nothing is guessed; a rest that followed in the corpus is guessed as a rest', () => {
    const index = new CorpusIndex([[60, 62, 64, REST, 64]], shape, pitches);
    expect(guessAfter(index, [70, REST, 72, 74])).toBeUndefined();
    expect([...guessAfter(index, [70, 72, 74])!.next]).toEqual([[REST, 1]]);
  });

  it('GIVEN several voices a step THEN each voice’s line is matched only against the same voice’s lines', () => {
    // Two voices interleaved: the upper climbs, the lower falls; a piece whose upper voice falls like the lower one finds nothing at its place.
    const corpus = [[72, 48, 74, 47, 76, 46, 77, 45]];
    const index = new CorpusIndex(corpus, { stride: 2, minMatch: 3, maxMatch: 6 }, pitches);
    const pointer = new CorpusPointer(index, 2);
    for (const id of [60, 70, 62, 69, 64, 68]) pointer.push(id);
    expect(pointer.guess()).toMatchObject({ place: 0, next: new Map([[65, 1]]) });
    const falling = new CorpusPointer(index, 2);
    for (const id of [60, 70, 59, 69, 58, 68]) falling.push(id);
    expect(falling.guess()).toBeUndefined();
  });

  it('GIVEN two voices a step after a BOS token WHEN a piece is observed THEN each token is read at its own voice’s place and mixed with that voice’s μ', () => {
    const BOS = 1;
    // Upper voice at odd indices (place 1), lower at even ones from 2 (place 0, with BOS).
    const upper = [60, 62, 64, 65, 67, 69];
    const lower = [48, 48, 47, 47, 45, 45];
    const interleave = (a: number[], b: number[]): number[] => [BOS, ...a.flatMap((p, i) => [p, b[i]!])];
    const index = new CorpusIndex([interleave(upper, lower)], { stride: 2, minMatch: 3, maxMatch: 6 }, pitches);
    // The upper line a fifth higher over a lower line the corpus never had.
    const ids = interleave(upper.map((p) => p + 7), [50, 52, 50, 52, 50, 52]);
    const observations = observeCorpus(ids, Float64Array.from({ length: ids.length - 1 }, () => Math.log(0.1)), index, { stride: 2, bucketEdges: [3] });
    expect(observations.map((o) => o.place)).toEqual(ids.slice(1).map((_, t) => (t + 1) % 2));
    // Upper tokens 4, 5 and 6 (ids 7, 9, 11) follow three or more upper notes that match: each guessed right.
    const guessed = observations.flatMap((o, t) => (o.bucket >= 0 ? [[t + 1, o.place, o.corpusProbability]] : []));
    expect(guessed).toEqual([
      [7, 1, 1],
      [9, 1, 1],
      [11, 1, 1],
    ]);
    const weights = [[0], [0.5]];
    expect(corpusMixedLogProbability(observations[6]!, weights)).toBeCloseTo(Math.log(0.5 * 0.1 + 0.5), 9);
    // The same μ read at the other voice's place would give nothing: row 0 is 0.
    expect(corpusMixedLogProbability({ ...observations[6]!, place: 0 }, weights)).toBeCloseTo(Math.log(0.1), 9);
  });

  it('GIVEN a continuation that cannot be moved into this key THEN it is no guess, and a shorter match’s continuation is kept', () => {
    // Four rising whole tones match the corpus's 100 102 104 106 (then a leap to 127, which here would
    // be 141, beyond the vocabulary); three match 100 102 104, after which 106 came: here 122.
    const index = new CorpusIndex([[100, 102, 104, 106, 127]], shape, pitches);
    const guess = guessAfter(index, [114, 116, 118, 120]);
    expect(guess).toMatchObject({ length: 3 });
    expect([...guess!.next]).toEqual([[122, 1]]);
  });

  it('GIVEN a piece scored token by token THEN each observation carries the corpus’s probability of the actual token and its match bucket', () => {
    const index = new CorpusIndex([[60, 62, 64, 65, 67]], shape, pitches);
    const ids = [40, 42, 44, 45, 46];
    const observations = observeCorpus(ids, Float64Array.from({ length: 4 }, () => Math.log(0.1)), index, { stride: 1, bucketEdges: [3, 4] });
    // Before 45 the line 40 42 44 matches 3 tokens (bucket 0) and 45 follows; before 46 it matches 4 and 47 would have.
    expect(observations.slice(2)).toEqual([
      { logProbability: Math.log(0.1), corpusProbability: 1, place: 0, bucket: 0 },
      { logProbability: Math.log(0.1), corpusProbability: 0, place: 0, bucket: 1 },
    ]);
  });

  it('GIVEN a bucket where the corpus is right 9 times in 10 and one where it is always wrong THEN its weight is high in the first and 0 in the second', () => {
    const observation = (bucket: number, right: boolean): CorpusObservation => ({ logProbability: Math.log(0.1), corpusProbability: right ? 1 : 0, place: 0, bucket });
    const observations = [...Array.from({ length: 100 }, (_, i) => observation(0, i % 10 !== 0)), ...Array.from({ length: 50 }, () => observation(1, false))];
    const [row] = fitCorpusWeights(observations, 1, 2);
    // d/dμ [90 log(0.1 + 0.9μ) + 10 log(0.1 − 0.1μ)] = 0 ⇒ 81(1 − μ) = 1 + 9μ ⇒ μ = 8/9.
    expect(row![0]).toBeCloseTo(8 / 9, 2);
    expect(row![1]).toBe(0);
  });

  it('GIVEN pieces WHEN written as a corpus file and read back THEN they are the same; a cut file or an id outside the vocabulary is refused', () => {
    const pieces = [[1, 40, 41, 2], [], [1, 73, 2]];
    const bytes = encodeCorpus(pieces);
    expect(decodeCorpus(bytes, 74)).toEqual(pieces);
    expect(decodeCorpus(bytes.subarray(0, bytes.length - 1), 74)).toBeUndefined();
    expect(decodeCorpus(bytes.subarray(0, 2), 74)).toBeUndefined();
    expect(decodeCorpus(bytes, 73)).toBeUndefined();
    expect(() => encodeCorpus([[70_000]])).toThrow(RangeError);
  });
});
