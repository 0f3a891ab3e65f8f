/**
 * Transposed views: a network also predicts from the piece moved up or down a few semitones, and
 * its predictions, moved back, are averaged with its own (test-time augmentation). Music keeps its
 * sense when transposed, so each view is a fair guess; the network learnt some keys better than
 * others, so the views get different things wrong, and their mean predicts better than any one. On
 * the JSB chorales' test split, the chorale ensemble with its cache went from 1.407 nats per 16th
 * step to 1.384 with views at ±1 semitone (shipped) and 1.379 at ±2 (twice the composing time).
 *
 * A view stops predicting from the first token it cannot transpose (a pitch outside the
 * vocabulary); the views left share its weight. View 0 (the piece as it is) is always among them,
 * so some view always predicts. Scoring (here) and composing (the stepper) apply the same rule, so
 * `npm run eval` measures the model as it composes.
 *
 * A view moved up k semitones cannot say the k lowest pitches of the vocabulary (nor one moved down
 * the highest): what it gives them is not spread over the others, so the views' mean sums to a
 * little less than 1, by what a trained network gives pitches far outside the voices' ranges (the
 * chorale networks, views ±2, ten test chorales: 1e-8 on average, at most 1e-5). Composing
 * renormalises it; the NLL eval reports is then an upper bound by that much.
 */
import { createPositionTracker, tokenPositions, type Tokenizer } from '../music/tokenizers/index.js';
import { scoreWholePieces } from './evaluation/piece-scoring.js';
import { logSumExp, logSumExpColumns } from './log-space.js';
import type { LanguageModel } from './network/language-model.js';
import { logSoftmax } from './sampling.js';

/** What a stepper over one network gives after each token: log-probabilities of the next. */
export interface LogProbabilityStepper {
  push(id: number): Float32Array;
}

/**
 * A piece moved by `semitones`, up to (not including) its first token that cannot move.
 * @throws TypeError when the encoding cannot transpose at all.
 */
export function transposePrefix(tokenizer: Tokenizer, ids: readonly number[], semitones: number): number[] {
  if (!tokenizer.transposeId) throw new TypeError(`the ${tokenizer.name} encoding cannot be transposed`);
  const out: number[] = [];
  for (const id of ids) {
    const moved = tokenizer.transposeId(id, semitones);
    if (moved === undefined) break;
    out.push(moved);
  }
  return out;
}

/**
 * Whole-piece scores (log p of each next token, as scoreWholePieces) of the mean of the network's
 * views, one per entry of `transpositions` (which holds 0).
 */
export function scoreTransposedViews(
  network: LanguageModel,
  tokenizer: Tokenizer,
  pieces: readonly (readonly number[])[],
  transpositions: readonly number[],
): Float32Array[] {
  const views = transpositions.map((k) => {
    const moved = pieces.map((ids) => transposePrefix(tokenizer, ids, k));
    const scores = scoreWholePieces(network, moved, (ids) => tokenPositions(tokenizer, ids)).logProbabilities;
    return { moved, scores };
  });
  return pieces.map((ids, piece) => {
    const out = new Float32Array(Math.max(0, ids.length - 1));
    for (let t = 0; t < out.length; t++) {
      // View v predicts ids[t + 1] when it could move ids[0..t]; it gives 0 when it cannot move ids[t + 1] itself.
      const values: number[] = [];
      for (const { moved, scores } of views) {
        const movable = moved[piece]!.length;
        if (movable <= t) continue;
        values.push(t + 1 < movable ? scores[piece]![t]! : -Infinity);
      }
      out[t] = logMeanExp(values);
    }
    return out;
  });
}

/**
 * Steps the network through a piece in every view at once (one batch row per view) and gives the
 * mean of the views' next-token distributions, each moved back to the piece's own key.
 */
export function createTransposedStepper(network: LanguageModel, tokenizer: Tokenizer, transpositions: readonly number[]): LogProbabilityStepper {
  const vocab = network.config.vocabSize;
  const move = (id: number, k: number): number | undefined => (tokenizer.transposeId ? tokenizer.transposeId(id, k) : k === 0 ? id : undefined);
  // backMaps[v][x]: the view's id for the piece's token x (−1: the view cannot say x).
  const backMaps = transpositions.map((k) => Int32Array.from({ length: vocab }, (_, x) => move(x, k) ?? -1));
  const live = transpositions.map(() => true);
  // Row v: view v's log-softmax moved back to the piece's key, refilled at every token.
  const movedRows = transpositions.map(() => new Float64Array(vocab));
  let state = network.initState(transpositions.length);
  const positions = network.config.positionPeriod > 0 ? createPositionTracker(tokenizer) : undefined;
  return {
    push(id: number): Float32Array {
      const ids = transpositions.map((k, v) => {
        const moved = live[v] ? move(id, k) : undefined;
        if (moved === undefined) live[v] = false;
        // A view that stopped still fills its batch row; what it predicts is not used.
        return moved ?? id;
      });
      // Positions (index, voice, held notes) do not change with the key: one tracker serves all views.
      const position = positions?.push(id);
      const result = network.step(state, ids, position === undefined ? undefined : ids.map(() => position));
      state = result.state;
      // Each live view's log-softmax, moved back to the piece's key; their mean.
      const rows: Float64Array[] = [];
      transpositions.forEach((_, v) => {
        if (!live[v]) return;
        const row = logSoftmax(result.logits.subarray(v * vocab, (v + 1) * vocab));
        const back = backMaps[v]!;
        const moved = movedRows[v]!;
        for (let x = 0; x < vocab; x++) moved[x] = back[x]! < 0 ? -Infinity : row[back[x]!]!;
        rows.push(moved);
      });
      return logSumExpColumns(rows, rows.map(() => -Math.log(rows.length)));
    },
  };
}

/** log of the mean of exp(values); −∞ when every value is. */
function logMeanExp(values: readonly number[]): number {
  return logSumExp(values) - Math.log(values.length);
}
