/** Training windows know where in its piece each input sits, wherever the window was cut. */
import { describe, expect, it } from 'vitest';
import { epochBatches, evaluationBatches, joinStreams } from '../../src/ml/training/batches.js';

describe('token streams and windows', () => {
  it('GIVEN pieces laid end to end WHEN windows are cut at random offsets THEN every input carries its index within its own piece', () => {
    // Every id is unique, so an input's place in the stream can be found from its value.
    const pieces = [
      [10, 11, 12, 13, 14],
      [20, 21, 22, 23],
      [30, 31, 32, 33, 34, 35, 36],
    ];
    const stream = joinStreams(pieces);
    expect(Array.from(stream.positions)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6]);
    let seed = 0.17;
    const random = (): number => (seed = (seed * 9301 + 0.49297) % 1);
    for (const batch of [...epochBatches(stream, 2, 5, random), ...evaluationBatches(stream, 2, 5)]) {
      for (let i = 0; i < batch.inputs.length; i++) {
        const at = stream.ids.indexOf(batch.inputs[i]!);
        expect(batch.positions[i], `input ${batch.inputs[i]}`).toBe(stream.positions[at]);
      }
    }
  });

  it('GIVEN a separator between pieces WHEN joined THEN the separator is each piece\'s index 0', () => {
    const stream = joinStreams([[5, 6], [7]], { separatorId: 0 });
    expect(Array.from(stream.ids)).toEqual([0, 5, 6, 0, 7]);
    expect(Array.from(stream.positions)).toEqual([0, 1, 2, 0, 1]);
  });

  it('GIVEN an encoding\'s own positions WHEN pieces are joined THEN each piece gets them from its first token and windows carry them', () => {
    // Positions as an encoding would give them (here: id mod 3), computed per piece, never across.
    const pieces = [
      [10, 11, 12, 13],
      [21, 22, 23],
    ];
    const stream = joinStreams(pieces, { positionsOf: (ids) => Int32Array.from(ids, (id) => id % 3) });
    expect(Array.from(stream.positions)).toEqual([1, 2, 0, 1, 0, 1, 2]);
    for (const batch of evaluationBatches(stream, 1, 3)) {
      for (let i = 0; i < batch.inputs.length; i++) expect(batch.positions[i]).toBe(batch.inputs[i]! % 3);
    }
    expect(() => joinStreams(pieces, { positionsOf: () => new Int32Array(1) })).toThrow(RangeError);
  });
});
