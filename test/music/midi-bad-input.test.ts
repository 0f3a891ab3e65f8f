import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { datasetPath, withDatasets } from '../support/datasets.js';
import { MotifError } from '../../src/errors.js';
import { readMidi } from '../../src/music/midi-io.js';
import { END_OF_TRACK, chunk, header, scaleTrack, seededRandom, smf, tempoEvent, vlq } from './midi-craft.js';

const REAL_FILE = datasetPath('midi-edge-cases/tonejs-midi-fixtures/bach/bach_846.mid');
const { itData } = withDatasets(import.meta.url);

function motifErrorOf(fn: () => unknown): MotifError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MotifError) return error;
    throw error;
  }
  throw new Error('expected a MotifError, but the file was read');
}

/** Reads or throws a MotifError; anything else fails the test. */
function readsOrRefuses(bytes: Uint8Array): 'read' | MotifError['code'] {
  try {
    readMidi(bytes);
    return 'read';
  } catch (error) {
    if (error instanceof MotifError) return error.code;
    throw error;
  }
}

describe('bytes that are not a MIDI file', () => {
  it('GIVEN 300 random byte strings WHEN read THEN each fails with MIDI_INVALID', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 300; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(random() * 400) }, () => Math.floor(random() * 256));
      if (bytes.length >= 4 && String.fromCharCode(...bytes.subarray(0, 4)) === 'MThd') continue;
      expect(motifErrorOf(() => readMidi(bytes)).code).toBe('MIDI_INVALID');
    }
  });

  it('GIVEN a valid header followed by 300 different random track bodies WHEN read THEN each reads or fails with a MotifError', () => {
    const random = seededRandom(11);
    for (let i = 0; i < 300; i++) {
      const body = Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256));
      readsOrRefuses(smf([body]));
    }
  });

  itData('GIVEN a real piece with 200 random single-byte corruptions WHEN each is read THEN it reads or fails with a MotifError', () => {
    const original = readFileSync(REAL_FILE);
    const random = seededRandom(3);
    const outcomes = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const bytes = Uint8Array.from(original);
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      outcomes.add(readsOrRefuses(bytes));
    }
    expect(outcomes.has('read')).toBe(true);
  });

  it('GIVEN an MP3, a MIDI 2.0 clip file and an empty file WHEN read THEN the message says what the file is', () => {
    expect(motifErrorOf(() => readMidi(Uint8Array.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0]))).userMessage).toBe('This file is not a MIDI file (it looks like an MP3 audio file).');
    expect(motifErrorOf(() => readMidi(new TextEncoder().encode('SMF2CLIP\0\0\0\0'))).userMessage).toMatch(/MIDI 2\.0 clip file/);
    expect(motifErrorOf(() => readMidi(new Uint8Array(0))).userMessage).toMatch(/empty/);
    expect(motifErrorOf(() => readMidi(new TextEncoder().encode('hello there'))).userMessage).toBe('This file is not a MIDI file (it starts with "hello th" instead of "MThd").');
  });
});

describe('broken structure', () => {
  itData('GIVEN a real piece cut in half WHEN read THEN MIDI_INVALID says which track is cut off', () => {
    const original = readFileSync(REAL_FILE);
    const error = motifErrorOf(() => readMidi(original.subarray(0, Math.floor(original.length / 2))));
    expect(error.code).toBe('MIDI_INVALID');
    expect(error.userMessage).toMatch(/^The MIDI file is cut off in track \d+\.$/);
  });

  itData('GIVEN every prefix of a small real file WHEN read THEN each reads or fails with a MotifError', () => {
    const original = readFileSync(datasetPath('midi-edge-cases/jazz-soft-test-midi-files/midi/test-c-major-scale.mid'));
    for (let length = 0; length < original.length; length++) readsOrRefuses(original.subarray(0, length));
  });

  it('GIVEN a 5-byte delta time WHEN read THEN MIDI_INVALID', () => {
    expect(motifErrorOf(() => readMidi(smf([[0x81, 0x80, 0x80, 0x80, 0x00, 0x90, 60, 100, ...END_OF_TRACK]]))).userMessage).toMatch(/more than 4 bytes/);
  });

  it('GIVEN running-status data before any status byte WHEN read THEN MIDI_INVALID', () => {
    expect(motifErrorOf(() => readMidi(smf([[0, 60, 100, ...END_OF_TRACK]]))).code).toBe('MIDI_INVALID');
  });

  it('GIVEN a header with 0 ticks per quarter or format 3 WHEN read THEN MIDI_INVALID', () => {
    expect(motifErrorOf(() => readMidi(smf([scaleTrack([60])], { division: 0 }))).code).toBe('MIDI_INVALID');
    expect(motifErrorOf(() => readMidi(smf([scaleTrack([60])], { format: 3 }))).userMessage).toMatch(/format 3/);
  });

  it('GIVEN an unknown chunk before the track WHEN read THEN it is skipped', () => {
    const bytes = Uint8Array.from([...header(0, 1, 96), ...chunk('Junk', [1, 2, 3]), ...chunk('MTrk', scaleTrack([60, 62]))]);
    expect(readMidi(bytes).notes).toHaveLength(2);
  });

  it('GIVEN a 1 MB track name WHEN read THEN the file reads and the name is capped at 64 characters', () => {
    const name = new Array<number>(1_000_000).fill(0x41);
    const seq = readMidi(smf([[0, 0xff, 0x03, ...vlq(name.length), ...name, ...scaleTrack([60])]]));
    expect(seq.tracks[0]?.name).toBe('A'.repeat(64));
  });
});

