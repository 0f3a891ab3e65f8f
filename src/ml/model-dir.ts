/**
 * A model directory: `spec.json` (architecture, tokenizer with its vocabulary, training data and
 * command, metrics), the weights (`weights.bin` + `weights.json`), `copy-index.json` for the
 * originality score, `loss-curve.png` and a model card. Written to a temp directory and renamed, so
 * a reader never sees half a model.
 */
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MotifError, isMotifError } from '../errors.js';
import { copyIndexFromJson, type CopyIndex, type CopyIndexJson } from '../music/analysis/originality.js';
import { tokenizerFromSpec, type Tokenizer, type TokenizerSpec } from '../music/tokenizers/index.js';
import { LanguageModel, type LanguageModelConfig } from './network/language-model.js';
import { TutorialModel, type TutorialModelConfig } from './network/tutorial-model.js';
import { z } from 'zod';
import { replaceDirAtomic, writeFileAtomic } from '../util/atomic-write.js';
import { asDiskFull, isDiskFull } from '../util/disk-full.js';
import type { CopyCacheConfig } from './copy-cache.js';
import { CorpusIndex, decodeCorpus, supportsCorpusPointer, type CorpusPointerConfig, type ScoringCorpus } from './corpus-pointer.js';
import { loadWeights, saveWeights, WEIGHTS_FILE, WEIGHTS_MANIFEST_FILE, type NamedWeights } from './weights.js';

export const SPEC_FILE = 'spec.json';
export const COPY_INDEX_FILE = 'copy-index.json';
export const LOSS_CURVE_FILE = 'loss-curve.png';
/** The token ids of the pieces the networks trained on, for the corpus pointer (corpus-pointer.ts). */
export const CORPUS_FILE = 'corpus-pointer.bin';

export type Arch = 'lm' | 'seed';

export interface ModelSpec {
  format: 'motif-model';
  version: 1;
  name: string;
  /** 'lm': our embedding + fast LSTM language model; 'seed': the tutorial's network, kept as a baseline. */
  arch: Arch;
  tokenizer: TokenizerSpec;
  vocabSize: number;
  network: LanguageModelConfig | TutorialModelConfig;
  /** Window length used in training (and by the tutorial's windowed sampling). */
  sequenceLength: number;
  training: {
    command: string;
    data: { dir: string; pieces: number; tokens: number }[];
    skippedFiles: number;
    epochs: number;
    bestEpoch: number;
    batchSize: number;
    randomSeed: number;
    augmentTransposeSemitones: number;
    wallSeconds: number;
    tokensPerSecond: number;
    history: { epoch: number; trainLoss: number; validLoss?: number; seconds: number; tokensPerSecond: number }[];
    fromModel?: string;
    /** Trained on the validation pieces too (`train --train-on-valid`): nothing may be fitted on them. */
    trainOnValid?: boolean;
  };
  metrics: Record<string, number>;
  /** The copy cache mixed into scoring and sampling (see copy-cache.ts); absent = the LSTM alone. */
  copyCache?: CopyCacheConfig;
  /** Other networks whose predictions are mixed with this one's (see EnsembleSpec); absent = this network alone. */
  ensemble?: EnsembleSpec;
  /** The pointer into the training pieces (CORPUS_FILE) mixed into scoring, not sampling (see corpus-pointer.ts). */
  corpusPointer?: CorpusPointerConfig;
  createdAt: string;
}

/**
 * An ensemble: the model's own network and the networks in `members` (sub-folders of the model
 * folder, each a model folder of its own with the same tokens) predict together, their
 * probabilities mixed with `weights` (this network's first; they sum to 1). Independently trained
 * networks get different things wrong, so the mixture predicts better than any one of them.
 */
export interface EnsembleSpec {
  members: string[];
  weights: number[];
  /**
   * Each network also predicts from the piece moved by these semitones (0 among them), and its
   * views are averaged (transposed-views.ts). Absent: the piece as it is only.
   */
  transpositions?: number[];
}

/** Where `npm run ensemble` puts the members, inside the model folder. */
export const ENSEMBLE_DIR = 'members';

/** The files of one member network under ENSEMBLE_DIR: its spec and weights. */
export const MEMBER_FILES: readonly string[] = [SPEC_FILE, WEIGHTS_FILE, WEIGHTS_MANIFEST_FILE];

/** Transposed views go at most this many semitones up or down (a tritone either way covers every key). */
export const MAX_TRANSPOSITION = 6;

