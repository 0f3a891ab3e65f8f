import { describe, expect, it } from 'vitest';
import { midiFilesIn, withDatasets } from '../../support/datasets.js';
import { MotifError } from '../../../src/errors.js';
import { readMidiFile } from '../../../src/music/midi-io.js';
import { countNoteEvents, emptySequence, type Note, type NoteSequence } from '../../../src/music/note-sequence.js';
import { createRng } from '../../../src/music/random.js';
import {
  buildSeedVocabulary,
  countEvents,
  createSeedTokenizer,
  growSeedVocabulary,
  music21PitchName,
  normalOrder,
  parseMusic21PitchName,
  seedTokens,
  tokenizerFromSpec,
} from '../../../src/music/tokenizers/index.js';

const { itData } = withDatasets(import.meta.url);

function seqOf(notes: [pitch: number, startStep: number, endStep: number][]): NoteSequence {
  const seq = emptySequence();
  seq.notes = notes.map(([pitch, startStep, endStep]): Note => ({ pitch, startStep, endStep, velocity: 90, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = Math.max(0, ...seq.notes.map((n) => n.endStep));
  return seq;
}

/** m21 names → MIDI, as music21 would spell them: "C4" = 60. */
const pc = (name: string): number => parseMusic21PitchName(name)! % 12;

describe('seed encoding: music21 spellings', () => {
  it('GIVEN MIDI pitches WHEN named THEN music21 spelling: sharps except E- and B-, middle C = C4', () => {
    expect([60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71].map(music21PitchName)).toEqual([
      'C4', 'C#4', 'D4', 'E-4', 'E4', 'F4', 'F#4', 'G4', 'G#4', 'A4', 'B-4', 'B4',
    ]);
    expect(music21PitchName(0)).toBe('C-1');
    expect(music21PitchName(21)).toBe('A0');
    expect(music21PitchName(127)).toBe('G9');
  });

  it('GIVEN every MIDI pitch WHEN named and parsed back THEN the pitch is recovered (C-1 is MIDI 0, not C-flat 1)', () => {
    // music21's own notation is ambiguous for E and B in octave -1: "E-1" is also E-flat 1 (MIDI 27).
    const ambiguous = new Set([4, 11]);
    for (let p = 0; p < 128; p++) if (!ambiguous.has(p)) expect(parseMusic21PitchName(music21PitchName(p))).toBe(p);
    expect(parseMusic21PitchName('E-1')).toBe(27);
    expect(parseMusic21PitchName('D-4')).toBe(61);
    expect(parseMusic21PitchName('C##3')).toBe(50);
    expect(parseMusic21PitchName('H4')).toBeUndefined();
  });
});

describe('seed encoding: chord normal order as music21 computes it', () => {
  it.each([
    [['C4', 'E-4', 'G4'], [0, 3, 7]],
    [['C4', 'E4', 'G4'], [0, 4, 7]],
    [['D4', 'F#4', 'A4'], [2, 6, 9]],
    [['B-4', 'D5', 'F5'], [10, 2, 5]],
    [['G#2', 'A2', 'D3', 'G3'], [7, 8, 9, 2]],
    [['G3', 'D4', 'G#4', 'A4', 'C5', 'E5'], [7, 8, 9, 0, 2, 4]],
    [['F3', 'A3', 'C#4'], [1, 5, 9]],
    [['B5', 'G4', 'D5', 'E-5', 'D6'], [11, 2, 3, 7]],
    [['D4', 'F4', 'G#4', 'B4'], [2, 5, 8, 11]],
    [['B3', 'D4', 'G4'], [7, 11, 2]],
  ])('GIVEN %j WHEN put in normal order THEN %j (music21 documentation cases)', (names, expected) => {
    expect(normalOrder(names.map(pc))).toEqual(expected);
  });
});

describe('seed encoding: tokens, vocabulary and decoding', () => {
  const example = seqOf([
    [64, 0, 4], // E4
    [60, 4, 8], // C major triad
    [64, 4, 8],
    [67, 4, 8],
    [54, 8, 12], // F#3
    [59, 12, 16], // G major, first inversion
    [62, 12, 16],
    [67, 12, 16],
    [63, 16, 20], // E-4 doubled in two octaves → the chord "3"
    [75, 16, 20],
  ]);

  it('GIVEN notes and chords WHEN tokenised THEN the tutorial strings come out in onset order', () => {
    expect(seedTokens(example)).toEqual(['E4', '0.4.7', 'F#3', '7.11.2', '3']);
  });

  it('GIVEN a corpus WHEN the vocabulary is built THEN it is sorted(set(tokens)) and ids follow it', () => {
    const vocabulary = buildSeedVocabulary([example]);
    expect(vocabulary).toEqual(['0.4.7', '3', '7.11.2', 'E4', 'F#3']);
    const tokenizer = createSeedTokenizer(vocabulary);
    expect(tokenizer.encode(example)).toEqual([3, 0, 4, 2, 1]);
    expect(tokenizer.vocabSize).toBe(5);
  });

  it('GIVEN ids WHEN decoded THEN one event per half beat, quarter-note length, chord tones at octave 4', () => {
    const tokenizer = createSeedTokenizer(buildSeedVocabulary([example]));
    const decoded = tokenizer.decode(tokenizer.encode(example), { qpm: 90, program: 5 });
    const triples = decoded.notes.map((n) => [n.pitch, n.startStep, n.endStep]);
    // E4 is struck again by the C major chord at step 2, so the first E4 is cut there.
    expect(triples).toEqual([
      [64, 0, 2],
      [60, 2, 6],
      [64, 2, 6],
      [67, 2, 6],
      [54, 4, 8],
      [62, 6, 10],
      [67, 6, 10],
      [71, 6, 10],
      [63, 8, 12],
    ]);
    expect(decoded.tempos[0]!.qpm).toBe(90);
    expect(decoded.notes.every((n) => n.program === 5)).toBe(true);
    expect(countEvents(tokenizer, tokenizer.encode(example))).toBe(5);
  });

  it('GIVEN a seed with unknown chords WHEN encoded THEN SEED_OUT_OF_VOCABULARY names them, or they are skipped on request', () => {
    const tokenizer = createSeedTokenizer(['E4', 'F#3']);
    let caught: unknown;
    try {
      tokenizer.encode(example);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MotifError);
    expect((caught as MotifError).code).toBe('SEED_OUT_OF_VOCABULARY');
    expect((caught as MotifError).userMessage).toContain('0.4.7');
    expect(tokenizer.encode(example, { onUnknown: 'skip' })).toEqual([0, 1]);
  });

  it('GIVEN fine-tuning data with new chords WHEN the vocabulary grows THEN old ids keep their meaning and new tokens are appended', () => {
    const old = ['E4', 'F#3'];
    const { vocabulary, added } = growSeedVocabulary(old, [example]);
    expect(vocabulary.slice(0, 2)).toEqual(old);
    expect(added).toBe(3);
    expect(vocabulary.slice(2)).toEqual(['0.4.7', '3', '7.11.2']);
    const restored = tokenizerFromSpec(JSON.parse(JSON.stringify(createSeedTokenizer(vocabulary).toJSON())));
    expect(restored.encode(example)).toEqual([0, 2, 1, 4, 3]);
  });

  it('GIVEN a broken spec WHEN loaded THEN MODEL_CORRUPT', () => {
    expect(() => tokenizerFromSpec({ name: 'seed', version: 1, vocabulary: ['C4', 'C4'] })).toThrow(MotifError);
    expect(() => tokenizerFromSpec({ name: 'seed', version: 1 })).toThrow(/vocabulary/);
    expect(() => tokenizerFromSpec({ name: 'midi-like' })).toThrow(MotifError);
  });

  itData('GIVEN real piano MIDI WHEN encoded THEN one token per onset and decoding gives as many notes-or-chords', async () => {
    const files = midiFilesIn('mutopia-piano-pd/midi').slice(0, 4);
    const seqs = await Promise.all(files.map((f) => readMidiFile(f)));
    const tokenizer = createSeedTokenizer(buildSeedVocabulary(seqs));
    for (const seq of seqs) {
      const ids = tokenizer.encode(seq);
      const onsets = countNoteEvents({ ...seq, notes: seq.notes.filter((n) => !n.isDrum) });
      expect(ids.length).toBe(onsets);
      expect(countNoteEvents(tokenizer.decode(ids))).toBe(onsets);
      // Every single-note token names a real pitch of the file at that onset.
      expect(seedTokens(seq).filter((t) => !/^\d/.test(t)).every((t) => parseMusic21PitchName(t) !== undefined)).toBe(true);
    }
  });

  it('GIVEN random ids, even out of range WHEN decoded THEN the result is a valid sequence with one onset per valid id', () => {
    const tokenizer = createSeedTokenizer(['0.4.7', '11.2.5.8', 'A0', 'C8', 'E-4']);
    const rng = createRng(7);
    for (let trial = 0; trial < 100; trial++) {
      const ids = Array.from({ length: Math.floor(rng() * 40) }, () => Math.floor(rng() * 9) - 2);
      const seq = tokenizer.decode(ids);
      const valid = ids.filter((id) => id >= 0 && id < 5).length;
      expect(countNoteEvents(seq)).toBe(valid);
      expect(countEvents(tokenizer, ids)).toBe(valid);
      for (const n of seq.notes) {
        expect(n.endStep).toBeGreaterThan(n.startStep);
        expect(n.pitch).toBeGreaterThanOrEqual(0);
        expect(n.pitch).toBeLessThanOrEqual(127);
      }
    }
  });
});
