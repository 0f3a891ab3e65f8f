import { describe, expect, it } from 'vitest';
import { MotifError } from '../../../src/errors.js';
import { guessKey, parseKey, scalePitchClasses } from '../../../src/music/analysis/key.js';
import { emptySequence, type NoteSequence } from '../../../src/music/note-sequence.js';

function melody(pitches: number[], stepsEach = 4): NoteSequence {
  const seq = emptySequence();
  seq.notes = pitches.map((pitch, i) => ({ pitch, startStep: i * stepsEach, endStep: (i + 1) * stepsEach, velocity: 80, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = pitches.length * stepsEach;
  return seq;
}

describe('key finding (Krumhansl–Schmuckler)', () => {
  it('GIVEN a C major scale and cadence WHEN analysed THEN C major', () => {
    const key = guessKey(melody([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 67, 60]));
    expect(key.name).toBe('C major');
    expect(key.correlation).toBeGreaterThan(0.7);
  });

  it('GIVEN an A harmonic-minor line WHEN analysed THEN A minor', () => {
    expect(guessKey(melody([69, 71, 72, 74, 76, 77, 80, 81, 76, 72, 69, 64, 69, 81, 69])).name).toBe('A minor');
  });

  it('GIVEN the same line transposed to E-flat major WHEN analysed THEN the tonic is spelled Eb', () => {
    expect(guessKey(melody([63, 65, 67, 68, 70, 72, 74, 75, 70, 67, 63, 70, 63])).name).toBe('Eb major');
  });
});

describe('key names', () => {
  it.each([
    ['A minor', 'A minor'],
    ['Am', 'A minor'],
    ['a', 'A major'],
    ['F# major', 'F# major'],
    ['Bb', 'Bb major'],
    ['E-flat minor', 'Eb minor'],
    ['c#m', 'C# minor'],
    ['D♭ maj', 'Db major'],
  ])('GIVEN "%s" WHEN parsed THEN %s', (text, name) => {
    expect(parseKey(text).name).toBe(name);
  });

  it('GIVEN nonsense WHEN parsed THEN a user-facing OPTION_OUT_OF_RANGE error', () => {
    expect(() => parseKey('H minor')).toThrow(MotifError);
    expect(() => parseKey('')).toThrow(/not a key/);
  });

  it('GIVEN keys WHEN asking for scale pitch classes THEN major, and minor with its leading tone for the sampler', () => {
    expect(scalePitchClasses('C major')).toEqual([0, 2, 4, 5, 7, 9, 11]);
    expect(scalePitchClasses('A minor')).toEqual([0, 2, 4, 5, 7, 8, 9, 11]);
    expect(scalePitchClasses('A minor', 'natural')).toEqual([0, 2, 4, 5, 7, 9, 11]);
    expect(scalePitchClasses(parseKey('D'), 'harmonic')).toEqual([1, 2, 4, 6, 7, 9, 11]);
  });
});
