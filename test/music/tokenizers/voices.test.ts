import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MotifError } from '../../../src/errors.js';
import { loadJsbChorales } from '../../../src/music/jsb-chorales.js';
import { countNoteEvents, emptySequence, type Note } from '../../../src/music/note-sequence.js';
import { createRng } from '../../../src/music/random.js';
import { countEvents, createVoicesTokenizer, encodingPositions, tokenizerFromSpec, tokenPositions, voiceGrid, VOICES_HELD_PERIOD } from '../../../src/music/tokenizers/index.js';

import { datasetPath, withDatasets } from '../../support/datasets.js';

const JSB = datasetPath('jsb-chorales');
const { itData } = withDatasets(import.meta.url);

describe('voices encoding', () => {
  const tokenizer = createVoicesTokenizer();

  itData('GIVEN every JSB test chorale WHEN encoded THEN it is BOS, four tokens per 16th step, EOS, and decodes to the CSV grid', () => {
    const files = readdirSync(join(JSB, 'csv/test')).filter((f) => f.endsWith('.csv')).sort();
    const chorales = loadJsbChorales(JSB, 'test');
    expect(chorales).toHaveLength(77);
    let steps = 0;
    chorales.forEach((chorale, i) => {
      const rows = readFileSync(join(JSB, 'csv/test', files[i]!), 'utf8').trim().split('\n').slice(1).map((r) => r.split(',').map(Number));
      const ids = tokenizer.encode(chorale);
      expect(ids.length).toBe(2 + 4 * rows.length);
      const grid = voiceGrid(tokenizer.decode(ids), 4);
      rows.forEach((row, step) => expect([0, 1, 2, 3].map((v) => grid[v]![step])).toEqual(row));
      steps += rows.length;
    });
    // The published test split's length in 16th steps (what per-step NLL figures divide by).
    expect(steps).toBe(18_900);
  });

  it('GIVEN any id sequence WHEN decoded THEN it yields valid notes and the counter agrees with the decoded onsets', () => {
    const random = createRng(7);
    for (let trial = 0; trial < 200; trial++) {
      const ids = [1, ...Array.from({ length: 4 * 20 }, () => Math.floor(random() * (tokenizer.vocabSize + 3)) - 1)];
      const seq = tokenizer.decode(ids);
      for (const n of seq.notes) {
        expect(n.endStep).toBeGreaterThan(n.startStep);
        expect(n.pitch).toBeGreaterThanOrEqual(tokenizer.config.pitchMin);
      }
      expect(countEvents(tokenizer, ids)).toBe(countNoteEvents(seq));
    }
  });

  it('GIVEN a piano texture of five and more notes WHEN encoded THEN the outer voices keep the highest and lowest pitch', () => {
    const seq = emptySequence();
    const note = (pitch: number, startStep: number, endStep: number): Note => ({ pitch, startStep, endStep, velocity: 80, program: 0, isDrum: false, track: 0 });
    seq.notes = [note(84, 0, 8), note(76, 0, 8), note(72, 0, 8), note(67, 0, 8), note(60, 0, 8), note(36, 0, 8), note(79, 8, 12)];
    seq.totalSteps = 12;
    const grid = voiceGrid(seq, 4);
    expect(grid[0]![0]).toBe(84);
    expect(grid[3]![0]).toBe(36);
    expect(grid[1]![0]! > grid[2]![0]!).toBe(true);
    expect([76, 72, 67, 60]).toContain(grid[2]![0]);
    // A lone note goes on in the voice that sang nearest to it (the alto's 76 → 79).
    expect([0, 1, 2, 3].map((v) => grid[v]![8])).toEqual([0, 79, 0, 0]);
  });

  it('GIVEN a seed note outside the range WHEN encoded for a user THEN SEED_OUT_OF_VOCABULARY; a corpus folds it', () => {
    const seq = emptySequence();
    seq.notes = [{ pitch: 108, startStep: 0, endStep: 4, velocity: 80, program: 0, isDrum: false, track: 0 }];
    seq.totalSteps = 4;
    expect(() => tokenizer.encode(seq)).toThrow(MotifError);
    const folded = tokenizer.decode(tokenizer.encode(seq, { onUnknown: 'skip' }));
    expect(folded.notes[0]!.pitch % 12).toBe(0);
  });

  itData('GIVEN 16 positions WHEN a chorale is encoded THEN each token carries its voice and 16th-of-the-beat position, and the grammar filter expects exactly that', () => {
    const tokenizer = createVoicesTokenizer({ positions: 16 });
    const chorale = loadJsbChorales(JSB, 'test')[0]!;
    const ids = tokenizer.encode(chorale, { eos: false });
    const byPosition = new Set<number>();
    for (let k = 1; k < ids.length; k++) {
      const filter = tokenizer.nextTokenFilter(ids.slice(0, k))!;
      expect(filter(ids[k]!)).toBe(true);
      // The same value at the next position is refused.
      const other = ids[k]! + (k % 16 === 0 ? 71 : -71);
      if (other > 2 && other < tokenizer.vocabSize) expect(filter(other)).toBe(false);
      byPosition.add(tokenizer.positionOfSlot(k - 1));
    }
    expect(byPosition.size).toBe(16);
    // Decoding ignores the position: the same grid as without positions.
    expect(tokenizer.decode(ids).notes).toEqual(createVoicesTokenizer({ positions: 1 }).decode(createVoicesTokenizer({ positions: 1 }).encode(chorale, { eos: false })).notes);
  });

  it('GIVEN its spec WHEN rebuilt THEN the tokenizer is identical', () => {
    const rebuilt = tokenizerFromSpec(JSON.parse(JSON.stringify(tokenizer.toJSON())));
    expect(rebuilt.vocabSize).toBe(tokenizer.vocabSize);
    expect(rebuilt.tokenName(10)).toBe(tokenizer.tokenName(10));
  });
});

