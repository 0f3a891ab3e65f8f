/**
 * Issue 13 part 1: RIFF-wrapped MIDI (RMID) sizes read as unsigned 32-bit numbers, and a whole-file
 * work budget. A size read as negative (F8 FF FF FF = -8) once froze the bot: `pos += 8 + size`
 * never moved. A hang here fails through vitest's timeout; nothing asserts on time.
 */
import { describe, expect, it } from 'vitest';
import { MotifError } from '../../src/errors.js';
import { DEFAULT_MIDI_LIMITS, resolveMidiLimits } from '../../src/music/midi-limits.js';
import { readMidi } from '../../src/music/midi-io.js';
import { END_OF_TRACK, scaleTrack, seededRandom, smf } from './midi-craft.js';

function motifErrorOf(fn: () => unknown): MotifError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MotifError) return error;
    throw error;
  }
  throw new Error('expected a MotifError, but the file was read');
}

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));
const le32 = (value: number): number[] => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];

/** `RIFF`, a size, `RMID`, then the chunks given as raw bytes. */
function rmid(...chunks: number[][]): Uint8Array {
  const body = chunks.flat();
  return Uint8Array.from([...ascii('RIFF'), ...le32(4 + body.length), ...ascii('RMID'), ...body]);
}

/** A RIFF chunk whose size field says `declaredSize` whatever the body holds. */
function riffChunk(id: string, body: number[], declaredSize = body.length): number[] {
  return [...ascii(id), ...le32(declaredSize), ...body, ...(body.length % 2 ? [0] : [])];
}

const SCALE = Array.from(smf([scaleTrack([60, 62, 64])]));

describe('RMID chunk sizes are unsigned', () => {
  // The file: a JUNK chunk whose size bytes are F8 FF FF FF (−8 when read as signed), 20 bytes in all.
  it('GIVEN the 20-byte RMID with a JUNK size of F8 FF FF FF WHEN read THEN MIDI_INVALID says the block runs past the end', () => {
    const bytes = Uint8Array.from([...ascii('RIFF'), ...le32(12), ...ascii('RMID'), ...ascii('JUNK'), 0xf8, 0xff, 0xff, 0xff]);
    expect(bytes.length).toBe(20);
    const error = motifErrorOf(() => readMidi(bytes));
    expect(error.code).toBe('MIDI_INVALID');
    expect(error.userMessage).toBe('This RMID file is broken: a "JUNK" block says it is 4,294,967,288 bytes long, past the end of the file, before any MIDI data.');
  });

  for (const [label, size] of [['2^31', 2 ** 31], ['2^32 - 1', 2 ** 32 - 1], ['2^32 - 8', 2 ** 32 - 8], ['2^31 + 1 (odd)', 2 ** 31 + 1]] as const) {
    it(`GIVEN a JUNK chunk of size ${label} before real MIDI data WHEN read THEN MIDI_INVALID, never a hang`, () => {
      const bytes = rmid(riffChunk('JUNK', [1, 2, 3, 4], size), riffChunk('data', SCALE));
      expect(motifErrorOf(() => readMidi(bytes)).code).toBe('MIDI_INVALID');
    });

    it(`GIVEN a data chunk of size ${label} WHEN read THEN MIDI_INVALID says the MIDI data is cut off`, () => {
      const bytes = rmid(riffChunk('data', SCALE, size));
      const error = motifErrorOf(() => readMidi(bytes));
      expect(error.code).toBe('MIDI_INVALID');
      expect(error.userMessage).toBe('This RMID file is cut off: its MIDI data is incomplete.');
    });
  }

  it('GIVEN a well-formed RMID with an odd-sized JUNK chunk before the data WHEN read THEN the notes are read', () => {
    const bytes = rmid(riffChunk('JUNK', [1, 2, 3]), riffChunk('data', SCALE));
    expect(readMidi(bytes).notes.map((n) => n.pitch)).toEqual([60, 62, 64]);
  });

  it('GIVEN an RMID with only a JUNK chunk WHEN read THEN MIDI_INVALID says it holds no MIDI data', () => {
    expect(motifErrorOf(() => readMidi(rmid(riffChunk('JUNK', [1, 2])))).userMessage).toBe('This RMID file holds no MIDI data.');
  });

  it('GIVEN 3,000 random mutations of the size bytes and chunk ids of an RMID WHEN each is read THEN each reads or fails with a MotifError', () => {
    const original = rmid(riffChunk('JUNK', [1, 2, 3, 4]), riffChunk('LIST', [5, 6]), riffChunk('data', SCALE));
    // Offsets of every chunk header byte (id + size) and of the RIFF size.
    const headerOffsets = [4, 5, 6, 7, ...[12, 24, 34].flatMap((o) => Array.from({ length: 8 }, (_, i) => o + i))];
    const random = seededRandom(13);
    const outcomes = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const bytes = Uint8Array.from(original);
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        bytes[headerOffsets[Math.floor(random() * headerOffsets.length)]!] = Math.floor(random() * 256);
      }
      try {
        readMidi(bytes);
        outcomes.add('read');
      } catch (error) {
        if (!(error instanceof MotifError)) throw error;
        outcomes.add(error.code);
      }
    }
    expect(outcomes.has('read')).toBe(true);
    expect(outcomes.has('MIDI_INVALID')).toBe(true);
  });
});

describe('the whole-file work budget', () => {
  it('GIVEN 2,500,001 stray system bytes (a 5 MB file of tiny events) WHEN read THEN MIDI_LIMIT_EXCEEDED names the event limit', () => {
    const count = DEFAULT_MIDI_LIMITS.maxEvents + 1;
    const body = new Array<number>(count * 2);
    for (let i = 0; i < count; i++) {
      body[2 * i] = 0;
      body[2 * i + 1] = 0xf8; // timing clock: illegal in a file, skipped, but still an event to look at
    }
    const error = motifErrorOf(() => readMidi(smf([[...body, ...END_OF_TRACK]])));
    expect(error.code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(error.userMessage).toBe('This MIDI file has more than 2,500,000 events; that is the limit.');
  });

  it('GIVEN a lowered event limit WHEN a 3-note file needs more events THEN MIDI_LIMIT_EXCEEDED; AND with enough it reads', () => {
    const bytes = smf([scaleTrack([60, 62, 64])]); // 6 note events + End of Track
    expect(motifErrorOf(() => readMidi(bytes, { limits: { maxEvents: 5 } })).code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(readMidi(bytes, { limits: { maxEvents: 7 } }).notes).toHaveLength(3);
  });

  it('GIVEN a byte budget smaller than the file WHEN read THEN MIDI_LIMIT_EXCEEDED, so a loop that stopped advancing could never hang', () => {
    const bytes = rmid(riffChunk('JUNK', [1, 2, 3, 4]), riffChunk('data', SCALE));
    expect(motifErrorOf(() => readMidi(bytes, { limits: { maxScanBytes: 40 } })).code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(readMidi(bytes, { limits: { maxScanBytes: bytes.length } }).notes).toHaveLength(3);
  });

  it('GIVEN the default limits WHEN the size limit is raised THEN the byte budget rises with it', () => {
    expect(resolveMidiLimits({ maxBytes: 50 * 1024 * 1024 }).maxScanBytes).toBeGreaterThanOrEqual(2 * 50 * 1024 * 1024);
    expect(resolveMidiLimits({}).maxScanBytes).toBe(DEFAULT_MIDI_LIMITS.maxScanBytes);
  });
});
