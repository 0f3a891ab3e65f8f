/**
 * The event encoding's silence guard: fed a piece token by token, it refuses exactly the time steps
 * (BAR, SHIFT) that would leave a whole quarter-note beat with nothing sounding.
 */
import { describe, expect, it } from 'vitest';
import { emptySequence, type NoteSequence } from '../../../src/music/note-sequence.js';
import { createEventTokenizer } from '../../../src/music/tokenizers/index.js';

const tokenizer = createEventTokenizer();
const shift = (steps: number): number => tokenizer.idLayout.shift + steps - 1;
const BAR = 3;

/** One note of `steps` 16ths at step 0, in 4/4 (4 steps per quarter). */
function oneNote(steps: number): NoteSequence {
  const seq = emptySequence();
  seq.timeSignatures = [{ step: 0, numerator: 4, denominator: 4 }];
  seq.notes = [{ pitch: 60, startStep: 0, endStep: steps, velocity: 90, program: 0, isDrum: false, track: 0 }];
  seq.totalSteps = steps;
  return seq;
}

function guardAfter(seq: NoteSequence) {
  const guard = tokenizer.createSamplingGuard({ noSilentBeats: true, monophonic: false });
  for (const id of tokenizer.encode(seq, { eos: false })) guard.push(id);
  return guard;
}

describe('event encoding: sampling guard', () => {
  it('GIVEN a quarter note at step 0 WHEN the next onset is chosen THEN shifts up to 7 steps pass and 8 (a silent beat 4–8) is refused', () => {
    const guard = guardAfter(oneNote(4));
    for (let s = 1; s <= 7; s++) expect(guard.allows(shift(s)), `SHIFT_${s}`).toBe(true);
    expect(guard.allows(shift(8))).toBe(false);
    expect(guard.allows(shift(16))).toBe(false);
    // BAR jumps to step 16: beats 2–4 would be silent.
    expect(guard.allows(BAR)).toBe(false);
  });

  it('GIVEN a whole note at step 0 WHEN the next onset is chosen THEN BAR (to step 16) is allowed and silence begins only where the note ends', () => {
    const guard = guardAfter(oneNote(16));
    expect(guard.allows(BAR)).toBe(true);
    expect(guard.allows(shift(16))).toBe(true);
    guard.push(BAR);
    expect(guard.allows(shift(3))).toBe(true);
    expect(guard.allows(shift(4))).toBe(false);
  });

  it('GIVEN a note ending off the beat WHEN time moves on THEN only a whole beat of silence counts, not the partial one before it', () => {
    // Sounds 0–6; silence from 6: beat 8–12 is the first whole one.
    const guard = guardAfter(oneNote(6));
    expect(guard.allows(shift(11))).toBe(true);
    expect(guard.allows(shift(12))).toBe(false);
  });

  it('GIVEN any state WHEN a NOTE or DURATION token is asked THEN it is always allowed, so sampling never runs out of choices', () => {
    const guard = guardAfter(oneNote(4));
    guard.push(shift(7));
    const note = tokenizer.idLayout.note + 40;
    expect(guard.allows(note)).toBe(true);
    expect(guard.allows(shift(1))).toBe(false);
  });

  it('GIVEN the monophonic rule WHEN a note has been placed at this onset THEN a second NOTE is refused until time moves on', () => {
    const guard = tokenizer.createSamplingGuard({ noSilentBeats: false, monophonic: true });
    for (const id of tokenizer.encode(oneNote(4), { eos: false })) guard.push(id);
    const note = tokenizer.idLayout.note + 40;
    expect(guard.allows(note)).toBe(false);
    expect(guard.allows(shift(16))).toBe(true); // silence is not this guard's business
    guard.push(shift(4));
    expect(guard.allows(note)).toBe(true);
    // Without the rule a chord note is fine.
    const chords = guardAfter(oneNote(4));
    expect(chords.allows(note)).toBe(true);
  });

  it('GIVEN the NOTE DUR grammar WHEN sampling THEN a DUR comes only right after a NOTE, and a NOTE is always followed by its DUR', () => {
    const guard = guardAfter(oneNote(4));
    const note = tokenizer.idLayout.note + 40;
    const dur = tokenizer.idLayout.duration + 3;
    expect(guard.allows(dur)).toBe(false);
    guard.push(shift(4));
    guard.push(note);
    expect(guard.allows(dur)).toBe(true);
    expect(guard.allows(shift(1))).toBe(false);
    expect(guard.allows(note + 1)).toBe(false);
  });

  it('GIVEN a melody that has struck one pitch 6 times in a row WHEN the next onset comes THEN that pitch is refused, any other allowed', () => {
    const guard = tokenizer.createSamplingGuard({ noSilentBeats: false, monophonic: true });
    const note = (p: number): number => tokenizer.idLayout.note + p - 21;
    const dur = tokenizer.idLayout.duration + 1; // two 16ths
    for (const id of tokenizer.encode(emptySequence(), { eos: false })) guard.push(id);
    for (let i = 0; i < 6; i++) {
      expect(guard.allows(note(69)), `strike ${i + 1}`).toBe(true);
      guard.push(note(69));
      guard.push(dur);
      guard.push(shift(2));
    }
    expect(guard.allows(note(69))).toBe(false);
    expect(guard.allows(note(71))).toBe(true);
    guard.push(note(71));
    guard.push(dur);
    guard.push(shift(2));
    expect(guard.allows(note(69))).toBe(true);
  });
});

