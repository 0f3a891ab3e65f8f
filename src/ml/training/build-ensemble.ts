/**
 * Makes a model an ensemble (ModelSpec.ensemble): other trained networks with the same tokens are
 * copied into its folder, their mixture weights fitted on the validation split, and the copy cache
 * refitted on top of the mixture, so the model composes and scores as the ensemble from then on.
 * With `transpose`, every network also predicts in transposed views (transposed-views.ts), with
 * or without other networks.
 */
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MotifError } from '../../errors.js';
import { loadCorpus, splitCorpus } from '../../music/corpus.js';
import { fitEnsembleWeights, mixLogProbabilities, scoreNetwork } from '../ensemble.js';
import { totalNll } from '../evaluation/piece-scoring.js';
import { assertSameTokens, assertValidationHeldOut, disposeModel, ENSEMBLE_DIR, loadModel, MAX_TRANSPOSITION, MEMBER_FILES, type LoadedModel } from '../model-dir.js';
import { LanguageModel } from '../network/language-model.js';
import { supportsCorpusPointer } from '../corpus-pointer.js';
import { fitScoredCopyCache, type FitCacheResult } from './fit-cache.js';

export interface BuildEnsembleResult {
  /** Sub-folders of the model folder, as recorded in its spec. */
  members: string[];
  /** This model's network first. */
  weights: number[];
  /** The views' semitones, when asked for. */
  transpositions?: number[];
  validPieces: number;
  /** Validation NLL per token of each network alone (this model's first) and of their mixture, without the cache. */
  validNllPerToken: { networks: number[]; mixture: number };
  /** The copy cache refitted on the mixture. */
  cache: FitCacheResult;
}

/**
 * @throws MotifError OPTION_OUT_OF_RANGE (no member, or the model is an ensemble already),
 *   MODEL_MISMATCH (a member with other tokens), DATA_EMPTY (no validation pieces), and what
 *   loadModel throws for the model or a member.
 */
export async function buildEnsemble(
  modelDir: string,
  memberDirs: readonly string[],
  dataDirs: string[],
  opts: { transpose?: number } = {},
): Promise<BuildEnsembleResult> {
  const transpose = opts.transpose ?? 0;
  if (memberDirs.length > 7 || (memberDirs.length === 0 && transpose === 0)) {
    throw new MotifError('OPTION_OUT_OF_RANGE', 'An ensemble takes 1 to 7 other networks (`--add DIR`), transposed views (`--transpose N`), or both.');
  }
  if (!Number.isInteger(transpose) || transpose < 0 || transpose > MAX_TRANSPOSITION) {
    throw new MotifError('OPTION_OUT_OF_RANGE', `Transposed views go 1 to ${MAX_TRANSPOSITION} semitones up and down (\`--transpose N\`).`);
  }
  const transpositions = transpose > 0 ? Array.from({ length: 2 * transpose + 1 }, (_, i) => i - transpose) : undefined;
  const loaded: LoadedModel[] = [];
  try {
    const model = await loadModel(modelDir);
    loaded.push(model);
    if (model.ensemble) throw new MotifError('OPTION_OUT_OF_RANGE', 'This model is an ensemble already; build a new one from a single network.');
    assertValidationHeldOut(model.spec, 'This model');
    for (const dir of memberDirs) {
      const member = await loadModel(dir);
      loaded.push(member);
      if (member.ensemble || !(member.network instanceof LanguageModel)) {
        throw new MotifError('OPTION_OUT_OF_RANGE', `${dir}: an ensemble member must be a single network of the default architecture.`);
      }
      assertSameTokens(model.tokenizer, member.tokenizer, dir);
      assertValidationHeldOut(member.spec, dir);
    }
    if (!(model.network instanceof LanguageModel)) throw new MotifError('OPTION_OUT_OF_RANGE', 'Only a default-architecture model can lead an ensemble.');
    if (transpositions && !model.tokenizer.transposeId) {
      throw new MotifError('OPTION_OUT_OF_RANGE', `The ${model.tokenizer.name} encoding cannot be transposed token by token; transposed views need the voices encoding.`);
    }

    const split = splitCorpus((await loadCorpus(dataDirs)).pieces);
    if (split.valid.length === 0) throw new MotifError('DATA_EMPTY', 'The data has no validation pieces to fit the ensemble on.');
    const pieces = split.valid.map((p) => model.tokenizer.encode(p.sequence, { onUnknown: 'skip' }));
    const scores = loaded.map((m) => scoreNetwork(m.network as LanguageModel, m.tokenizer, pieces, transpositions));
    const weights = scores.length > 1 ? fitEnsembleWeights(scores.map((s) => s.logProbabilities)) : [1];
    const perToken = (logs: readonly Float32Array[]): number => {
      const { nll, count } = totalNll(pieces, { logProbabilities: [...logs] });
      return nll / count;
    };
    const mixture = mixLogProbabilities(scores.map((s) => s.logProbabilities), weights);
    const validNllPerToken = { networks: scores.map((s) => perToken(s.logProbabilities)), mixture: perToken(mixture) };

    const members = memberDirs.map((_, i) => `${ENSEMBLE_DIR}/net-${i + 2}`);
    await copyMembers(modelDir, memberDirs, members);
    // The cache is refitted on the mixture's scores already in hand, written with the ensemble.
    const ensemble = transpositions ? { members, weights, transpositions } : { members, weights };
    const spec = { ...model.spec, ensemble, metrics: { ...model.spec.metrics, validNllPerTokenEnsemble: validNllPerToken.mixture } };
    const corpus = supportsCorpusPointer(model.tokenizer) ? split.train.map((p) => model.tokenizer.encode(p.sequence, { onUnknown: 'skip' })) : undefined;
    const cache = await fitScoredCopyCache(modelDir, spec, model.tokenizer, pieces, { logProbabilities: mixture }, { corpus });
    return { members, weights, transpositions, validPieces: pieces.length, validNllPerToken, cache };
  } finally {
    for (const m of loaded) disposeModel(m);
  }
}

/** Each member's spec and weights into `modelDir/<name>`, replacing an older members folder whole (removing it when there are none). */
async function copyMembers(modelDir: string, memberDirs: readonly string[], names: readonly string[]): Promise<void> {
  if (memberDirs.length === 0) {
    await rm(join(modelDir, ENSEMBLE_DIR), { recursive: true, force: true });
    return;
  }
  const temp = join(modelDir, `.${ENSEMBLE_DIR}.tmp-${process.pid}`);
  await rm(temp, { recursive: true, force: true });
  try {
    for (const [i, dir] of memberDirs.entries()) {
      const to = join(temp, names[i]!.slice(ENSEMBLE_DIR.length + 1));
      await mkdir(to, { recursive: true });
      for (const file of MEMBER_FILES) await copyFile(join(dir, file), join(to, file));
    }
    await rm(join(modelDir, ENSEMBLE_DIR), { recursive: true, force: true });
    await rename(temp, join(modelDir, ENSEMBLE_DIR));
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
