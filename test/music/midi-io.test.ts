import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tonejsMidi from '@tonejs/midi';
import { describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { assertHasNotes, readMidi, readMidiFile, writeMidi } from '../../src/music/midi-io.js';
import { type Note, type NoteSequence, stepToSeconds } from '../../src/music/note-sequence.js';
import { resolveSamePitchOverlaps } from '../../src/music/quantize.js';
import { END_OF_TRACK, chunk, scaleTrack, seededRandom, smf, tempoEvent, vlq } from './midi-craft.js';

/** Four tracks (piano, strings, bass, drums), tempo changes, 3/4 then 4/4, varied velocities. */
function generatedSequence(stepsPerQuarter: number, seed = 1): NoteSequence {
  const random = seededRandom(seed);
  const tracks = [
    { name: 'Piano', program: 0, isDrum: false },
    { name: 'Strings ♪', program: 48, isDrum: false },
    { name: 'Bass', program: 33, isDrum: false },
    { name: 'Drums', program: 0, isDrum: true },
  ];
  const notes: Note[] = [];
  const bars = 8;
  const totalSteps = bars * 3 * stepsPerQuarter;
  tracks.forEach((t, track) => {
    for (let i = 0; i < 40; i++) {
      const startStep = Math.floor(random() * (totalSteps - 8));
      const length = 1 + Math.floor(random() * 2 * stepsPerQuarter);
      const pitch = t.isDrum ? 35 + Math.floor(random() * 12) : 36 + track * 12 + Math.floor(random() * 24);
      notes.push({ pitch, velocity: 1 + Math.floor(random() * 127), startStep, endStep: startStep + length, program: t.program, isDrum: t.isDrum, track });
    }
  });
  const resolved = resolveSamePitchOverlaps(notes);
  const lastEnd = resolved.reduce((max, n) => Math.max(max, n.endStep), 0);
  return {
    stepsPerQuarter,
    tempos: [{ step: 0, qpm: 120 }, { step: 6 * stepsPerQuarter, qpm: 90 }, { step: 12 * stepsPerQuarter, qpm: 137.5 }],
    timeSignatures: [{ step: 0, numerator: 3, denominator: 4 }, { step: 18 * stepsPerQuarter, numerator: 4, denominator: 4 }],
    tracks,
    notes: resolved,
    totalSteps: Math.max(lastEnd, totalSteps) + 5,
  };
}

function motifErrorOf(fn: () => unknown): MotifError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MotifError) return error;
    throw error;
  }
  throw new Error('expected a MotifError');
}

describe('writeMidi → readMidi', () => {
  for (const spq of [4, 12, 24]) {
    it(`GIVEN a generated 4-track sequence with drums, tempo changes and 3/4 on a ${spq}-step grid WHEN written and read back THEN it is unchanged`, () => {
      const seq = generatedSequence(spq, spq);
      const back = readMidi(writeMidi(seq), { stepsPerQuarter: spq });
      expect(back).toEqual(seq);
    });
  }

  it('GIVEN a sequence written on a 4-step grid WHEN read on a 24-step grid THEN every onset and offset is six times larger', () => {
    const seq = generatedSequence(4);
    const fine = readMidi(writeMidi(seq), { stepsPerQuarter: 24 });
    expect(fine.notes.map((n) => [n.pitch, n.startStep, n.endStep, n.track])).toEqual(seq.notes.map((n) => [n.pitch, n.startStep * 6, n.endStep * 6, n.track]));
    expect(fine.tempos.map((t) => t.step)).toEqual(seq.tempos.map((t) => t.step * 6));
  });

  it('GIVEN 17 melodic tracks and a drum track WHEN written THEN drums use channel 10 and no melodic track does', () => {
    const tracks = Array.from({ length: 17 }, (_, i) => ({ name: `T${i}`, program: i, isDrum: false }));
    tracks.splice(4, 0, { name: 'Kit', program: 0, isDrum: true });
    const notes = tracks.map((t, track) => ({ pitch: 40 + track, velocity: 90, startStep: track, endStep: track + 2, program: t.program, isDrum: t.isDrum, track }));
    const seq: NoteSequence = { stepsPerQuarter: 4, tempos: [{ step: 0, qpm: 100 }], timeSignatures: [{ step: 0, numerator: 4, denominator: 4 }], tracks, notes, totalSteps: 20 };
    const parsed = new tonejsMidi.Midi(writeMidi(seq)); // tonejs as an independent reader
    const channels = parsed.tracks.filter((t) => t.notes.length > 0).map((t) => t.channel);
    expect(channels[4]).toBe(9);
    expect(channels.filter((c) => c === 9)).toHaveLength(1);
    expect(readMidi(writeMidi(seq))).toEqual(seq);
  });

  it('GIVEN two notes of one pitch overlapping in a track WHEN written THEN the first ends where the second starts', () => {
    const seq = generatedSequence(4);
    const overlapping: NoteSequence = {
      ...seq,
      notes: [
        { pitch: 60, velocity: 80, startStep: 0, endStep: 8, program: 0, isDrum: false, track: 0 },
        { pitch: 60, velocity: 70, startStep: 4, endStep: 6, program: 0, isDrum: false, track: 0 },
        { pitch: 60, velocity: 60, startStep: 4, endStep: 12, program: 0, isDrum: false, track: 0 },
      ],
    };
    const back = readMidi(writeMidi(overlapping));
    expect(back.notes.map((n) => [n.startStep, n.endStep, n.velocity])).toEqual([[0, 4, 80], [4, 12, 60]]);
  });
});

