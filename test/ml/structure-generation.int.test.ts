/**
 * Structure in generation and in scoring: the cadence guide, the copy cache fitted on validation
 * pieces, and whole-piece scoring against the JSB published test split.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { guessKey } from '../../src/music/analysis/key.js';
import { computeStructure } from '../../src/music/analysis/structure.js';
import { countNoteEvents } from '../../src/music/note-sequence.js';
import { evaluateModel } from '../../src/ml/evaluation/evaluate.js';
import { generatePiece } from '../../src/ml/generate.js';
import { loadModel, type LoadedModel } from '../../src/ml/model-dir.js';
import { fitModelCopyCache } from '../../src/ml/training/fit-cache.js';
import { runCli } from '../support/run-cli.js';
import { trainTinyModel, writeTinyCorpus } from '../support/tiny-model.js';

import { datasetPath, withDatasets } from '../support/datasets.js';

const JSB = datasetPath('jsb-chorales');
const { itData } = withDatasets(import.meta.url);

let modelDir: string;
let corpus: string;
let model: LoadedModel;

describe('structure: cadence, copy cache, whole-piece scoring', () => {
  beforeAll(async () => {
    corpus = await writeTinyCorpus(undefined, 12);
    modelDir = await trainTinyModel({ dataDirs: [corpus] });
    model = await loadModel(modelDir);
  });

  it.each(['C major', 'A minor', 'Eb major'])('GIVEN key %s WHEN composed THEN the last onset’s lowest note is its tonic and the length is exact', (key) => {
    const tonic = { 'C major': 0, 'A minor': 9, 'Eb major': 3 }[key]!;
    for (const randomSeed of [1, 2, 3]) {
      const piece = generatePiece(model.network, model.tokenizer, { length: 24, randomSeed, key, temperature: 1.3 });
      expect(countNoteEvents(piece.sequence)).toBe(24);
      const notes = piece.sequence.notes;
      const last = Math.max(...notes.map((n) => n.startStep));
      const lowest = Math.min(...notes.filter((n) => n.startStep === last).map((n) => n.pitch));
      expect(lowest % 12).toBe(tonic);
      // The final note-or-chord lasts at least a half note.
      expect(Math.min(...notes.filter((n) => n.startStep === last).map((n) => n.endStep - n.startStep))).toBeGreaterThanOrEqual(8);
    }
  });

  it('GIVEN a key palette of D major\'s signature only WHEN composed from scratch THEN every piece is in D major or B minor near the palette\'s mean pitch; a key asked for wins', () => {
    const keyPalette = { majorRoots: [[2, 1]] as const, meanPitch: 72 };
    for (const randomSeed of [1, 2, 3, 4]) {
      const piece = generatePiece(model.network, model.tokenizer, { length: 24, randomSeed, temperature: 1.2, keyPalette });
      expect(['D major', 'B minor']).toContain(guessKey(piece.sequence).name);
      const mean = piece.sequence.notes.reduce((sum, n) => sum + n.pitch, 0) / piece.sequence.notes.length;
      expect(Math.abs(mean - 72)).toBeLessThanOrEqual(6);
      expect(countNoteEvents(piece.sequence)).toBe(24);
      const asked = generatePiece(model.network, model.tokenizer, { length: 24, randomSeed, temperature: 1.2, keyPalette, key: 'Eb major' });
      const notes = asked.sequence.notes;
      const last = Math.max(...notes.map((n) => n.startStep));
      expect(Math.min(...notes.filter((n) => n.startStep === last).map((n) => n.pitch)) % 12).toBe(3);
    }
  });

  it('GIVEN a palette of Bb major\'s signature only and pieces kept in one key WHEN composed from scratch THEN every pitch is in Bb major or G minor; without the palette, not', () => {
    // The constraint scales of Bb major and G minor (with its raised seventh, F#).
    const bbOrGMinor = [10, 0, 2, 3, 5, 7, 9, 6];
    const outside = (keyPalette?: { majorRoots: readonly (readonly [number, number])[]; meanPitch: number }) =>
      [1, 2, 3, 4, 5, 6].flatMap((randomSeed) => {
        const piece = generatePiece(model.network, model.tokenizer, { length: 24, randomSeed, temperature: 1.5, keyPalette, inOneKey: true });
        expect(countNoteEvents(piece.sequence)).toBe(24);
        return piece.sequence.notes.filter((n) => !bbOrGMinor.includes(n.pitch % 12));
      });
    expect(outside({ majorRoots: [[10, 1]], meanPitch: 60 })).toEqual([]);
    expect(outside().length).toBeGreaterThan(0);
  });

  it('GIVEN a key WHEN out-of-key pitches are weighted instead of refused THEN some appear, fewer than with no key at all; refused, none do', () => {
    const outOfKey = (opts: { key?: string; outOfKeyWeight?: number }): number =>
      [1, 2, 3, 4, 5, 6].reduce((count, randomSeed) => {
        const piece = generatePiece(model.network, model.tokenizer, { length: 24, randomSeed, temperature: 1.5, cadence: false, ...opts });
        return count + piece.sequence.notes.filter((n) => ![0, 2, 4, 5, 7, 9, 11].includes(n.pitch % 12)).length;
      }, 0);
    const free = outOfKey({});
    const weighted = outOfKey({ key: 'C major', outOfKeyWeight: 0.2 });
    expect(outOfKey({ key: 'C major' })).toBe(0);
    expect(weighted).toBeGreaterThan(0);
    expect(weighted).toBeLessThan(free);
  });

  it('GIVEN cadence off WHEN composed without a key THEN pieces end wherever the model stops (the guide is what ends them on the tonic)', () => {
    const endings = [1, 2, 3, 4, 5, 6, 7, 8].map((randomSeed) => {
      const piece = generatePiece(model.network, model.tokenizer, { length: 20, randomSeed, temperature: 1.5, cadence: false });
      return computeStructure(piece.sequence).endsOnTonic;
    });
    const guided = [1, 2, 3, 4, 5, 6, 7, 8].map((randomSeed) => {
      const piece = generatePiece(model.network, model.tokenizer, { length: 20, randomSeed, temperature: 1.5 });
      return computeStructure(piece.sequence).endsOnTonic;
    });
    expect(guided.reduce((s, x) => s + x, 0)).toBeGreaterThanOrEqual(7);
    expect(guided.reduce((s, x) => s + x, 0)).toBeGreaterThanOrEqual(endings.reduce((s, x) => s + x, 0));
  });

  it.each(['token', 'pitch'] as const)('GIVEN a four-voice (voices encoding, holds spelled as %s) model WHEN composed in G major THEN it ends on a held G major chord with G in the bass, no voice resting on its own under unbrokenVoices', async (holds) => {
    const voicesModel = await loadModel(await trainTinyModel({ dataDirs: [corpus], encoding: 'voices', holds }));
    for (const randomSeed of [1, 2, 3]) {
      const piece = generatePiece(voicesModel.network, voicesModel.tokenizer, { length: 16, randomSeed, key: 'G major', temperature: 1.2, unbrokenVoices: true });
      const steps = Math.max(...piece.sequence.notes.map((n) => n.endStep));
      // Four voices sound at every step, or none (a breath, never at the start).
      for (let step = 0; step < steps; step++) expect([step === 0 ? 4 : 0, 4]).toContain(piece.sequence.notes.filter((n) => n.startStep <= step && n.endStep > step).length);
      expect(countNoteEvents(piece.sequence)).toBe(16);
      const notes = piece.sequence.notes;
      const last = Math.max(...notes.map((n) => n.startStep));
      const sounding = notes.filter((n) => n.startStep <= last && n.endStep > last);
      expect(Math.min(...sounding.map((n) => n.pitch)) % 12).toBe(7);
      expect(sounding.every((n) => [7, 11, 2].includes(n.pitch % 12))).toBe(true);
      expect(Math.min(...sounding.map((n) => n.endStep)) - last).toBeGreaterThanOrEqual(7);
    }
    voicesModel.network.dispose();
  });

  it('GIVEN a voices model and a form that repeats the opening bar WHEN composed from scratch THEN bar 2 plays bar 1 again and the length stays exact; with the form drawn at probability 0, or for a seed, no repeat is forced', async () => {
    const voicesModel = await loadModel(await trainTinyModel({ dataDirs: [corpus], encoding: 'voices', holds: 'pitch' }));
    // What sounds at each step of a bar (a repeat may join a note over the bar line, so onsets can differ).
    const onsetsOf = (notes: readonly { startStep: number; endStep: number; pitch: number }[], bar: number) =>
      Array.from({ length: 16 }, (_, i) => bar * 16 + i).map((step) =>
        notes.filter((n) => n.startStep <= step && n.endStep > step).map((n) => n.pitch).sort((a, b) => a - b).join(' '),
      );
    const opts = { length: 60, temperature: 1.3, unbrokenVoices: true };
    for (const randomSeed of [1, 2]) {
      const piece = generatePiece(voicesModel.network, voicesModel.tokenizer, { ...opts, randomSeed, repeatOpening: { probability: 1, bars: 1 } });
      expect(countNoteEvents(piece.sequence)).toBe(60);
      expect(new Set(onsetsOf(piece.sequence.notes, 0)).size).toBeGreaterThan(2);
      expect(onsetsOf(piece.sequence.notes, 1)).toEqual(onsetsOf(piece.sequence.notes, 0));
      const free = generatePiece(voicesModel.network, voicesModel.tokenizer, { ...opts, randomSeed, repeatOpening: { probability: 0, bars: 1 } });
      expect(onsetsOf(free.sequence.notes, 1)).not.toEqual(onsetsOf(free.sequence.notes, 0));
      const continued = generatePiece(voicesModel.network, voicesModel.tokenizer, { ...opts, randomSeed, seed: free.sequence, repeatOpening: { probability: 1, bars: 1 } });
      expect(countNoteEvents(continued.sequence)).toBe(countNoteEvents(free.sequence) + 60);
    }
    voicesModel.network.dispose();
  });

  it('GIVEN a trained model WHEN its copy cache is fitted THEN the spec records it and validation NLL does not get worse', async () => {
    const result = await fitModelCopyCache(modelDir, [corpus]);
    expect(result.copyCache.lambdas.every((l) => l >= 0 && l <= 1)).toBe(true);
    expect(result.validNllPerTokenWithCache).toBeLessThanOrEqual(result.validNllPerToken + 1e-9);
    const reloaded = await loadModel(modelDir);
    expect(reloaded.copyCache).toEqual(result.copyCache);
    const piece = generatePiece(reloaded.network, reloaded.tokenizer, { length: 30, randomSeed: 4, copyCache: reloaded.copyCache });
    expect(countNoteEvents(piece.sequence)).toBe(30);
    reloaded.network.dispose();
  });

  itData('GIVEN --test on the JSB folder WHEN evaluated THEN the 77 published test chorales are scored whole: 18,900 16th steps', async () => {
    const report = await evaluateModel({ modelDir, dataDirs: [], testDirs: [JSB], samples: 0 });
    expect(report.testPieces).toBe(77);
    expect(report.test16thSteps).toBe(18_900);
    expect(report.totalNll).toBeGreaterThan(0);
    expect(report.nllPer16thStep).toBeCloseTo(report.totalNll / 18_900, 9);
    // Every predicted token counts: all tokens but each piece's first.
    const ours = report.likelihood.find((row) => row.arch === 'lm')!;
    expect(ours.tokens).toBe(report.testTokens - 77);
    // The baseline trains on the JSB training split when no --data is given.
    expect(report.likelihood.some((row) => row.arch === 'markov3')).toBe(true);
  });

  itData('GIVEN samples WHEN evaluated THEN each overlap row has a reference: the test chorales\' own openings, as long as the samples, which match the whole chorales\' harmony', async () => {
    // 24 chords: shorter than every test chorale (the shortest has 39), so every opening is cut.
    const report = await evaluateModel({ modelDir, dataDirs: [], testDirs: [JSB], samples: 2, sampleLength: 24 });
    expect(report.openingsPieces).toBe(77);
    expect(report.openingsLength).toBe(24);
    expect(report.openingsOverlap.map((r) => r.feature)).toEqual(report.overlap.map((r) => r.feature));
    for (const row of report.openingsOverlap) {
      expect(row.overlapArea).toBeGreaterThanOrEqual(0);
      expect(row.overlapArea).toBeLessThanOrEqual(1);
    }
    const opening = (feature: string) => report.openingsOverlap.find((r) => r.feature === feature)!.overlapArea;
    expect(opening('pitchClassHistogram')).toBeGreaterThan(0.9);
    expect(opening('polyphony')).toBeGreaterThan(0.9);
  });

  itData('GIVEN npm run eval -- --test JSB --json WHEN run THEN the last line carries totalNll and test16thSteps', async () => {
    const { code, stdout, stderr } = await runCli('eval', ['--model', modelDir, '--test', JSB, '--samples', '0', '--json']);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as { totalNll: number; test16thSteps: number; nllPer16thStep: number };
    expect(report.test16thSteps).toBe(18_900);
    expect(report.totalNll / report.test16thSteps).toBeCloseTo(report.nllPer16thStep, 9);
    expect(stderr).toMatch(/per 16th step/);
  });
});