describe('voices sampling guard', () => {
  const tokenizer = createVoicesTokenizer();
  const idOf = (name: string): number => Array.from({ length: tokenizer.vocabSize }, (_, id) => id).find((id) => tokenizer.tokenName(id) === name)!;
  const pitch = (p: number): number => idOf(`PITCH_${p}`);
  const HOLD = idOf('HOLD');
  const REST = idOf('REST');

  it('GIVEN a new piece WHEN each voice enters THEN it keeps to its range and below the voices above it, and a silent voice cannot HOLD', () => {
    const guard = tokenizer.createSamplingGuard();
    guard.push(1); // BOS
    // Soprano: 60–81.
    expect(guard.allows(pitch(58))).toBe(false);
    expect(guard.allows(pitch(72))).toBe(true);
    expect(guard.allows(HOLD)).toBe(false);
    expect(guard.allows(REST)).toBe(true);
    guard.push(pitch(67));
    // Bass: 36–66 and not above the soprano's 67.
    expect(guard.allows(pitch(48))).toBe(true);
    expect(guard.allows(pitch(70))).toBe(false);
    guard.push(pitch(48));
    // Alto: between soprano 67 and bass 48, and in 52–74.
    expect(guard.allows(pitch(68))).toBe(false);
    expect(guard.allows(pitch(50))).toBe(false);
    expect(guard.allows(pitch(64))).toBe(true);
    guard.push(pitch(64));
    // Tenor: between alto 64 and bass 48.
    expect(guard.allows(pitch(65))).toBe(false);
    expect(guard.allows(pitch(60))).toBe(true);
    guard.push(pitch(60));
    // Next step: a sounding voice may HOLD, and a held note still bounds the voices below it.
    expect(guard.allows(HOLD)).toBe(true);
    guard.push(HOLD);
    guard.push(HOLD);
    guard.push(HOLD);
    expect(guard.allows(pitch(65))).toBe(false); // tenor above the alto's held 64
  });
});


