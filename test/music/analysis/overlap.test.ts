import { describe, expect, it } from 'vitest';
import { computeFeatures, type PieceFeatures } from '../../../src/music/analysis/features.js';
import { compareDistributions, interSetDistances, overlapForVectors, overlapTable } from '../../../src/music/analysis/overlap.js';
import { emptySequence, type NoteSequence } from '../../../src/music/note-sequence.js';
import { createRng, type Rng } from '../../../src/music/random.js';

function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

function randomMelody(rng: Rng, centre: number, spread: number): NoteSequence {
  const seq = emptySequence();
  let step = 0;
  for (let i = 0; i < 40; i++) {
    const length = 1 + Math.floor(rng() * 4);
    const pitch = Math.max(0, Math.min(127, Math.round(centre + spread * normal(rng))));
    seq.notes.push({ pitch, startStep: step, endStep: step + length, velocity: 80, program: 0, isDrum: false, track: 0 });
    step += length;
  }
  seq.totalSteps = step;
  return seq;
}

describe('Yang & Lerch overlap area', () => {
  it('GIVEN two identical samples WHEN compared THEN the overlap is 1 and KL is 0', () => {
    const xs = [1, 2, 2.5, 3, 7, 8];
    const { overlapArea, klDivergence } = compareDistributions(xs, xs);
    expect(overlapArea).toBeCloseTo(1, 3);
    expect(klDivergence).toBeCloseTo(0, 6);
  });

  it('GIVEN samples from one normal vs a normal 6σ away WHEN compared THEN overlap is high for the first and near 0 for the second', () => {
    const rng = createRng(3);
    const a = Array.from({ length: 300 }, () => normal(rng));
    const b = Array.from({ length: 300 }, () => normal(rng));
    const far = Array.from({ length: 300 }, () => 6 + normal(rng));
    const near = compareDistributions(a, b);
    const apart = compareDistributions(a, far);
    expect(near.overlapArea).toBeGreaterThan(0.85);
    expect(apart.overlapArea).toBeLessThan(0.05);
    expect(apart.klDivergence).toBeGreaterThan(near.klDivergence * 10);
  });

  it('GIVEN constant features in both sets WHEN compared THEN identical constants overlap fully and different ones not at all', () => {
    const same = overlapForVectors('scaleConsistency', [[1], [1], [1]], [[1], [1]]);
    expect(same.overlapArea).toBeCloseTo(1, 3);
    const different = compareDistributions([0, 0, 0], [5, 5, 5]);
    expect(different.overlapArea).toBeLessThan(1e-6);
  });

  it('GIVEN 22 real pieces and 100 samples drawn from one yes/no distribution WHEN compared THEN the overlap is near 1, not lowered by the unequal set sizes', () => {
    // Like "ends on the tonic" on the 22 held-out piano pieces. With a Scott bandwidth per PDF the
    // 2,200 inter-set distances got a narrower kernel than the 231 intra-set ones, and a generator
    // drawing from the real distribution itself scored 0.79 on average.
    const rng = createRng(5);
    const draw = (p: number) => [rng() < p ? 1 : 0];
    const mean = (p: number, q: number) => {
      let sum = 0;
      for (let r = 0; r < 20; r++) {
        const real = Array.from({ length: 22 }, () => draw(p));
        const generated = Array.from({ length: 100 }, () => draw(q));
        sum += overlapForVectors('endsOnTonic', real, generated).overlapArea;
      }
      return sum / 20;
    };
    const alike = mean(0.6, 0.6);
    expect(alike).toBeGreaterThan(0.93);
    // A generator that always says yes is still told apart from one that matches.
    expect(mean(0.6, 1)).toBeLessThan(alike - 0.03);
  });

  it('GIVEN excerpts cut from the real pieces WHEN compared with sources THEN no piece meets its own excerpt in the distances across', () => {
    const real = [[0], [10], [20]];
    const excerpts = [[0], [10], [20]];
    const rng = createRng(1);
    expect(interSetDistances(real, excerpts, 100, rng).filter((d) => d === 0)).toHaveLength(3);
    const across = interSetDistances(real, excerpts, 100, rng, [0, 1, 2]);
    expect(across.sort((a, b) => a - b)).toEqual([10, 10, 10, 10, 20, 20]);
    // Sampled (more pairs than the cap), still never a piece against its own excerpt.
    const sampled = interSetDistances(real, excerpts, 4, rng, [0, 1, 2]);
    expect(sampled).toHaveLength(4);
    expect(sampled.every((d) => d > 0)).toBe(true);
  });

  it('GIVEN generated pieces like the real ones vs pieces in another register WHEN tabulated THEN pitch features separate them', () => {
    const rng = createRng(11);
    const real = Array.from({ length: 60 }, () => computeFeatures(randomMelody(rng, 64, 4)));
    const alike = Array.from({ length: 60 }, () => computeFeatures(randomMelody(rng, 64, 4)));
    const wide = Array.from({ length: 60 }, () => computeFeatures(randomMelody(rng, 64, 14)));
    const alikeTable = overlapTable(real, alike);
    const wideTable = overlapTable(real, wide);
    const row = (set: PieceFeatures[], name: string) => (set === alike ? alikeTable : wideTable).find((r) => r.feature === name)!;
    expect(alikeTable).toHaveLength(14);
    expect(row(alike, 'pitchRange').overlapArea).toBeGreaterThan(0.7);
    expect(row(wide, 'pitchRange').overlapArea).toBeLessThan(0.3);
    expect(row(wide, 'averageInterval').overlapArea).toBeLessThan(row(alike, 'averageInterval').overlapArea);
    expect(row(wide, 'pitchRange').generated.mean).toBeGreaterThan(row(wide, 'pitchRange').real.mean * 2);
  });
});