describe('limits', () => {
  it('GIVEN a tempo of 1 microsecond per beat WHEN read THEN MIDI_LIMIT_EXCEEDED names the tempo', () => {
    const error = motifErrorOf(() => readMidi(smf([[...tempoEvent(1), ...scaleTrack([60])]])));
    expect(error.code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(error.userMessage).toBe('This MIDI file sets a tempo of 60,000,000 beats per minute; tempos must be from 4 to 1,500.');
  });

  it('GIVEN a tempo of 0 microseconds per beat WHEN read THEN MIDI_INVALID', () => {
    expect(motifErrorOf(() => readMidi(smf([[...tempoEvent(0), ...scaleTrack([60])]]))).code).toBe('MIDI_INVALID');
  });

  it('GIVEN the largest possible delta time before a note WHEN read THEN MIDI_LIMIT_EXCEEDED says how long the file lasts', () => {
    const error = motifErrorOf(() => readMidi(smf([[...vlq(0x0fffffff), 0x90, 60, 100, 0, 0x80, 60, 0, ...END_OF_TRACK]])));
    expect(error.code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(error.userMessage).toMatch(/^This MIDI file lasts 388 hours 21 minutes; the limit is 30 minutes\.$/);
  });

  it('GIVEN a 10-hour file WHEN read THEN it is refused; WHEN the limit is raised THEN it reads', () => {
    const tenHoursTicks = 10 * 3600 * 2 * 96; // 120 qpm, 96 ticks per quarter
    const bytes = smf([[0, 0x90, 60, 100, ...vlq(tenHoursTicks), 0x80, 60, 0, ...END_OF_TRACK]]);
    expect(motifErrorOf(() => readMidi(bytes)).userMessage).toBe('This MIDI file lasts 10 hours; the limit is 30 minutes.');
    expect(readMidi(bytes, { limits: { maxDurationSeconds: 11 * 3600 } }).notes).toHaveLength(1);
  });

  it('GIVEN 200,001 notes in one track WHEN read THEN MIDI_LIMIT_EXCEEDED; AND 200,000 notes read in full', () => {
    const track = (count: number): number[] => {
      const body = [0, 0x90];
      for (let i = 0; i < count; i++) body.push(60 + (i % 12), 100, 1, 60 + (i % 12), 0, 0);
      body.push(0xff, 0x2f, 0);
      return body;
    };
    expect(motifErrorOf(() => readMidi(smf([track(200_001)]))).code).toBe('MIDI_LIMIT_EXCEEDED');
    // One tick per step, so no two notes share a step and merge.
    expect(readMidi(smf([track(200_000)]), { stepsPerQuarter: 96 }).notes).toHaveLength(200_000);
  });

  it('GIVEN more than 8 MB WHEN read THEN MIDI_TOO_LARGE before parsing', () => {
    const bytes = new Uint8Array(8 * 1024 * 1024 + 1);
    bytes.set(smf([scaleTrack([60])]));
    const error = motifErrorOf(() => readMidi(bytes));
    expect(error.code).toBe('MIDI_TOO_LARGE');
    expect(error.userMessage).toBe('This MIDI file is 8 MB; the limit is 8 MB.');
  });

  it('GIVEN a header claiming 300 tracks WHEN read THEN MIDI_LIMIT_EXCEEDED', () => {
    const bytes = Uint8Array.from([...header(1, 300, 96), ...chunk('MTrk', scaleTrack([60]))]);
    expect(motifErrorOf(() => readMidi(bytes)).code).toBe('MIDI_LIMIT_EXCEEDED');
  });

  it('GIVEN a track whose channels and programs split into 300 tracks WHEN read THEN MIDI_LIMIT_EXCEEDED', () => {
    const body: number[] = [];
    for (let i = 0; i < 300; i++) body.push(0, 0xc0 | (i % 16), Math.floor(i / 16), 0, 0x90 | (i % 16), 60, 100, 1, 0x80 | (i % 16), 60, 0);
    expect(motifErrorOf(() => readMidi(smf([[...body, ...END_OF_TRACK]]))).code).toBe('MIDI_LIMIT_EXCEEDED');
  });
});
