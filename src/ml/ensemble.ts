/**
 * Ensembles (ModelSpec.ensemble): several networks with the same tokens predict together, the
 * next token's probability being the weighted mean of theirs. Scoring, fitting the weights and the
 * mixing that composing steps through (generate.ts) are here, so `npm run eval` measures the model
 * as it composes.
 */
import { tokenPositions, type Tokenizer } from '../music/tokenizers/index.js';
import { scoreWholePieces, type PieceScores } from './evaluation/piece-scoring.js';
import type { LoadedModel } from './model-dir.js';
import type { LanguageModel } from './network/language-model.js';
import { logSumExp, logSumExpColumns } from './log-space.js';
import { logSoftmax } from './sampling.js';
import { scoreTransposedViews } from './transposed-views.js';

/**
 * Whole-piece scores of the model as it predicts: its network alone, or its ensemble's mixture.
 * A mixture's next-token accuracy is not measured (`correct` undefined): only target probabilities are mixed.
 */
export function scoreModelPieces(model: Pick<LoadedModel, 'network' | 'tokenizer' | 'ensemble'>, pieces: readonly (readonly number[])[]): PieceScores {
  return scoreModelAndMembers(model, pieces).model;
}

/** {@link scoreModelPieces}, and each network's own scores (in its views) for an ensemble of several. */
export function scoreModelAndMembers(
  model: Pick<LoadedModel, 'network' | 'tokenizer' | 'ensemble'>,
  pieces: readonly (readonly number[])[],
): { model: PieceScores; members: PieceScores[] } {
  if (!model.ensemble) return { model: scoreNetwork(model.network as LanguageModel, model.tokenizer, pieces), members: [] };
  const members = model.ensemble.map((m) => scoreNetwork(m.network, m.tokenizer, pieces, m.transpositions));
  if (members.length === 1) return { model: members[0]!, members: [] };
  const mixed = mixLogProbabilities(members.map((s) => s.logProbabilities), model.ensemble.map((m) => m.weight));
  return { model: { logProbabilities: mixed }, members };
}

/**
 * One network's whole-piece scores, each piece with the positions its tokenizer gives; with
 * `transpositions`, the mean of its transposed views (transposed-views.ts).
 */
export function scoreNetwork(network: LanguageModel, tokenizer: Tokenizer, pieces: readonly (readonly number[])[], transpositions?: readonly number[]): PieceScores {
  if (transpositions) return { logProbabilities: scoreTransposedViews(network, tokenizer, pieces, transpositions) };
  return scoreWholePieces(network, pieces, (ids) => tokenPositions(tokenizer, ids));
}

/** log Σₖ wₖ·pₖ per token, from each member's log-probabilities of the same tokens. */
export function mixLogProbabilities(members: readonly (readonly Float32Array[])[], weights: readonly number[]): Float32Array[] {
  const logWeights = weights.map(Math.log);
  return members[0]!.map((first, piece) => {
    const out = new Float32Array(first.length);
    for (let t = 0; t < out.length; t++) out[t] = logSumExp(members.map((m, k) => m[piece]![t]! + logWeights[k]!));
    return out;
  });
}

/**
 * The mixture weights that maximise the likelihood of the scored (validation) pieces: EM on the
 * members' target probabilities, from equal weights. The likelihood is concave in the weights and
 * each round cannot lower it, but where members nearly agree it is flat and EM creeps (each round
 * closes a fixed share of the gap), so it runs until the weights stop moving at all (1e-9), not
 * for a set number of rounds: 100 rounds had left the chorale ensemble's weights at 0.49 / 0.24 /
 * 0.28 where the maximum is 0.60 / 0.15 / 0.25. A token no member scores (−∞ or NaN) is left out.
 */
export function fitEnsembleWeights(members: readonly (readonly Float32Array[])[], opts: { rounds?: number } = {}): number[] {
  const k = members.length;
  // Each token's probabilities once, scaled by the token's largest (a common factor per token
  // changes no responsibility), so a round is k multiply-adds per token.
  const rows: number[] = [];
  members[0]!.forEach((first, piece) => {
    for (let t = 0; t < first.length; t++) {
      const logs = members.map((m) => m[piece]![t]!);
      const top = Math.max(...logs);
      if (!(top > -Infinity)) continue; // also NaN: Math.max passes it on
      for (const l of logs) rows.push(Math.exp(l - top));
    }
  });
  const table = Float64Array.from(rows);
  const tokens = table.length / k;
  let weights = new Array<number>(k).fill(1 / k);
  if (tokens === 0) return weights;
  const rounds = opts.rounds ?? 100_000;
  const responsibility = new Float64Array(k);
  for (let round = 0; round < rounds; round++) {
    responsibility.fill(0);
    for (let row = 0; row < table.length; row += k) {
      let total = 0;
      for (let j = 0; j < k; j++) total += weights[j]! * table[row + j]!;
      for (let j = 0; j < k; j++) responsibility[j]! += (weights[j]! * table[row + j]!) / total;
    }
    const next = Array.from(responsibility, (r) => Math.max(r / tokens, 1e-6));
    const sum = next.reduce((a, b) => a + b, 0);
    const moved = next.reduce((max, w, j) => Math.max(max, Math.abs(w / sum - weights[j]!)), 0);
    weights = next.map((w) => w / sum);
    if (moved < 1e-9) break;
  }
  return weights;
}

/**
 * The log of the weighted mean of the members' next-token distributions, from their logits (any
 * scale: each is normalised first) and the log of their weights.
 */
export function mixNextToken(logits: readonly Float32Array[], logWeights: readonly number[]): Float32Array {
  return logSumExpColumns(logits.map((l) => logSoftmax(l)), logWeights);
}
