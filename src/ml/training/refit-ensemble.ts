/**
 * Swaps a model's networks for their refits on more data (`npm run train -- --from NET
 * --train-on-valid`), keeping everything that was fitted on the validation pieces: the ensemble's
 * weights, its transposed views and the copy cache. The refits have seen those pieces, so fitting
 * on them again would trust the networks too much; the mixture chosen with the held-out networks is
 * the honest choice, as epochs and learning rates chosen on validation are kept for a final fit.
 */
import { existsSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MotifError } from '../../errors.js';
import { loadCorpus, splitCorpus } from '../../music/corpus.js';
import { encodeCorpus } from '../corpus-pointer.js';
import { COPY_INDEX_FILE, CORPUS_FILE, disposeModel, loadModel, LOSS_CURVE_FILE, MEMBER_FILES, SPEC_FILE, type LoadedModel, type ModelSpec } from '../model-dir.js';
import { LanguageModel } from '../network/language-model.js';
import { WEIGHTS_FILE, WEIGHTS_MANIFEST_FILE } from '../weights.js';
import { replaceDirAtomic } from '../../util/atomic-write.js';
import { asDiskFull, isDiskFull } from '../../util/disk-full.js';

export interface RefitEnsembleResult {
  /** How many networks were swapped (the model's own first). */
  networks: number;
  /** Pieces each refit was trained on (from its spec). */
  trainPieces: number;
  /** With a corpus pointer: the pieces its corpus now holds (those the refits trained on). */
  corpusPieces?: number;
}

/**
 * @param refitDirs one model folder per network: the model's own first, then its members in order.
 * @throws MotifError OPTION_OUT_OF_RANGE (wrong count, an ensemble given as a refit, a refit that did
 *   not train on the validation pieces, refits trained on different data), MODEL_MISMATCH (a refit
 *   with other sizes or tokens than its network), DISK_FULL, and what loadModel throws. The model
 *   folder is replaced whole, or not at all.
 */