const ensembleSchema = z
  .object({
    members: z.array(z.string().regex(/^members\/[a-z0-9][a-z0-9-]{0,63}$/)).max(7),
    weights: z.array(z.number().positive().max(1)).min(1).max(8),
    transpositions: z
      .array(z.number().int().min(-MAX_TRANSPOSITION).max(MAX_TRANSPOSITION))
      .min(2)
      .max(2 * MAX_TRANSPOSITION + 1)
      .refine((t) => t.includes(0) && new Set(t).size === t.length)
      .optional(),
  })
  .refine(
    (e) =>
      (e.members.length > 0 || e.transpositions !== undefined) &&
      e.weights.length === e.members.length + 1 &&
      Math.abs(e.weights.reduce((a, b) => a + b, 0) - 1) < 1e-6,
  );

/** What every pointer's settings say about its matches (copy-cache.ts, corpus-pointer.ts). */
const matchFields = {
  minMatch: z.number().int().min(1).max(1024),
  maxMatch: z.number().int().min(1).max(4096),
  bucketEdges: z.array(z.number().int().min(1)).min(1).max(64),
};

const lineCacheSchema = z
  .object({
    stride: z.number().int().min(2).max(64),
    ...matchFields,
    weights: z.array(z.array(z.number().min(0).max(1)).length(3)).max(65 * 65),
  })
  .refine((l) => l.maxMatch >= l.minMatch && l.weights.every((w) => Math.abs(w[0]! + w[1]! + w[2]! - 1) < 1e-3));

const copyCacheSchema = z
  .object({
    ...matchFields,
    lambdas: z.array(z.number().min(0).max(1)).min(1).max(64),
    samePlace: z.boolean().optional(),
    lines: lineCacheSchema.optional(),
  })
  .refine(
    (c) =>
      c.lambdas.length === c.bucketEdges.length &&
      c.maxMatch >= c.minMatch &&
      (!c.lines || c.lines.weights.length === (c.bucketEdges.length + 1) * (c.lines.bucketEdges.length + 1)),
  );

const corpusPointerSchema = z
  .object({
    stride: z.number().int().min(2).max(64),
    ...matchFields,
    // A match of one token would be every pitch: each guess would scan the whole corpus.
    minMatch: z.number().int().min(2).max(1024),
    weights: z.array(z.array(z.number().min(0).max(0.999))).min(2).max(64),
  })
  .refine(
    (c) =>
      c.maxMatch >= c.minMatch &&
      c.bucketEdges.every((edge, i) => edge >= c.minMatch && (i === 0 || edge > c.bucketEdges[i - 1]!)) &&
      c.weights.length === c.stride &&
      c.weights.every((row) => row.length === c.bucketEdges.length),
  );

export type Network = LanguageModel | TutorialModel;

export interface LoadedModel {
  dir: string;
  spec: ModelSpec;
  tokenizer: Tokenizer;
  network: Network;
  copyIndex?: CopyIndex;
  /** Validated copy-cache settings from the spec (undefined when absent or damaged). */
  copyCache?: CopyCacheConfig;
  /** With an ensemble (ModelSpec.ensemble): every network that predicts, this model's first, and its weight. */
  ensemble?: EnsembleMember[];
  /**
   * Validated corpus-pointer settings (undefined when absent, damaged or not for this encoding); its
   * pieces are read only when scoring needs them (loadCorpusPointer), as composing never does.
   */
  corpusPointer?: CorpusPointerConfig;
}

export interface EnsembleMember {
  network: LanguageModel;
  /** The member's own tokenizer: same tokens, but it may read other positions (Tokenizer.createPositionTracker). */
  tokenizer: Tokenizer;
  weight: number;
  /** The semitones of its transposed views (EnsembleSpec.transpositions); undefined: the piece as it is. */
  transpositions?: readonly number[];
}

/** Builds an untrained network for a spec's architecture. */
export async function createNetwork(arch: Arch, config: LanguageModelConfig | TutorialModelConfig): Promise<Network> {
  return arch === 'lm'
    ? LanguageModel.create(config as LanguageModelConfig)
    : TutorialModel.create(config as TutorialModelConfig);
}