describe('voices sampling guard with unbroken voices', () => {
  const tokenizer = createVoicesTokenizer();
  const idOf = (name: string): number => Array.from({ length: tokenizer.vocabSize }, (_, id) => id).find((id) => tokenizer.tokenName(id) === name)!;
  const pitch = (p: number): number => idOf(`PITCH_${p}`);

  it('GIVEN the rule WHEN a voice would rest on its own, at the start or later THEN REST is refused, while holds and new notes are not; without the rule a sounding voice may rest', () => {
    const unbroken = tokenizer.createSamplingGuard({ noSilentBeats: true, monophonic: false, unbrokenVoices: true });
    const free = tokenizer.createSamplingGuard({ noSilentBeats: true, monophonic: false });
    for (const guard of [unbroken, free]) guard.push(1);
    expect(unbroken.allows(idOf('REST'))).toBe(false);
    expect(free.allows(idOf('REST'))).toBe(true);
    for (const p of [67, 48, 64, 60]) for (const guard of [unbroken, free]) guard.push(pitch(p));
    // Next step: the soprano sings, so no one else may rest.
    unbroken.push(idOf('HOLD'));
    expect(unbroken.allows(idOf('REST'))).toBe(false);
    expect(unbroken.allows(idOf('HOLD'))).toBe(true);
    expect(unbroken.allows(pitch(50))).toBe(true);
    expect(free.allows(idOf('REST'))).toBe(true);
  });

  it('GIVEN the rule WHEN the soprano rests after the first step THEN the other three must rest with it (a breath), and the next step may sing again', () => {
    const guard = tokenizer.createSamplingGuard({ noSilentBeats: true, monophonic: false, unbrokenVoices: true });
    guard.push(1);
    for (const p of [67, 48, 64, 60]) guard.push(pitch(p));
    expect(guard.allows(idOf('REST'))).toBe(true);
    guard.push(idOf('REST'));
    // Bass, alto, tenor: only REST, whatever they sang before.
    for (let voice = 0; voice < 3; voice++) {
      expect(guard.allows(pitch(48))).toBe(false);
      expect(guard.allows(idOf('HOLD'))).toBe(false);
      expect(guard.allows(idOf('REST'))).toBe(true);
      guard.push(idOf('REST'));
    }
    expect(guard.allows(pitch(67))).toBe(true);
    guard.push(pitch(67));
    expect(guard.allows(idOf('REST'))).toBe(false);
  });

  it('GIVEN the rule WHEN the four have breathed together for a beat THEN the soprano must sing, and after it has sung a new breath may come', () => {
    const guard = tokenizer.createSamplingGuard({ noSilentBeats: true, monophonic: false, unbrokenVoices: true });
    guard.push(1);
    for (const p of [67, 48, 64, 60]) guard.push(pitch(p));
    // Silent steps for a whole beat are allowed, one more is not.
    const beat = (tokenizer.toJSON() as { config: { stepsPerQuarter: number } }).config.stepsPerQuarter;
    for (let step = 0; step < beat; step++) {
      expect(guard.allows(idOf('REST')), `step ${step}`).toBe(true);
      for (let voice = 0; voice < 4; voice++) guard.push(idOf('REST'));
    }
    expect(guard.allows(idOf('REST'))).toBe(false);
    expect(guard.allows(pitch(67))).toBe(true);
    for (const p of [67, 48, 64, 60]) guard.push(pitch(p));
    expect(guard.allows(idOf('REST'))).toBe(true);
  });
});

describe('voices encoding with holds spelled as pitches (holds: pitch)', () => {
  const tokenizer = createVoicesTokenizer({ holds: 'pitch' });
  const byHold = createVoicesTokenizer();
  const idOf = (name: string): number => Array.from({ length: tokenizer.vocabSize }, (_, id) => id).find((id) => tokenizer.tokenName(id) === name)!;
  const pitch = (p: number): number => idOf(`PITCH_${p}`);

  itData('GIVEN every JSB test chorale WHEN encoded THEN no HOLD occurs, every sounding step spells its pitch, and it decodes to the same notes as the HOLD spelling', () => {
    for (const chorale of loadJsbChorales(JSB, 'test')) {
      const ids = tokenizer.encode(chorale);
      expect(ids.some((id) => tokenizer.tokenName(id) === 'HOLD')).toBe(false);
      expect(ids.length).toBe(byHold.encode(chorale).length);
      expect(tokenizer.decode(ids).notes).toEqual(byHold.decode(byHold.encode(chorale)).notes);
      expect(countEvents(tokenizer, ids)).toBe(countEvents(byHold, byHold.encode(chorale)));
    }
  });

  it('GIVEN any id sequence WHEN decoded THEN the counter agrees with the decoded onsets', () => {
    const random = createRng(11);
    for (let trial = 0; trial < 200; trial++) {
      // Mostly a few pitches, so that kept notes are common.
      const ids = [1, ...Array.from({ length: 4 * 20 }, () => (random() < 0.8 ? pitch(60 + Math.floor(random() * 3)) : Math.floor(random() * tokenizer.vocabSize)))];
      expect(countEvents(tokenizer, ids)).toBe(countNoteEvents(tokenizer.decode(ids)));
    }
  });

  it('GIVEN a voice that sounds a pitch WHEN the guard is asked THEN the same pitch keeps it (even where a new note would break the voice order), and HOLD is never allowed', () => {
    const guard = tokenizer.createSamplingGuard();
    guard.push(1);
    for (const p of [67, 48, 64, 60]) guard.push(pitch(p));
    expect(guard.allows(idOf('HOLD'))).toBe(false);
    guard.push(pitch(62)); // the soprano moves down to 62, below the alto's 64
    guard.push(pitch(48));
    expect(guard.allows(pitch(64))).toBe(true); // the alto keeps its 64
    expect(guard.allows(pitch(65))).toBe(false); // a new 65 would cross the soprano
    expect(tokenizer.keeps(pitch(64), 64)).toBe(true);
    expect(tokenizer.keeps(pitch(64), 0)).toBe(false);
  });

  it('GIVEN a slot and the pitch a voice sounds WHEN a hold is spelled THEN it is that pitch (a rest for a silent voice); the HOLD spelling ignores the pitch', () => {
    expect(tokenizer.tokenName(tokenizer.holdIdAt(5, 62))).toBe('PITCH_62');
    expect(tokenizer.tokenName(tokenizer.holdIdAt(5, 0))).toBe('REST');
    expect(byHold.tokenName(byHold.holdIdAt(5, 62))).toBe('HOLD');
  });

  it('GIVEN its spec WHEN rebuilt THEN it still spells holds as pitches; an unknown spelling is refused', () => {
    const rebuilt = tokenizerFromSpec(JSON.parse(JSON.stringify(tokenizer.toJSON())));
    expect(rebuilt.encode(loadScale())).toEqual(tokenizer.encode(loadScale()));
    expect(() => createVoicesTokenizer({ holds: 'tie' as 'pitch' })).toThrow(MotifError);
  });
});

