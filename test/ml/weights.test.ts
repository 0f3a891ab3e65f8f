/** Weights files: round trip, and every way a model folder can be damaged is refused clearly. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWeights, saveWeights, WEIGHTS_FILE, WEIGHTS_MANIFEST_FILE, type NamedWeights } from '../../src/ml/weights.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-weights-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const weights: NamedWeights = {
  embedding: { shape: [3, 2], values: Float32Array.of(0.5, -1.25, 3e-8, 7, -0, 1e30) },
  'dense/bias': { shape: [3], values: Float32Array.of(1, 2, 3) },
};
const shapes = { embedding: [3, 2], 'dense/bias': [3] };

describe('model weights files', () => {
  it('GIVEN weights WHEN saved and loaded THEN every value and shape comes back bit for bit', async () => {
    const manifest = await saveWeights(dir, weights);
    expect(manifest.byteLength).toBe(36);
    const loaded = await loadWeights(dir, shapes);
    expect(loaded.embedding!.shape).toEqual([3, 2]);
    expect(Array.from(loaded.embedding!.values)).toEqual(Array.from(weights.embedding!.values));
    expect(Array.from(loaded['dense/bias']!.values)).toEqual([1, 2, 3]);
  });

  it('GIVEN one flipped byte WHEN loading THEN MODEL_CORRUPT (checksum)', async () => {
    await saveWeights(dir, weights);
    const blob = await readFile(join(dir, WEIGHTS_FILE));
    blob[5] = blob[5]! ^ 0xff;
    await writeFile(join(dir, WEIGHTS_FILE), blob);
    await expect(loadWeights(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/checksum/) });
  });

  it('GIVEN a truncated blob WHEN loading THEN MODEL_CORRUPT naming the size', async () => {
    await saveWeights(dir, weights);
    const blob = await readFile(join(dir, WEIGHTS_FILE));
    await writeFile(join(dir, WEIGHTS_FILE), blob.subarray(0, 20));
    await expect(loadWeights(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/20 bytes/) });
  });

  it('GIVEN a manifest that is not JSON WHEN loading THEN MODEL_CORRUPT', async () => {
    await saveWeights(dir, weights);
    await writeFile(join(dir, WEIGHTS_MANIFEST_FILE), '{"format": "motif-weig');
    await expect(loadWeights(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
  });

  it('GIVEN weights for another vocabulary WHEN loading with the spec shapes THEN MODEL_MISMATCH names the tensor', async () => {
    await saveWeights(dir, weights);
    await expect(loadWeights(dir, { embedding: [4, 2], 'dense/bias': [4] })).rejects.toMatchObject({
      code: 'MODEL_MISMATCH',
      message: expect.stringMatching(/embedding has shape \[3, 2\], the model needs \[4, 2\]/),
    });
    await expect(loadWeights(dir, { embedding: [3, 2] })).rejects.toMatchObject({ code: 'MODEL_MISMATCH' });
  });

  it('GIVEN an empty folder WHEN loading THEN MODEL_NOT_FOUND with a user-facing message', async () => {
    await expect(loadWeights(dir)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', userMessage: expect.stringMatching(/train the model first/) });
  });

  it('GIVEN a shape that does not match its values WHEN saving THEN nothing is written', async () => {
    await expect(saveWeights(dir, { bad: { shape: [2, 2], values: new Float32Array(3) } })).rejects.toThrow(RangeError);
    await expect(loadWeights(dir)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});
