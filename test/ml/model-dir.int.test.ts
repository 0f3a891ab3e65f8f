import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/ml/model-dir.js';
import { trainTinyModel } from '../support/tiny-model.js';

let modelDir: string;

async function copyModel(): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'motif-broken-')), 'model');
  await cp(modelDir, dir, { recursive: true });
  return dir;
}

describe('loadModel on bad model folders', () => {
  beforeAll(async () => {
    modelDir = await trainTinyModel();
  });

  it('GIVEN an unknown folder THEN MODEL_NOT_FOUND says how to get a model', async () => {
    await expect(loadModel(join(tmpdir(), 'no-such-model-here'))).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      userMessage: expect.stringContaining('npm run train'),
    });
  });

  it('GIVEN weights with flipped bytes THEN MODEL_CORRUPT', async () => {
    const dir = await copyModel();
    const bytes = await readFile(join(dir, 'weights.bin'));
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(join(dir, 'weights.bin'), bytes);
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
  });

  it('GIVEN a spec.json that is not JSON THEN MODEL_CORRUPT', async () => {
    const dir = await copyModel();
    await writeFile(join(dir, 'spec.json'), '{ not json');
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
  });

  it('GIVEN a spec whose vocabulary disagrees with its own numbers THEN MODEL_MISMATCH', async () => {
    const dir = await copyModel();
    const spec = JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'));
    spec.tokenizer = { name: 'seed', version: 1, vocabulary: ['C4', 'D4', 'E4'] };
    await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_MISMATCH' });
  });

  it('GIVEN weights trained on another vocabulary than the spec (the tutorial ancestor bug) THEN MODEL_MISMATCH, not garbage music', async () => {
    const dir = await copyModel();
    const spec = JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'));
    // Five more pitches: a consistent spec of 5 more tokens, but the weights still have the old size.
    spec.tokenizer.config.pitchMax += 5;
    spec.vocabSize += 5;
    spec.network.vocabSize += 5;
    await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_MISMATCH', userMessage: expect.any(String) });
  });
});