describe('voices positions with held-note input (heldInput)', () => {
  const held = createVoicesTokenizer({ holds: 'pitch', heldInput: true });
  const plain = createVoicesTokenizer({ holds: 'pitch' });

  it('GIVEN a whole note then a half note in the soprano WHEN positioned THEN each token says the next slot and how many steps that voice has kept its pitch or rest', () => {
    const ids = held.encode(loadScale());
    const positions = tokenPositions(held, ids);
    const slot = (p: number): number => p % 16;
    const kept = (p: number): number => Math.floor(p / 16);
    // Token t (BOS is 0) precedes slot t: the index mod 16, as without held input.
    expect(Array.from(positions, slot)).toEqual(Array.from(tokenPositions(plain, ids), (p) => p % 16));
    // The soprano's slots are 0, 4, 8, …: before step s it has kept C4 for s steps (16+ share a
    // bucket), and D4 from step 16 on; the silent bass has kept its rest as long.
    const soprano = (step: number): number => kept(positions[4 * step]!);
    expect([0, 1, 2, 8, 9, 11, 12, 15, 16, 17, 18].map(soprano)).toEqual([0, 1, 2, 8, 9, 9, 10, 10, 11, 1, 2]);
    expect(kept(positions[4 * 20 + 1]!)).toBe(11);
    expect(Math.max(...positions)).toBeLessThan(VOICES_HELD_PERIOD);
  });

  itData('GIVEN the JSB test chorales WHEN positioned THEN the held buckets are all used and stay within the period', () => {
    const buckets = new Set<number>();
    for (const chorale of loadJsbChorales(JSB, 'test')) {
      for (const p of tokenPositions(held, held.encode(chorale))) buckets.add(Math.floor(p / 16));
    }
    expect([...buckets].sort((a, b) => a - b)).toEqual(Array.from({ length: VOICES_HELD_PERIOD / 16 }, (_, i) => i));
  });

  it('GIVEN its spec WHEN rebuilt THEN it positions the same; the plain encoding has no positions of its own and the same tokens', () => {
    const ids = held.encode(loadScale());
    const rebuilt = tokenizerFromSpec(JSON.parse(JSON.stringify(held.toJSON())));
    expect(tokenPositions(rebuilt, ids)).toEqual(tokenPositions(held, ids));
    expect(encodingPositions(plain, ids)).toBeUndefined();
    expect(plain.encode(loadScale())).toEqual(ids);
    expect(() => createVoicesTokenizer({ heldInput: 'yes' as unknown as boolean })).toThrow(MotifError);
  });
});

/** A whole note C4 then a half note D4 in one voice. */
function loadScale() {
  const seq = emptySequence();
  seq.notes = [
    { pitch: 60, startStep: 0, endStep: 16, velocity: 80, program: 0, isDrum: false, track: 0 },
    { pitch: 62, startStep: 16, endStep: 24, velocity: 80, program: 0, isDrum: false, track: 0 },
  ];
  seq.totalSteps = 24;
  return seq;
}
