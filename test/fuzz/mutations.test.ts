/** The fuzz mutations do what their names promise, deterministically. */
import { describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { MUTATIONS, type FuzzInput, type MutationPool } from '../../src/fuzz/mutations.js';
import { makeCase } from '../../src/fuzz/runner.js';
import { concat, header, splitChunks, track } from '../../src/fuzz/smf-bytes.js';
import { readMidi } from '../../src/music/midi-io.js';
import { createRng } from '../../src/music/random.js';

const smf = concat([header(1, 1, 480), track([0x00, 0x90, 60, 100, 0x83, 0x60, 0x80, 60, 0, 0x00, 0x90, 64, 100, 0x83, 0x60, 0x80, 64, 0])]);
const midiInput: FuzzInput = { source: 'two-notes.mid', bytes: smf, ext: '.mid' };
const wav = concat([
  Uint8Array.from([0x52, 0x49, 0x46, 0x46, 0x24, 0x08, 0, 0, 0x57, 0x41, 0x56, 0x45]),
  Uint8Array.from([0x66, 0x6d, 0x74, 0x20, 16, 0, 0, 0, 1, 0, 1, 0, 0x22, 0x56, 0, 0, 0x44, 0xac, 0, 0, 2, 0, 16, 0]),
  Uint8Array.from([0x64, 0x61, 0x74, 0x61, 0, 8, 0, 0]),
  new Uint8Array(2048),
]);
const pool: MutationPool = {
  midi: [midiInput],
  audio: [{ source: 'tone.wav', bytes: wav, ext: '.wav' }],
  tenHourSilence: { source: 'silence', bytes: Uint8Array.from([0x66, 0x4c, 0x61, 0x43]), ext: '.flac' },
};

function mutate(name: string, seed = 1): Uint8Array {
  const mutation = MUTATIONS.find((m) => m.name === name);
  if (!mutation) throw new Error(`no mutation ${name}`);
  return mutation.apply(createRng(seed), pool).bytes;
}

function readError(bytes: Uint8Array): MotifError | undefined {
  try {
    readMidi(bytes);
    return undefined;
  } catch (error) {
    if (error instanceof MotifError) return error;
    throw error;
  }
}

describe('fuzz mutations', () => {
  it('GIVEN the issue’s lists WHEN the harness is built THEN every named MIDI and audio mutation exists', () => {
    expect(MUTATIONS.filter((m) => m.target === 'midi').map((m) => m.name).sort()).toEqual([
      '10000-notes-one-tick', '65535-tracks', 'byte-flips', 'duplicated-chunks', 'huge-delta-times', 'lying-chunk-length',
      'riff-wrapped-lying-sizes', 'running-status-abuse', 'three-hour-file', 'truncation', 'valid-header-then-garbage',
    ]);
    expect(MUTATIONS.filter((m) => m.target === 'audio').map((m) => m.name).sort()).toEqual([
      'huge-declared-size', 'midi-renamed-mp3', 'ten-hour-silent', 'truncated-frames', 'wrong-header',
    ]);
  });

  it('GIVEN a seed and an index WHEN a case is made twice THEN it is the same bytes (reproducible findings)', () => {
    for (let i = 0; i < 50; i++) {
      const a = makeCase(42, i, pool, 0.3);
      const b = makeCase(42, i, pool, 0.3);
      expect(b.mutation).toBe(a.mutation);
      expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    }
    expect(Buffer.from(makeCase(42, 0, pool, 0.3).bytes).equals(Buffer.from(makeCase(43, 0, pool, 0.3).bytes))).toBe(false);
  });

  it('GIVEN the structural MIDI mutations WHEN read THEN each is what its name says', () => {
    const many = mutate('65535-tracks', 3);
    expect((many[10]! << 8) | many[11]!).toBe(65_535);
    expect(readError(many)?.code).toMatch(/MIDI_LIMIT_EXCEEDED|MIDI_INVALID/);
    const long = readError(mutate('three-hour-file'));
    expect(long?.code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(long?.userMessage).toMatch(/lasts 3 hours/);
    // 10,000 note-ons at tick 0 in one appended track (4 bytes each: delta 0, status, pitch, velocity);
    // the reader keeps one note per pitch and voice of them.
    const chordBytes = mutate('10000-notes-one-tick');
    const appended = splitChunks(chordBytes).at(-1)!;
    expect(appended.declaredLength).toBeGreaterThanOrEqual(20_000 * 4);
    expect(readMidi(chordBytes).notes.filter((n) => n.startStep === 0).length).toBeGreaterThan(80);
    const dup = mutate('duplicated-chunks', 5);
    expect(splitChunks(dup).length).toBeGreaterThan(splitChunks(smf).length);
    const riff = mutate('riff-wrapped-lying-sizes', 2);
    expect(Buffer.from(riff.subarray(0, 4)).toString('latin1')).toBe('RIFF');
    expect(Buffer.from(mutate('valid-header-then-garbage').subarray(0, 14)).equals(Buffer.from(smf.subarray(0, 14)))).toBe(true);
  });

  it('GIVEN the audio mutations WHEN applied THEN sizes lie, headers change, and a MIDI file is named .mp3', () => {
    const huge = mutate('huge-declared-size');
    const dataAt = Buffer.from(huge).indexOf('data');
    expect(Buffer.from(huge).readUInt32LE(dataAt + 4)).toBeGreaterThanOrEqual(0x7fffffff);
    const renamed = MUTATIONS.find((m) => m.name === 'midi-renamed-mp3')!.apply(createRng(1), pool);
    expect(renamed.fileName).toBe('fuzz.mp3');
    expect(Buffer.from(renamed.bytes.subarray(0, 4)).toString('latin1')).toBe('MThd');
    expect(mutate('truncated-frames', 4).length).toBeLessThan(wav.length);
  });
});
