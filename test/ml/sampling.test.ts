import { describe, expect, it } from 'vitest';
import { argmax, logSoftmax, sampleToken } from '../../src/ml/sampling.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('sampleToken', () => {
  const logits = new Float32Array([2, 1, 0, -1]);

  it('GIVEN many draws at temperature 1 THEN frequencies follow the softmax', () => {
    const random = seeded(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[sampleToken(logits, { temperature: 1, topP: 1, random })]!++;
    const expected = Array.from(logSoftmax(logits), (l) => Math.exp(l));
    counts.forEach((c, i) => expect(c / 20_000).toBeCloseTo(expected[i]!, 1));
  });

  it('GIVEN top-p 0.5 THEN only the most likely token is drawn', () => {
    const random = seeded(2);
    for (let i = 0; i < 200; i++) expect(sampleToken(logits, { temperature: 1, topP: 0.5, random })).toBe(0);
  });

  it('GIVEN a mask THEN masked tokens are never drawn', () => {
    const random = seeded(3);
    const allowed = (id: number): boolean => id === 2 || id === 3;
    for (let i = 0; i < 500; i++) expect([2, 3]).toContain(sampleToken(logits, { temperature: 1, topP: 1, random, allowed }));
  });

  it('GIVEN a mask that removes everything THEN the argmax is returned instead of stalling', () => {
    expect(sampleToken(logits, { temperature: 1, topP: 1, random: seeded(4), allowed: () => false })).toBe(argmax(logits));
  });

  it('GIVEN a low temperature THEN the distribution sharpens towards the argmax', () => {
    const random = seeded(5);
    let top = 0;
    for (let i = 0; i < 1000; i++) if (sampleToken(logits, { temperature: 0.1, topP: 1, random }) === 0) top++;
    expect(top).toBeGreaterThan(990);
  });

  it('GIVEN only some tokens tempered (pitches) WHEN sampled cold THEN the others keep their probability and the tempered share theirs, sharpened', () => {
    // id 0 "HOLD" p = 0.6; ids 1–3 pitches sharing 0.4 as 0.2, 0.12, 0.08.
    const probs = [0.6, 0.2, 0.12, 0.08];
    const held = new Float32Array(probs.map(Math.log));
    const random = seeded(3);
    const counts = [0, 0, 0, 0];
    const draws = 40_000;
    for (let i = 0; i < draws; i++) counts[sampleToken(held, { temperature: 0.25, topP: 1, random, tempered: (id) => id > 0 })]!++;
    expect(counts[0]! / draws).toBeCloseTo(0.6, 1);
    // Pitch shares at T 0.25: ∝ p^4 → 0.2 dominates the 0.4 left.
    const weights = [0.2, 0.12, 0.08].map((p) => p ** 4);
    const expected = weights.map((w) => (0.4 * w) / weights.reduce((a, b) => a + b, 0));
    for (let id = 1; id <= 3; id++) expect(counts[id]! / draws, `id ${id}`).toBeCloseTo(expected[id - 1]!, 1);
    // Tempering everything instead makes the HOLD nearly certain: the failure this option avoids.
    const all = [0, 0, 0, 0];
    for (let i = 0; i < draws; i++) all[sampleToken(held, { temperature: 0.25, topP: 1, random })]!++;
    expect(all[0]! / draws).toBeGreaterThan(0.95);
  });

  it('GIVEN tempered pitches and a mask on one of them WHEN sampled THEN the masked pitch’s share goes to the other pitches, not to the untempered HOLD', () => {
    const probs = [0.6, 0.2, 0.12, 0.08];
    const held = new Float32Array(probs.map(Math.log));
    const random = seeded(5);
    const counts = [0, 0, 0, 0];
    const draws = 40_000;
    for (let i = 0; i < draws; i++) counts[sampleToken(held, { temperature: 1, topP: 1, random, tempered: (id) => id > 0, allowed: (id) => id !== 1 })]!++;
    expect(counts[1]).toBe(0);
    expect(counts[0]! / draws).toBeCloseTo(0.6, 1);
    expect((counts[2]! + counts[3]!) / draws).toBeCloseTo(0.4, 1);
  });
});

