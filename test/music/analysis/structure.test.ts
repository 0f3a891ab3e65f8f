import { describe, expect, it } from 'vitest';
import { computeStructure } from '../../../src/music/analysis/structure.js';
import { emptySequence, type Note, type NoteSequence } from '../../../src/music/note-sequence.js';

/** One bar of 4/4 (16 steps) per entry: [pitch, startStepInBar, lengthSteps][]. */
function piece(bars: [number, number, number][][]): NoteSequence {
  const seq = emptySequence();
  seq.notes = bars.flatMap((bar, b) =>
    bar.map(([pitch, start, length]): Note => ({ pitch, startStep: b * 16 + start, endStep: b * 16 + start + length, velocity: 80, program: 0, isDrum: false, track: 0 })),
  );
  seq.totalSteps = bars.length * 16;
  return seq;
}

const C_MAJOR_RUN: [number, number, number][] = [[60, 0, 4], [62, 4, 4], [64, 8, 4], [65, 12, 4]];
const up = (bar: [number, number, number][], semitones: number): [number, number, number][] => bar.map(([p, s, l]) => [p + semitones, s, l]);

describe('structure features', () => {
  it('GIVEN bars that repeat, one of them transposed WHEN measured THEN they count as repeats', () => {
    const other: [number, number, number][] = [[67, 0, 8], [64, 8, 8]];
    const f = computeStructure(piece([C_MAJOR_RUN, other, up(C_MAJOR_RUN, 2), C_MAJOR_RUN, [[60, 0, 16]]]));
    // Of the 4 bars after the first: bar 3 (transposed) and bar 4 (exact) repeat bar 1.
    expect(f.barRepetition).toBeCloseTo(2 / 4, 10);
  });

  it('GIVEN all-different bars WHEN measured THEN nothing repeats', () => {
    const f = computeStructure(piece([C_MAJOR_RUN, [[67, 0, 8], [64, 8, 8]], [[65, 0, 4], [69, 4, 12]], [[60, 0, 16]]]));
    expect(f.barRepetition).toBe(0);
  });

  it('GIVEN a C major tune ending on C, or on D WHEN measured THEN endsOnTonic is 1, then 0', () => {
    const cadence: [number, number, number][] = [[67, 0, 4], [71, 4, 4], [74, 8, 4], [67, 12, 4]];
    const body: [number, number, number][][] = [C_MAJOR_RUN, cadence, C_MAJOR_RUN, [[64, 0, 4], [65, 4, 4], [67, 8, 8]]];
    expect(computeStructure(piece([...body, [[60, 0, 16]]])).endsOnTonic).toBe(1);
    expect(computeStructure(piece([...body, [[62, 0, 16]]])).endsOnTonic).toBe(0);
  });

  it('GIVEN 8 bars in C then 8 bars moved to F# WHEN measured THEN key stability is about half', () => {
    type Bar = [number, number, number][];
    const phrase: Bar[] = [C_MAJOR_RUN, [[67, 0, 4], [64, 4, 4], [62, 8, 4], [60, 12, 4]], up(C_MAJOR_RUN, 7), [[60, 0, 8], [67, 8, 8]]];
    const inC = [...phrase, ...phrase];
    const f = computeStructure(piece([...inC, ...inC.map((b) => up(b, 6))]));
    expect(f.keyStability).toBeGreaterThan(0.3);
    expect(f.keyStability).toBeLessThan(0.75);
    expect(computeStructure(piece(inC)).keyStability).toBe(1);
  });
});