describe('readMidi on crafted files', () => {
  it('GIVEN notes off the grid and a zero-length note WHEN read THEN onsets round to the nearest step and no note is shorter than one step', () => {
    // 96 ticks per quarter, 24 per sixteenth: ticks 13 → step 1 (0.54), 35 → step 1 (1.46), 37 → step 2.
    const body = [13, 0x90, 60, 100, 0, 0x80, 60, 0, 22, 0x90, 62, 100, 2, 0x90, 64, 100, 40, 0x80, 62, 0, 0, 0x80, 64, 0, ...END_OF_TRACK];
    const seq = readMidi(smf([body]));
    expect(seq.notes.map((n) => [n.pitch, n.startStep, n.endStep])).toEqual([[60, 1, 2], [62, 1, 3], [64, 2, 3]]);
  });

  it('GIVEN a tempo change mid-piece WHEN read THEN steps follow beats, not seconds, and the tempo map is kept', () => {
    const body = [...tempoEvent(500_000), 0, 0x90, 60, 100, 96, 0x80, 60, 0, ...tempoEvent(1_000_000), 0, 0x90, 62, 100, 96, 0x80, 62, 0, ...END_OF_TRACK];
    const seq = readMidi(smf([body]));
    expect(seq.notes.map((n) => [n.startStep, n.endStep])).toEqual([[0, 4], [4, 8]]);
    expect(seq.tempos).toEqual([{ step: 0, qpm: 120 }, { step: 4, qpm: 60 }]);
    expect(stepToSeconds(seq, 8)).toBeCloseTo(0.5 + 1.0, 9);
  });

  it('GIVEN a note-on for a pitch already sounding WHEN read THEN the first note ends at the retrigger', () => {
    const body = [0, 0x90, 60, 100, 48, 0x90, 60, 90, 0, 0x80, 60, 0, 48, 0x80, 60, 0, ...END_OF_TRACK];
    const seq = readMidi(smf([body]));
    expect(seq.notes.map((n) => [n.startStep, n.endStep, n.velocity])).toEqual([[0, 2, 100], [2, 4, 90]]);
  });

  it('GIVEN a drum track that sends note-ons only WHEN read THEN each hit lasts until the next hit or the end of the track', () => {
    const body = [0, 0x99, 36, 100, 24, 0x99, 36, 100, 24, 0x99, 38, 100, 24, 0xff, 0x2f, 0];
    const seq = readMidi(smf([body]));
    expect(seq.tracks).toEqual([{ name: 'Track 1', program: 0, isDrum: true }]);
    expect(seq.notes.map((n) => [n.pitch, n.startStep, n.endStep, n.isDrum])).toEqual([[36, 0, 1, true], [36, 1, 3, true], [38, 2, 3, true]]);
  });

  it('GIVEN one track mixing two channels and a program change WHEN read THEN each (channel, program) becomes its own track', () => {
    const body = [0, 0xc0, 40, 0, 0x90, 60, 100, 0, 0x91, 48, 100, 24, 0x80, 60, 0, 0, 0x81, 48, 0, 0, 0xc0, 41, 0, 0x90, 62, 100, 24, 0x80, 62, 0, ...END_OF_TRACK];
    const seq = readMidi(smf([[0, 0xff, 0x03, 4, ...Array.from('Solo', (c) => c.charCodeAt(0)), ...body]]));
    expect(seq.tracks.map((t) => [t.name, t.program])).toEqual([['Solo', 40], ['Solo', 0], ['Solo', 41]]);
    expect(seq.notes.map((n) => [n.pitch, n.track, n.program])).toEqual([[48, 1, 0], [60, 0, 40], [62, 2, 41]]);
  });

  it('GIVEN a format 2 file WHEN read THEN its tracks play one after another', () => {
    const seq = readMidi(smf([scaleTrack([60, 62]), scaleTrack([64, 65])], { format: 2 }));
    expect(seq.notes.map((n) => [n.pitch, n.startStep])).toEqual([[60, 0], [62, 4], [64, 8], [65, 12]]);
  });

  it('GIVEN SMPTE timing (25 fps × 40 ticks) WHEN read THEN a note 1000 ticks in starts at 1 second', () => {
    const division = ((0x100 - 25) << 8) | 40;
    const seq = readMidi(smf([[...vlq(1000), 0x90, 60, 100, ...vlq(500), 0x80, 60, 0, ...END_OF_TRACK]], { division }), { stepsPerQuarter: 24 });
    const note = seq.notes[0]!;
    expect(stepToSeconds(seq, note.startStep)).toBeCloseTo(1, 6);
    expect(stepToSeconds(seq, note.endStep)).toBeCloseTo(1.5, 6);
  });

  it('GIVEN an RMID (RIFF-wrapped) file WHEN read THEN it reads like the MIDI inside', () => {
    const inner = writeMidi(generatedSequence(4));
    const data = chunk('data', inner);
    const le = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
    const riff = Uint8Array.from([...Array.from('RIFF', (c) => c.charCodeAt(0)), ...le(4 + 8 + inner.length), ...Array.from('RMIDdata', (c) => c.charCodeAt(0)), ...le(inner.length), ...data.slice(8)]);
    expect(readMidi(riff)).toEqual(readMidi(inner));
  });

  it('GIVEN a valid file without notes WHEN read THEN the sequence is empty AND assertHasNotes refuses it with MIDI_EMPTY', () => {
    const seq = readMidi(smf([[...vlq(960), 0xff, 0x2f, 0]]));
    expect(seq.notes).toEqual([]);
    expect(seq.totalSteps).toBe(40);
    expect(motifErrorOf(() => assertHasNotes(seq)).code).toBe('MIDI_EMPTY');
    expect(() => assertHasNotes(readMidi(smf([scaleTrack([60])])))).not.toThrow();
  });

  it('GIVEN a bad grid WHEN reading THEN OPTION_OUT_OF_RANGE', () => {
    expect(motifErrorOf(() => readMidi(smf([scaleTrack([60])]), { stepsPerQuarter: 0 })).code).toBe('OPTION_OUT_OF_RANGE');
  });
});

describe('readMidiFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'motif-midi-'));
  const path = join(dir, 'piece.mid');
  writeFileSync(path, writeMidi(generatedSequence(4)));

  it('GIVEN a MIDI file on disk WHEN read THEN it equals readMidi of its bytes', async () => {
    expect(await readMidiFile(path)).toEqual(generatedSequence(4));
  });

  it('GIVEN a file larger than maxBytes WHEN read THEN MIDI_TOO_LARGE names both sizes', async () => {
    const error = await readMidiFile(path, { limits: { maxBytes: 100 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotifError);
    expect((error as MotifError).code).toBe('MIDI_TOO_LARGE');
    expect((error as MotifError).userMessage).toMatch(/the limit is 100 bytes/);
  });

  it('GIVEN a missing path or a folder WHEN read THEN NOT_FOUND', async () => {
    await expect(readMidiFile(join(dir, 'nope.mid'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(readMidiFile(dir)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
