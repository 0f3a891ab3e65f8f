import { describe, expect, it } from 'vitest';
import { midiFilesIn, withDatasets } from '../../support/datasets.js';
import { fitMarkov } from '../../../src/music/analysis/markov.js';
import { readMidiFile } from '../../../src/music/midi-io.js';
import { createRng, shuffled } from '../../../src/music/random.js';
import { createEventTokenizer } from '../../../src/music/tokenizers/index.js';

const { itData } = withDatasets(import.meta.url);

describe('3-gram Markov baseline (interpolated Kneser–Ney)', () => {
  it('GIVEN a toy corpus WHEN fitted THEN every context gives a proper distribution over the whole vocabulary', () => {
    const model = fitMarkov([[0, 1, 2, 0, 1, 2, 0, 1, 3], [4, 4, 4, 1, 2]], 6);
    for (const [u, v] of [[-1, -1], [-1, 0], [0, 1], [1, 2], [5, 5], [4, 4], [2, 3]] as const) {
      let total = 0;
      for (let w = 0; w < 6; w++) {
        const p = model.prob(w, u, v);
        expect(p).toBeGreaterThan(0);
        total += p;
      }
      expect(total).toBeCloseTo(1, 10);
    }
    // The pattern 0 1 → 2 dominates the unseen token 5.
    expect(model.prob(2, 0, 1)).toBeGreaterThan(10 * model.prob(5, 0, 1));
  });

  itData('GIVEN event tokens of real tunes WHEN scored THEN NLL on the training tokens is lower than on the same tokens shuffled', async () => {
    const tokenizer = createEventTokenizer();
    const files = midiFilesIn('nottingham/MIDI').slice(0, 30);
    const sequences = await Promise.all(files.map(async (f) => tokenizer.encode(await readMidiFile(f))));
    const model = fitMarkov(sequences.slice(0, 25), tokenizer.vocabSize);
    const train = model.nllPerToken(sequences.slice(0, 25));
    const heldOut = model.nllPerToken(sequences.slice(25));
    const rng = createRng(1);
    const scrambled = model.nllPerToken(sequences.slice(25).map((s) => shuffled(s, rng)));
    expect(train.tokens).toBe(sequences.slice(0, 25).reduce((s, x) => s + x.length, 0));
    expect(train.nllPerToken).toBeLessThan(heldOut.nllPerToken);
    expect(heldOut.nllPerToken).toBeLessThan(scrambled.nllPerToken);
    expect(heldOut.nllPerToken).toBeLessThan(Math.log(tokenizer.vocabSize)); // beats the uniform guess
  });

  it('GIVEN a fitted model and a seed WHEN sampling THEN ids are in range and the same seed gives the same ids', () => {
    const model = fitMarkov([[0, 1, 2, 3, 0, 1, 2, 3, 0, 2]], 5);
    const a = model.sample(createRng(9), 50, [0, 1]);
    const b = model.sample(createRng(9), 50, [0, 1]);
    expect(a).toEqual(b);
    expect(a).toHaveLength(50);
    expect(a.every((id) => Number.isInteger(id) && id >= 0 && id < 5)).toBe(true);
    expect(model.sample(createRng(10), 50, [0, 1])).not.toEqual(a);
  });
});