export async function refitEnsemble(modelDir: string, refitDirs: readonly string[]): Promise<RefitEnsembleResult> {
  const loaded: LoadedModel[] = [];
  let spec: ModelSpec;
  let memberFolders: string[];
  let corpus: number[][] | undefined;
  try {
    const model = await loadModel(modelDir);
    loaded.push(model);
    const networks = model.ensemble ?? [{ network: model.network, tokenizer: model.tokenizer }];
    memberFolders = model.spec.ensemble?.members ?? [];
    if (refitDirs.length !== networks.length) {
      const wanted = networks.length === 1 ? 'one `--refit` folder' : `one \`--refit\` folder for each, its own network first, then ${memberFolders.join(', ')}`;
      throw new MotifError('OPTION_OUT_OF_RANGE', `This model predicts with ${networks.length} network${networks.length > 1 ? 's' : ''}: give ${wanted}.`);
    }
    const refits: LoadedModel[] = [];
    for (const [i, dir] of refitDirs.entries()) {
      const refit = await loadModel(dir);
      loaded.push(refit);
      refits.push(refit);
      if (refit.ensemble || !(refit.network instanceof LanguageModel)) {
        throw new MotifError('OPTION_OUT_OF_RANGE', `${dir}: a refit is a single network of the default architecture, trained from the network it replaces.`);
      }
      if (!refit.spec.training.trainOnValid) {
        throw new MotifError('OPTION_OUT_OF_RANGE', `${dir} did not train on the validation pieces; a refit is \`npm run train -- --from <the network> --train-on-valid\`.`);
      }
      const original = networks[i]!;
      const sameShapes = JSON.stringify(refit.network.weightShapes()) === JSON.stringify((original.network as LanguageModel).weightShapes());
      const sameTokens = JSON.stringify(refit.tokenizer.toJSON()) === JSON.stringify(original.tokenizer.toJSON());
      if (!sameShapes || !sameTokens) {
        const which = i === 0 ? 'the model’s own network' : memberFolders[i - 1]!;
        const what = sameShapes ? 'tokens' : refit.tokenizer.vocabSize !== original.tokenizer.vocabSize ? 'vocabulary (the validation pieces added tokens)' : 'sizes';
        throw new MotifError('MODEL_MISMATCH', `${dir} cannot replace ${which}: its ${what} differ${what === 'sizes' || what === 'tokens' ? '' : 's'}. Refit each network with \`npm run train -- --from\` it.`, {
          detail: dir,
        });
      }
    }
    const dataOf = (m: LoadedModel): string => JSON.stringify(m.spec.training.data);
    if (refits.some((r) => dataOf(r) !== dataOf(refits[0]!))) {
      const pieces = refits.map((r, i) => `${refitDirs[i]}: ${r.spec.training.data.map((d) => `${d.pieces} pieces of ${d.dir}`).join(', ')}`);
      throw new MotifError('OPTION_OUT_OF_RANGE', `The refits were trained on different data (${pieces.join('; ')}); refit every network on the same pieces.`);
    }
    const lead = refits[0]!.spec;
    // The held-out figures were measured with networks that had not seen the validation pieces:
    // kept, and named so (a second refit keeps the first's).
    const heldOut = Object.entries(model.spec.metrics).filter(([name]) => name.startsWith('valid'));
    const renamed = heldOut.map(([name, value]) => [name.endsWith('BeforeRefit') ? name : `${name}BeforeRefit`, value] as const);
    spec = { ...model.spec, training: lead.training, metrics: { ...lead.metrics, ...Object.fromEntries(renamed) } };
    // The corpus pointer points into the pieces the networks know: now the validation pieces too.
    if (model.spec.corpusPointer) corpus = await trainingPieces(refits[0]!);
  } finally {
    for (const m of loaded) disposeModel(m);
  }

  try {
    await replaceDirAtomic(modelDir, async (temp) => {
      await cp(modelDir, temp, { recursive: true });
      for (const file of [WEIGHTS_FILE, WEIGHTS_MANIFEST_FILE, COPY_INDEX_FILE, LOSS_CURVE_FILE]) {
        if (existsSync(join(refitDirs[0]!, file))) await cp(join(refitDirs[0]!, file), join(temp, file));
      }
      await writeFile(join(temp, SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
      if (corpus) await writeFile(join(temp, CORPUS_FILE), encodeCorpus(corpus));
      for (const [i, folder] of memberFolders.entries()) {
        for (const file of MEMBER_FILES) await cp(join(refitDirs[i + 1]!, file), join(temp, folder, file));
      }
    });
  } catch (error) {
    if (isDiskFull(error)) throw asDiskFull(error, 'The disk is full, so the refitted model could not be written; the model is kept as it was.');
    throw error;
  }
  const trainPieces = spec.training.data.reduce((sum, d) => sum + d.pieces, 0);
  return corpus ? { networks: refitDirs.length, trainPieces, corpusPieces: corpus.length } : { networks: refitDirs.length, trainPieces };
}

/**
 * The token ids of every piece a refit trained on (training and validation splits of the data its
 * spec names), read again from the data.
 * @throws MotifError DATA_EMPTY when the data is not where the spec says, OPTION_OUT_OF_RANGE
 *   when it holds other pieces than the refit trained on.
 */
async function trainingPieces(refit: LoadedModel): Promise<number[][]> {
  const dirs = refit.spec.training.data.map((d) => d.dir);
  const corpus = await loadCorpus(dirs).catch((error: unknown) => {
    throw new MotifError('DATA_EMPTY', `The corpus pointer needs the pieces the refits trained on, and ${dirs.join(', ')} could not be read from here (run from where they were trained).`, {
      cause: error,
      detail: dirs.join(', '),
    });
  });
  const split = splitCorpus(corpus.pieces);
  const pieces = [...split.train, ...split.valid];
  const trained = refit.spec.training.data.reduce((sum, d) => sum + d.pieces, 0);
  if (pieces.length !== trained) {
    throw new MotifError('OPTION_OUT_OF_RANGE', `The refits trained on ${trained} pieces of ${dirs.join(', ')}, which now holds ${pieces.length}; the corpus pointer needs the same pieces.`, {
      detail: dirs.join(', '),
    });
  }
  return pieces.map((p) => refit.tokenizer.encode(p.sequence, { onUnknown: 'skip' }));
}
