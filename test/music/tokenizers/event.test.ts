import { describe, expect, it } from 'vitest';
import { midiFilesIn, withDatasets } from '../../support/datasets.js';
import { MotifError } from '../../../src/errors.js';
import { readMidiFile } from '../../../src/music/midi-io.js';
import { countNoteEvents, emptySequence, type Note, type NoteSequence } from '../../../src/music/note-sequence.js';
import { createRng } from '../../../src/music/random.js';
import {
  BAR_ID,
  BOS_ID,
  EOS_ID,
  allowedTokenMask,
  countEvents,
  createEventCounter,
  createEventTokenizer,
  createVoicesTokenizer,
  tokenPositions,
  tokenizerFromSpec,
} from '../../../src/music/tokenizers/index.js';

const { describeData } = withDatasets(import.meta.url);

function seqOf(notes: [pitch: number, startStep: number, endStep: number][], meter: [number, number] = [4, 4]): NoteSequence {
  const seq = emptySequence();
  seq.timeSignatures = [{ step: 0, numerator: meter[0], denominator: meter[1] }];
  seq.notes = notes.map(([pitch, startStep, endStep]): Note => ({ pitch, startStep, endStep, velocity: 90, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = Math.max(0, ...seq.notes.map((n) => n.endStep));
  return seq;
}

/** The invariants of a NoteSequence that every consumer (MIDI writer, renderer) relies on. */
function sequenceProblems(seq: NoteSequence): string[] {
  const problems: string[] = [];
  let previous: Note | undefined;
  const lastEndByPitch = new Map<number, number>();
  for (const n of seq.notes) {
    const where = `${n.pitch}@${n.startStep}`;
    if (!Number.isInteger(n.startStep) || !Number.isInteger(n.endStep) || n.startStep < 0) problems.push(`bad steps ${where}`);
    if (n.endStep <= n.startStep) problems.push(`empty note ${where}`);
    if (!(n.pitch >= 0 && n.pitch <= 127 && n.velocity >= 1 && n.velocity <= 127)) problems.push(`bad pitch/velocity ${where}`);
    if (previous && !(previous.startStep < n.startStep || (previous.startStep === n.startStep && previous.pitch < n.pitch))) problems.push(`unsorted ${where}`);
    if (n.startStep < (lastEndByPitch.get(n.pitch) ?? 0)) problems.push(`same-pitch overlap ${where}`);
    if (n.endStep > seq.totalSteps) problems.push(`past totalSteps ${where}`);
    lastEndByPitch.set(n.pitch, n.endStep);
    previous = n;
  }
  return problems;
}

function expectValidSequence(seq: NoteSequence): void {
  expect(sequenceProblems(seq)).toEqual([]);
}

const notesOf = (seq: NoteSequence): number[][] => seq.notes.map((n) => [n.pitch, n.startStep, n.endStep, n.velocity]);

describe('event encoding: grammar', () => {
  const tokenizer = createEventTokenizer();
  const names = (ids: number[]): string[] => ids.map((id) => tokenizer.tokenName(id));

  it('GIVEN a note, a chord and a note in the next bar WHEN encoded THEN BOS METER (NOTE DUR)+ SHIFT/BAR … EOS', () => {
    const seq = seqOf([
      [60, 0, 4],
      [67, 4, 6],
      [64, 4, 6],
      [72, 20, 28],
    ]);
    expect(names(tokenizer.encode(seq))).toEqual([
      'BOS', 'METER_4/4',
      'NOTE_60', 'DUR_4',
      'SHIFT_4', 'NOTE_64', 'DUR_2', 'NOTE_67', 'DUR_2',
      'BAR', 'SHIFT_4', 'NOTE_72', 'DUR_8',
      'EOS',
    ]);
  });

  it('GIVEN a 3/4 piece WHEN encoded and decoded THEN bars are 12 steps and the meter survives', () => {
    const seq = seqOf([[60, 0, 12], [62, 12, 24], [64, 36, 40]], [3, 4]);
    const ids = tokenizer.encode(seq);
    expect(names(ids)).toEqual(['BOS', 'METER_3/4', 'NOTE_60', 'DUR_12', 'BAR', 'NOTE_62', 'DUR_12', 'BAR', 'BAR', 'NOTE_64', 'DUR_4', 'EOS']);
    const decoded = tokenizer.decode(ids);
    expect(decoded.timeSignatures[0]).toMatchObject({ numerator: 3, denominator: 4 });
    expect(notesOf(decoded).map((n) => n.slice(0, 3))).toEqual([[60, 0, 12], [62, 12, 24], [64, 36, 40]]);
  });

  it('GIVEN 3/4 and 4/4 pieces WHEN their positions are taken THEN each token reads the 16th within its bar, 0 right after a bar line', () => {
    for (const [meter, bar] of [[[3, 4], 12], [[4, 4], 16]] as const) {
      // Onsets across three bars, one on a bar line and one a 16th before it.
      const seq = seqOf([[60, 0, 3], [62, 5, 7], [64, bar - 1, bar + 2], [65, bar + 6, 2 * bar], [67, 2 * bar + 4, 2 * bar + 8]], [...meter]);
      const ids = tokenizer.encode(seq);
      const positions = Array.from(tokenPositions(tokenizer, ids));
      const onsets = ids.flatMap((id, i) => (tokenizer.kindOf(id) === 'note' ? [positions[i]] : []));
      expect(onsets).toEqual([0, 5, bar - 1, 6, 4]);
      ids.forEach((id, i) => {
        if (id === BAR_ID) expect(positions[i]).toBe(0);
        expect(positions[i]).toBeLessThan(bar);
      });
    }
    // Encodings without their own positions count tokens.
    const voices = createVoicesTokenizer();
    expect(Array.from(tokenPositions(voices, [5, 6, 7]))).toEqual([0, 1, 2]);
  });

  it('GIVEN a long rest and a long note WHEN encoded THEN shifts repeat and the duration snaps to the nearest bucket', () => {
    const seq = seqOf([[60, 0, 1], [61, 1, 1 + 70]], [5, 4]); // 5/4 has a token; bar = 20 steps
    const ids = tokenizer.encode(seq);
    expect(names(ids).slice(2)).toEqual(['NOTE_60', 'DUR_1', 'SHIFT_1', 'NOTE_61', 'DUR_64', 'EOS']);
    const unknownMeter = seqOf([[60, 0, 2], [62, 40, 42]], [7, 8]); // not in the list → 4/4 bars
    expect(names(tokenizer.encode(unknownMeter))).toEqual(['BOS', 'METER_4/4', 'NOTE_60', 'DUR_2', 'BAR', 'BAR', 'SHIFT_8', 'NOTE_62', 'DUR_2', 'EOS']);
  });

  it('GIVEN pitches outside 21–108 and drums WHEN encoded as corpus data THEN pitches fold by octaves and drums are dropped', () => {
    const seq = seqOf([[12, 0, 4], [120, 0, 4]]);
    seq.notes.push({ pitch: 36, startStep: 0, endStep: 1, velocity: 100, program: 0, isDrum: true, track: 1 });
    expect(notesOf(tokenizer.decode(tokenizer.encode(seq, { onUnknown: 'skip' }))).map((n) => n[0])).toEqual([24, 108]);
  });

  it('GIVEN a user file with pitches outside 21–108 WHEN encoded THEN SEED_OUT_OF_VOCABULARY says how many and the range; drums alone are fine', () => {
    const seq = seqOf([[12, 0, 4], [60, 0, 4], [120, 4, 8]]);
    expect(() => tokenizer.encode(seq)).toThrow(expect.objectContaining({ code: 'SEED_OUT_OF_VOCABULARY', userMessage: expect.stringMatching(/^2 of the seed’s notes .* \(MIDI 21–108, A0–C8\)/) }));
    const withDrums = seqOf([[60, 0, 4]]);
    withDrums.notes.push({ pitch: 10, startStep: 0, endStep: 1, velocity: 100, program: 0, isDrum: true, track: 1 });
    expect(() => tokenizer.encode(withDrums)).not.toThrow();
  });

  it('GIVEN velocity bins WHEN encoded THEN VEL tokens appear only when the bin changes and decode to the bin centre', () => {
    const withVelocity = createEventTokenizer({ velocityBins: 8 });
    const seq = seqOf([[60, 0, 4], [64, 0, 4], [67, 4, 8]]);
    seq.notes[0]!.velocity = 100;
    seq.notes[1]!.velocity = 100;
    seq.notes[2]!.velocity = 30;
    const ids = withVelocity.encode(seq);
    expect(ids.map((id) => withVelocity.tokenName(id)).filter((n) => n.startsWith('VEL'))).toEqual(['VEL_6', 'VEL_1']);
    const velocities = withVelocity.decode(ids).notes.map((n) => n.velocity);
    expect(velocities[0]).toBe(velocities[1]);
    expect(Math.abs(velocities[0]! - 100)).toBeLessThanOrEqual(8);
    expect(Math.abs(velocities[2]! - 30)).toBeLessThanOrEqual(8);
  });
});

describeData('event encoding: round trips on real MIDI', () => {
  const tokenizer = createEventTokenizer();
  const files = [...midiFilesIn('mutopia-piano-pd/midi').slice(0, 5), ...midiFilesIn('nottingham/MIDI').slice(0, 5)];

  it.each(files)('GIVEN %s on a finer grid WHEN encoded and decoded THEN notes match the canonical 16th-grid version exactly', async (file) => {
    const fine = await readMidiFile(file, { stepsPerQuarter: 12 });
    const canonical = tokenizer.canonicalize(fine);
    const ids = tokenizer.encode(fine);
    const decoded = tokenizer.decode(ids);
    expectValidSequence(decoded);
    expect(notesOf(decoded)).toEqual(notesOf(canonical));
    expect(countEvents(tokenizer, ids)).toBe(countNoteEvents(decoded));

    // The canonical form itself is faithful: same pitches, onsets on the nearest sixteenth.
    const direct = await readMidiFile(file, { stepsPerQuarter: 4 });
    const onsets = (s: NoteSequence): number[] => [...new Set(s.notes.filter((n) => !n.isDrum).map((n) => n.startStep))];
    const fineOnsets = onsets(fine).map((s) => Math.round(s / 3));
    expect(new Set(onsets(canonical))).toEqual(new Set(fineOnsets));
    expect(new Set(canonical.notes.map((n) => n.pitch))).toEqual(new Set(direct.notes.filter((n) => !n.isDrum).map((n) => n.pitch)));
    // Notes up to a whole bar keep their exact length unless cut by the same pitch (rare).
    const exact = canonical.notes.filter((n) => n.endStep - n.startStep <= 16).length;
    expect(exact / canonical.notes.length).toBeGreaterThan(0.9);
  });
});

describe('event encoding: decoding never fails', () => {
  const tokenizer = createEventTokenizer({ velocityBins: 4 });

  it('GIVEN 300 random id sequences (with junk ids) WHEN decoded THEN each is a valid NoteSequence and the counter agrees', () => {
    const rng = createRng(42);
    for (let trial = 0; trial < 300; trial++) {
      const length = Math.floor(rng() * 200);
      const ids = Array.from({ length }, () => {
        const r = rng();
        if (r < 0.02) return -1 - Math.floor(rng() * 5);
        if (r < 0.04) return tokenizer.vocabSize + Math.floor(rng() * 5);
        if (r < 0.05) return 2.5;
        return Math.floor(rng() * tokenizer.vocabSize);
      });
      const seq = tokenizer.decode(ids);
      const problems = sequenceProblems(seq);
      if (problems.length > 0 || countEvents(tokenizer, ids) !== countNoteEvents(seq)) {
        expect({ trial, problems, counted: countEvents(tokenizer, ids) }).toEqual({ trial, problems: [], counted: countNoteEvents(seq) });
      }
    }
  });

  it('GIVEN orphan durations, a NOTE without DUR, repeated notes and text after EOS WHEN decoded THEN the rules apply', () => {
    const t = createEventTokenizer();
    const id = (name: string): number => Array.from({ length: t.vocabSize }, (_, i) => i).find((i) => t.tokenName(i) === name)!;
    const ids = [
      id('DUR_8'), // orphan: ignored
      id('NOTE_60'), id('SHIFT_2'), // no DUR: default 4 steps
      id('NOTE_62'), id('DUR_8'), id('NOTE_62'), id('DUR_2'), // same pitch at one onset: longest kept
      id('SHIFT_4'), id('NOTE_62'), id('DUR_4'), // struck again at step 6: the first 62 is cut there
      id('PAD'), id('BOS'),
      EOS_ID, id('NOTE_70'), id('DUR_4'),
    ];
    expect(notesOf(t.decode(ids)).map((n) => n.slice(0, 3))).toEqual([[60, 0, 4], [62, 2, 6], [62, 6, 10]]);
    expect(countEvents(t, ids)).toBe(3);
  });

  it('GIVEN a token stream fed one id at a time WHEN counting THEN push is true exactly on the first NOTE of each onset', () => {
    const t = createEventTokenizer();
    const ids = t.encode(seqOf([[60, 0, 4], [64, 0, 4], [62, 4, 8], [65, 16, 20], [69, 16, 20]]));
    const counter = createEventCounter(t);
    const starts = ids.map((i) => counter.push(i));
    expect(ids.filter((_, i) => starts[i]).map((i) => t.tokenName(i))).toEqual(['NOTE_60', 'NOTE_62', 'NOTE_65']);
    expect(counter.count).toBe(3);
    expect(counter.ended).toBe(true);
  });
});

describe('event encoding: spec, start ids and key masks', () => {
  it('GIVEN a tokenizer WHEN saved as JSON and rebuilt THEN ids are identical; a corrupt config is MODEL_CORRUPT', () => {
    const t = createEventTokenizer({ velocityBins: 8, pitchMin: 36, pitchMax: 96 });
    const restored = tokenizerFromSpec(JSON.parse(JSON.stringify(t.toJSON())));
    const seq = seqOf([[48, 0, 3], [50, 3, 9]]);
    expect(restored.vocabSize).toBe(t.vocabSize);
    expect(restored.encode(seq)).toEqual(t.encode(seq));
    expect(() => tokenizerFromSpec({ name: 'event', version: 1, config: { pitchMin: 60, pitchMax: 64 } })).toThrow(MotifError);
  });

  it('GIVEN a meter WHEN asking for start ids THEN BOS and that meter; unknown meters fall back to the first', () => {
    const t = createEventTokenizer();
    expect(t.startIds({ meter: '3/4' }).map((i) => t.tokenName(i))).toEqual(['BOS', 'METER_3/4']);
    expect(t.startIds({ meter: '11/8' })[0]).toBe(BOS_ID);
    expect(t.tokenName(t.startIds({ meter: '11/8' })[1]!)).toBe('METER_4/4');
  });

  it('GIVEN C major WHEN building the mask THEN black-key notes are barred and timing tokens stay allowed', () => {
    const t = createEventTokenizer();
    const mask = allowedTokenMask(t, [0, 2, 4, 5, 7, 9, 11]);
    expect(mask[t.noteId(60)]).toBe(true);
    expect(mask[t.noteId(61)]).toBe(false);
    expect(mask[t.shiftId(3)]).toBe(true);
    expect(mask[EOS_ID]).toBe(true);
    expect(mask.filter((ok) => !ok).length).toBe(36); // the 36 black keys of a piano
  });
});
