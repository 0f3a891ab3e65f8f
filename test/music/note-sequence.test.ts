import { describe, expect, it } from 'vitest';
import { countNoteEvents, emptySequence, openingNoteEvents, type Note } from '../../src/music/note-sequence.js';

const note = (pitch: number, startStep: number, endStep: number): Note => ({ pitch, startStep, endStep, velocity: 80, program: 0, isDrum: false, track: 0 });

describe('openingNoteEvents', () => {
  it('GIVEN a chord, a note, a long held note and more WHEN the first 3 notes-or-chords are taken THEN the chord stays whole and the held note keeps its length', () => {
    const piece = { ...emptySequence(), notes: [note(60, 0, 4), note(64, 0, 4), note(67, 0, 4), note(62, 4, 8), note(48, 8, 40), note(65, 12, 16), note(66, 44, 48)], totalSteps: 48 };
    const opening = openingNoteEvents(piece, 3)!;
    expect(countNoteEvents(opening)).toBe(3);
    expect(opening.notes.map((n) => n.pitch)).toEqual([60, 64, 67, 62, 48]);
    expect(opening.totalSteps).toBe(40);
    expect(piece.notes).toHaveLength(7);
  });

  it('GIVEN a piece with no more notes-or-chords than asked THEN it has no opening; asked for none or part of one, a clear error', () => {
    const piece = { ...emptySequence(), notes: [note(60, 0, 4), note(62, 4, 8)], totalSteps: 8 };
    expect(openingNoteEvents(piece, 100)).toBeUndefined();
    expect(openingNoteEvents(piece, 2)).toBeUndefined();
    expect(countNoteEvents(openingNoteEvents(piece, 1)!)).toBe(1);
    for (const events of [0, -1, 2.5]) expect(() => openingNoteEvents(piece, events)).toThrow(expect.objectContaining({ code: 'OPTION_OUT_OF_RANGE' }));
  });
});