/**
 * Loads and checks a model directory.
 * @throws MotifError MODEL_NOT_FOUND (no such folder or no spec), MODEL_CORRUPT (unreadable spec or
 *   weights), MODEL_MISMATCH (weights that do not fit the spec's vocabulary or sizes).
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory() || !existsSync(join(dir, SPEC_FILE))) {
    throw new MotifError('MODEL_NOT_FOUND', `No model was found in “${basename(dir)}”. Train one with \`npm run train\` or use the default model.`, {
      detail: dir,
    });
  }
  const spec = parseSpec(await readFile(join(dir, SPEC_FILE), 'utf8'), dir);
  const tokenizer = tokenizerFromSpec(spec.tokenizer);
  if (tokenizer.vocabSize !== spec.vocabSize || spec.network.vocabSize !== spec.vocabSize) {
    throw new MotifError('MODEL_MISMATCH', 'This model’s vocabulary does not match its network; it cannot be used.', {
      detail: `tokenizer ${tokenizer.vocabSize}, spec ${spec.vocabSize}, network ${spec.network.vocabSize}`,
    });
  }
  const network = await createNetwork(spec.arch, spec.network);
  try {
    network.setWeights(await loadWeights(dir, network.weightShapes()));
  } catch (error) {
    network.dispose();
    throw error;
  }
  let copyIndex: CopyIndex | undefined;
  const copyText = await readFile(join(dir, COPY_INDEX_FILE), 'utf8').catch(() => undefined);
  if (copyText) {
    try {
      copyIndex = copyIndexFromJson(JSON.parse(copyText) as CopyIndexJson);
    } catch {
      // Originality is a bonus: a damaged index must not stop the model from composing.
      copyIndex = undefined;
    }
  }
  // Like the copy index, the cache only improves a model: damaged settings are dropped, not fatal.
  const cache = copyCacheSchema.safeParse(spec.copyCache);
  const model: LoadedModel = { dir, spec, tokenizer, network, copyIndex, copyCache: cache.success ? cache.data : undefined };
  const pointer = corpusPointerSchema.safeParse(spec.corpusPointer);
  if (pointer.success && supportsCorpusPointer(tokenizer) && pointer.data.stride === tokenizer.tokensPerStep) model.corpusPointer = pointer.data;
  if (spec.ensemble !== undefined) {
    try {
      model.ensemble = await loadEnsemble(model);
    } catch (error) {
      network.dispose();
      throw error;
    }
  }
  return model;
}

/**
 * The members of `model`'s ensemble, itself first. Unlike the cache, a damaged ensemble is fatal:
 * the model's figures and its music are the mixture's.
 * @throws MotifError MODEL_CORRUPT (a bad ensemble entry or a member that is not a plain network),
 *   MODEL_MISMATCH (a member with other tokens), and what loadModel throws for a member.
 */
async function loadEnsemble(model: LoadedModel): Promise<EnsembleMember[]> {
  const parsed = ensembleSchema.safeParse(model.spec.ensemble);
  if (!parsed.success || !(model.network instanceof LanguageModel) || (parsed.data.transpositions && !model.tokenizer.transposeId)) {
    throw new MotifError('MODEL_CORRUPT', 'The model’s ensemble settings are damaged.', { detail: model.dir });
  }
  const transpositions = parsed.data.transpositions;
  const members: EnsembleMember[] = [{ network: model.network, tokenizer: model.tokenizer, weight: parsed.data.weights[0]!, transpositions }];
  try {
    for (const [i, name] of parsed.data.members.entries()) {
      const member = await loadModel(join(model.dir, name));
      if (member.ensemble || !(member.network instanceof LanguageModel)) {
        disposeModel(member);
        throw new MotifError('MODEL_CORRUPT', 'An ensemble member must be a single network of the default architecture.', { detail: name });
      }
      members.push({ network: member.network, tokenizer: member.tokenizer, weight: parsed.data.weights[i + 1]!, transpositions });
      assertSameTokens(model.tokenizer, member.tokenizer, name);
    }
  } catch (error) {
    for (const m of members.slice(1)) m.network.dispose();
    throw error;
  }
  return members;
}

/**
 * Networks can be mixed when their ids mean the same notes; what their positions say may differ
 * (`voices` heldInput).
 * @throws MotifError MODEL_MISMATCH otherwise.
 */
export function assertSameTokens(a: Tokenizer, b: Tokenizer, name: string): void {
  const tokensOf = (t: Tokenizer): string => {
    const spec = t.toJSON() as { config?: Record<string, unknown> };
    return JSON.stringify({ ...spec, config: spec.config && { ...spec.config, heldInput: undefined } });
  };
  if (a.vocabSize !== b.vocabSize || tokensOf(a) !== tokensOf(b)) {
    throw new MotifError('MODEL_MISMATCH', `The ensemble member “${name}” uses other tokens than the model; they cannot predict together.`, { detail: name });
  }
}

