import { describe, expect, it } from 'vitest';
import { splitCorpus, type CorpusPiece } from '../../src/music/corpus.js';
import { emptySequence } from '../../src/music/note-sequence.js';

const pieces = (n: number): CorpusPiece[] => Array.from({ length: n }, (_, i) => ({ id: `uploads/piece-${i}.mid`, sequence: emptySequence() }));

describe('splitCorpus', () => {
  it('GIVEN a guild with three uploads THEN two train, one validates, none is held out for testing', () => {
    const split = splitCorpus(pieces(3));
    expect(split.test).toHaveLength(0);
    expect(split.valid).toHaveLength(1);
    expect(split.train).toHaveLength(2);
  });

  it('GIVEN a large corpus THEN the split is stable: the same piece always lands in the same part', () => {
    const a = splitCorpus(pieces(200));
    const b = splitCorpus(pieces(200).reverse());
    expect(new Set(a.test.map((p) => p.id))).toEqual(new Set(b.test.map((p) => p.id)));
    expect(a.test.length).toBeGreaterThan(5);
    expect(a.valid.length).toBeGreaterThan(5);
  });

  it('GIVEN JSB chorale ids THEN their published split is kept', () => {
    const jsb = ['train-0', 'valid-0', 'test-0'].map((s) => ({ id: `jsb-chorales/jsb_chorales_16th.json#${s}`, sequence: emptySequence() }));
    const split = splitCorpus([...jsb, ...pieces(20)]);
    expect(split.test.map((p) => p.id)).toContain('jsb-chorales/jsb_chorales_16th.json#test-0');
    expect(split.valid.map((p) => p.id)).toContain('jsb-chorales/jsb_chorales_16th.json#valid-0');
  });
});
