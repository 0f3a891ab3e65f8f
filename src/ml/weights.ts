/**
 * A model directory's weights: one little-endian float32 blob (`weights.bin`) plus a JSON manifest
 * (`weights.json`) naming each tensor, its shape and byte range, and the blob's sha256.
 *
 * Loading checks everything before anything is used (format, sizes, checksum, and optionally the
 * shapes the caller's spec expects), because a weights file that silently disagrees with its
 * vocabulary is exactly the bug the tutorial's ancestor ships.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MotifError } from '../errors.js';

/** Tensors by name; `values` is row-major and has exactly product(shape) elements. */
export type NamedWeights = Record<string, { shape: number[]; values: Float32Array }>;

export const WEIGHTS_FILE = 'weights.bin';
export const WEIGHTS_MANIFEST_FILE = 'weights.json';

export interface WeightsManifestEntry {
  name: string;
  shape: number[];
  /** Byte offset in weights.bin (multiple of 4). */
  offsetBytes: number;
}

export interface WeightsManifest {
  format: 'motif-weights';
  version: 1;
  dtype: 'float32';
  byteLength: number;
  sha256: string;
  tensors: WeightsManifestEntry[];
}

/**
 * Writes weights.bin and weights.json into `dir` (created if needed). Each file is written to a
 * temporary name and renamed, so a crash never leaves a half-written pair behind a valid name.
 * @throws RangeError when a tensor's values do not fill its shape (a programming error).
 */
export async function saveWeights(dir: string, weights: NamedWeights): Promise<WeightsManifest> {
  const tensors: WeightsManifestEntry[] = [];
  let offsetBytes = 0;
  for (const [name, { shape, values }] of Object.entries(weights)) {
    if (values.length !== elementCount(shape)) {
      throw new RangeError(`weight ${name} has ${values.length} values but shape [${shape.join(', ')}]`);
    }
    tensors.push({ name, shape: [...shape], offsetBytes });
    offsetBytes += values.length * 4;
  }
  const blob = Buffer.alloc(offsetBytes);
  for (const entry of tensors) {
    const values = weights[entry.name]!.values;
    for (let i = 0; i < values.length; i++) blob.writeFloatLE(values[i]!, entry.offsetBytes + i * 4);
  }
  const manifest: WeightsManifest = {
    format: 'motif-weights',
    version: 1,
    dtype: 'float32',
    byteLength: blob.length,
    sha256: createHash('sha256').update(blob).digest('hex'),
    tensors,
  };
  await mkdir(dir, { recursive: true });
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  const binPath = join(dir, WEIGHTS_FILE);
  const jsonPath = join(dir, WEIGHTS_MANIFEST_FILE);
  try {
    await writeFile(binPath + suffix, blob);
    await writeFile(jsonPath + suffix, `${JSON.stringify(manifest, null, 1)}\n`);
    await rename(binPath + suffix, binPath);
    await rename(jsonPath + suffix, jsonPath);
  } finally {
    await rm(binPath + suffix, { force: true });
    await rm(jsonPath + suffix, { force: true });
  }
  return manifest;
}

/**
 * Reads and verifies a model directory's weights.
 * @param expectedShapes when given, every listed name must be present with exactly this shape and
 *   no other tensor may be present (the model spec's view of the network).
 * @throws MotifError MODEL_NOT_FOUND when the files are missing, MODEL_CORRUPT when the manifest is
 *   unreadable, the blob has the wrong size or checksum, or tensors overlap/overrun; MODEL_MISMATCH
 *   when the shapes disagree with `expectedShapes` (e.g. weights trained on another vocabulary).
 */
export async function loadWeights(dir: string, expectedShapes?: Record<string, number[]>): Promise<NamedWeights> {
  const manifestText = await readOrNotFound(join(dir, WEIGHTS_MANIFEST_FILE));
  const blob = await readOrNotFound(join(dir, WEIGHTS_FILE));
  const manifest = parseManifest(manifestText.toString('utf8'));
  if (blob.length !== manifest.byteLength) {
    throw corrupt(`weights.bin has ${blob.length} bytes, the manifest says ${manifest.byteLength}`);
  }
  const digest = createHash('sha256').update(blob).digest('hex');
  if (digest !== manifest.sha256) throw corrupt('weights.bin checksum does not match its manifest');

  const weights: NamedWeights = {};
  let expectedOffset = 0;
  for (const entry of manifest.tensors) {
    const count = elementCount(entry.shape);
    if (entry.offsetBytes !== expectedOffset || entry.offsetBytes + count * 4 > blob.length || weights[entry.name]) {
      throw corrupt(`tensor ${entry.name} has an invalid byte range or a duplicate name`);
    }
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = blob.readFloatLE(entry.offsetBytes + i * 4);
    weights[entry.name] = { shape: [...entry.shape], values };
    expectedOffset += count * 4;
  }
  if (expectedOffset !== blob.length) throw corrupt('weights.bin has bytes no tensor accounts for');
  if (expectedShapes) assertWeightShapes(weights, expectedShapes);
  return weights;
}

/**
 * Checks that `weights` holds exactly the tensors of `expectedShapes`.
 * @throws MotifError MODEL_MISMATCH naming the first disagreement.
 */
export function assertWeightShapes(weights: NamedWeights, expectedShapes: Record<string, number[]>): void {
  for (const [name, shape] of Object.entries(expectedShapes)) {
    const actual = weights[name];
    if (!actual) throw mismatch(`weight ${name} is missing`);
    if (!sameShape(actual.shape, shape)) {
      throw mismatch(`weight ${name} has shape [${actual.shape.join(', ')}], the model needs [${shape.join(', ')}]`);
    }
    if (actual.values.length !== elementCount(shape)) throw mismatch(`weight ${name} has the wrong number of values`);
  }
  for (const name of Object.keys(weights)) {
    if (!(name in expectedShapes)) throw mismatch(`weight ${name} does not belong to this model`);
  }
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function parseManifest(text: string): WeightsManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw corrupt('weights.json is not valid JSON', error);
  }
  const m = raw as Partial<WeightsManifest> | null;
  const tensorsOk =
    Array.isArray(m?.tensors) &&
    m.tensors.every(
      (t: Partial<WeightsManifestEntry>) =>
        typeof t?.name === 'string' &&
        Array.isArray(t.shape) &&
        t.shape.every((d) => Number.isInteger(d) && d >= 0) &&
        Number.isInteger(t.offsetBytes),
    );
  if (
    !m ||
    m.format !== 'motif-weights' ||
    m.version !== 1 ||
    m.dtype !== 'float32' ||
    !Number.isInteger(m.byteLength) ||
    typeof m.sha256 !== 'string' ||
    !tensorsOk
  ) {
    throw corrupt('weights.json is not a Motif weights manifest');
  }
  return m as WeightsManifest;
}

async function readOrNotFound(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MotifError('MODEL_NOT_FOUND', 'That model folder has no weights: train the model first or pick another folder.', {
        cause: error,
        detail: path,
      });
    }
    throw corrupt('the weights could not be read', error);
  }
}

function corrupt(detail: string, cause?: unknown): MotifError {
  return new MotifError('MODEL_CORRUPT', 'The model weights are damaged; retrain the model or restore its folder.', { detail, cause });
}

function mismatch(detail: string): MotifError {
  return new MotifError(
    'MODEL_MISMATCH',
    'The model weights do not match its description (vocabulary or layer sizes differ); retrain or restore the model folder.',
    { detail },
  );
}