/**
 * Refuses to fit anything (ensemble weights, copy cache) on validation pieces a network has
 * trained on (`train --train-on-valid`): it would trust the network too much.
 * @throws MotifError OPTION_OUT_OF_RANGE naming `name`.
 */
export function assertValidationHeldOut(spec: ModelSpec, name: string): void {
  if (spec.training.trainOnValid) {
    throw new MotifError(
      'OPTION_OUT_OF_RANGE',
      `${name} has trained on the validation pieces, so they cannot fit its mixture or copy cache. Fit with the networks as they were before, then swap the refits in with \`npm run ensemble -- --model DIR --refit DIR…\`.`,
      { detail: name },
    );
  }
}

/**
 * The model's corpus pointer with the pieces it points into, for scoring; undefined when it has
 * none or its corpus file is missing or damaged (the pointer only improves scores, like the cache).
 */
export async function loadCorpusPointer(model: Pick<LoadedModel, 'dir' | 'tokenizer' | 'corpusPointer'>): Promise<(ScoringCorpus & { pieces: number[][] }) | undefined> {
  const { corpusPointer: config, tokenizer } = model;
  if (!config || !supportsCorpusPointer(tokenizer)) return undefined;
  const bytes = await readFile(join(model.dir, CORPUS_FILE)).catch(() => undefined);
  const pieces = bytes && decodeCorpus(bytes, tokenizer.vocabSize);
  return pieces ? { config, pieces, index: new CorpusIndex(pieces, config, tokenizer) } : undefined;
}

/** Frees every network a loaded model holds (its ensemble members too). */
export function disposeModel(model: LoadedModel): void {
  model.network.dispose();
  for (const member of model.ensemble?.slice(1) ?? []) member.network.dispose();
}

/** Replaces a model's spec.json in place (atomically); weights and other files stay. */
export async function rewriteSpec(dir: string, spec: ModelSpec): Promise<void> {
  await writeFileAtomic(join(dir, SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
}

function parseSpec(text: string, dir: string): ModelSpec {
  let spec: ModelSpec;
  try {
    spec = JSON.parse(text) as ModelSpec;
  } catch (error) {
    throw new MotifError('MODEL_CORRUPT', 'The model’s spec.json is damaged.', { cause: error, detail: dir });
  }
  const ok =
    spec?.format === 'motif-model' &&
    spec.version === 1 &&
    (spec.arch === 'lm' || spec.arch === 'seed') &&
    Number.isInteger(spec.vocabSize) &&
    typeof spec.network === 'object' &&
    typeof spec.tokenizer === 'object';
  if (!ok) throw new MotifError('MODEL_CORRUPT', 'The model’s spec.json is not a Motif model spec.', { detail: dir });
  return spec;
}

export interface ModelFiles {
  spec: ModelSpec;
  weights: NamedWeights;
  copyIndex?: CopyIndexJson;
  lossCurvePng?: Buffer;
  /** Markdown model card. */
  card?: string;
}

/**
 * Writes a complete model directory atomically: everything goes into a sibling temp folder that is
 * renamed over `dir` only when complete (an older model at `dir` is replaced, never mixed).
 */
export async function saveModel(dir: string, files: ModelFiles): Promise<void> {
  try {
    await replaceDirAtomic(dir, async (temp) => {
      await saveWeights(temp, files.weights);
      if (files.copyIndex) await writeFile(join(temp, COPY_INDEX_FILE), JSON.stringify(files.copyIndex));
      if (files.lossCurvePng) await writeFile(join(temp, LOSS_CURVE_FILE), files.lossCurvePng);
      if (files.card) await writeFile(join(temp, 'MODEL_CARD.md'), files.card);
      await writeFile(join(temp, SPEC_FILE), `${JSON.stringify(files.spec, null, 2)}\n`);
    });
  } catch (error) {
    if (isDiskFull(error)) throw asDiskFull(error, 'The disk is full, so the trained model could not be saved; any model that was in its folder is kept.');
    throw isMotifError(error) ? error : new MotifError('TRAINING_FAILED', 'The trained model could not be saved.', { cause: error, detail: String(error) });
  }
}
