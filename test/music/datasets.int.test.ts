/**
 * Every file under the shared datasets either reads or fails with a MotifError; golden note lists
 * from the Tonejs/Midi fixtures; round trips of real pieces.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATASETS_DIR, RUN_DATA_TESTS, withDatasets } from '../support/datasets.js';
import { MotifError } from '../../src/errors.js';
import { readMidi, writeMidi } from '../../src/music/midi-io.js';
import { type NoteSequence, stepToSeconds } from '../../src/music/note-sequence.js';

const DATASETS = DATASETS_DIR;
const { describeData } = withDatasets(import.meta.url);
const NOT_MIDI = /\.(md|txt|json|csv|abc)$|LICENSE/i;

function filesUnder(dir: string): string[] {
  if (!RUN_DATA_TESTS) return []; // collected but skipped: see test/support/datasets.ts
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : NOT_MIDI.test(name) ? [] : [path];
  });
}

function readAll(dir: string): { read: number; failed: Map<string, string> } {
  const failed = new Map<string, string>();
  let read = 0;
  for (const path of filesUnder(dir)) {
    try {
      readMidi(readFileSync(path));
      read++;
    } catch (error) {
      if (!(error instanceof MotifError)) throw new Error(`${path}: ${String(error)}`);
      failed.set(basename(path), `${error.code}: ${error.userMessage}`);
    }
  }
  return { read, failed };
}

describeData('every dataset file reads or fails cleanly', () => {
  it('GIVEN the 3,089 Nottingham MIDI files WHEN read THEN all of them read', () => {
    const { read, failed } = readAll(join(DATASETS, 'nottingham/MIDI'));
    console.log(`nottingham: ${read} read, ${failed.size} failed`);
    expect([...failed]).toEqual([]);
    expect(read).toBe(3089);
  });

  it('GIVEN the 228 Mutopia piano MIDI files WHEN read THEN all of them read', () => {
    const { read, failed } = readAll(join(DATASETS, 'mutopia-piano-pd/midi'));
    console.log(`mutopia: ${read} read, ${failed.size} failed`);
    expect([...failed]).toEqual([]);
    expect(read).toBe(228);
  });

  it('GIVEN the JSB chorales folder WHEN scanned THEN it holds no MIDI (CSV/JSON only, see jsb-chorales.test.ts)', () => {
    expect(filesUnder(join(DATASETS, 'jsb-chorales'))).toEqual([]);
  });

  it('GIVEN the MIDI edge cases WHEN read THEN exactly the broken files fail, each with a plain message', () => {
    const { read, failed } = readAll(join(DATASETS, 'midi-edge-cases'));
    console.log(`midi-edge-cases: ${read} read, ${failed.size} failed\n${[...failed].map(([f, m]) => `  ${f}: ${m}`).join('\n')}`);
    const midi2 = [...failed.keys()].filter((f) => f.endsWith('.midi2'));
    expect(midi2).toHaveLength(19);
    for (const f of midi2.filter((f) => !f.includes('empty-file') && !f.includes('not-a-midi'))) {
      expect(failed.get(f)).toBe('MIDI_INVALID: This is a MIDI 2.0 clip file; only standard MIDI 1.0 files (.mid) can be read.');
    }
    expect(Object.fromEntries([...failed].filter(([f]) => !f.endsWith('.midi2')))).toEqual({
      'test-corrupt-file-missing-byte.mid': 'MIDI_INVALID: The MIDI file is cut off in track 1.',
      'test-empty-file.mid': 'MIDI_INVALID: This file is empty (0 bytes), so it is not a MIDI file.',
      'test-not-a-midi-file.mid': 'MIDI_INVALID: This file is not a MIDI file (it starts with "not a mi" instead of "MThd").',
      'test-syx-7e-06-01-id-request.syx': 'MIDI_INVALID: This file is not a MIDI file (it looks like a raw SysEx dump).',
      'MIDIBadHeaderChunk.mid': 'MIDI_INVALID: This file is not a MIDI file (it starts with "MT0d" instead of "MThd").',
      'MIDIBadHeaderFormat.mid': 'MIDI_INVALID: This MIDI file says it is format 3, which does not exist (only formats 0, 1 and 2 do).',
      'MIDIBadHeaderLength.mid': 'MIDI_INVALID: This MIDI file is broken: where track 1 should start (byte 30) there is no track.',
      'MIDIBadHeaderSMTPE.mid': 'MIDI_INVALID: This MIDI file uses a timing mode (SMPTE frames) with an impossible frame rate.',
      'MIDIBadHeaderTracksNum.mid': 'MIDI_INVALID: The MIDI file is cut off or broken: it says it has 2 tracks but only 1 is there.',
      'MIDIBadTrackHdr.mid': 'MIDI_INVALID: Track 1 of this MIDI file has a broken header ("mTrk" instead of "MTrk").',
      'MIDIBadTrackLength.mid': 'MIDI_INVALID: The MIDI file is cut off in track 1.',
      // Demo files that play every GS/XG sound one after another: longer than any piece may be
      // (MAX_PIECE_SECONDS, shared by reading, composing and rendering), so refused at the door.
      'test-all-gs-sounds.mid': 'MIDI_LIMIT_EXCEEDED: This MIDI file lasts 57 minutes 48 seconds; the limit is 30 minutes.',
      'test-all-xg-sounds.mid': 'MIDI_LIMIT_EXCEEDED: This MIDI file lasts 52 minutes 15 seconds; the limit is 30 minutes.',
    });
    expect(read).toBe(86);
  });

  it('GIVEN the jazz-soft files with illegal system bytes, odd running status and padded delta times WHEN read THEN each plays the C major scale', () => {
    const dir = join(DATASETS, 'midi-edge-cases/jazz-soft-test-midi-files/midi');
    const scaleFiles = readdirSync(dir).filter((f) => /illegal-message|running-status|vlq-|extra-byte|non-midi-track|c-major-scale/.test(f));
    expect(scaleFiles.length).toBe(22);
    for (const f of scaleFiles) {
      expect(readMidi(readFileSync(join(dir, f))).notes.map((n) => n.pitch), f).toEqual([72, 74, 76, 77, 79, 81, 83, 84].map((p) => p - 12));
    }
  });
});

interface GoldenNote {
  pitch: number;
  startSeconds: number;
  endSeconds: number;
}

function readGolden(path: string): GoldenNote[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('track')).map((l) => {
    const [pitch, start, end] = l.split('\t').map(Number);
    return { pitch: pitch ?? -1, startSeconds: start ?? NaN, endSeconds: end ?? NaN };
  });
}

/** Pairs golden and read notes per pitch in time order; returns the golden notes without a partner within one grid step. */
function unmatchedGolden(golden: GoldenNote[], seq: NoteSequence): GoldenNote[] {
  const ours = new Map<number, number[]>();
  for (const n of seq.notes) ours.set(n.pitch, [...(ours.get(n.pitch) ?? []), n.startStep]);
  const missing: GoldenNote[] = [];
  const byPitch = new Map<number, GoldenNote[]>();
  for (const g of golden) byPitch.set(g.pitch, [...(byPitch.get(g.pitch) ?? []), g]);
  for (const [pitch, list] of byPitch) {
    const steps = (ours.get(pitch) ?? []).sort((a, b) => a - b);
    const used = new Set<number>();
    for (const g of list.sort((a, b) => a.startSeconds - b.startSeconds)) {
      let index = -1;
      let bestError = Infinity;
      steps.forEach((s, i) => {
        const error = Math.abs(stepToSeconds(seq, s) - g.startSeconds);
        // One step either side, in that step's own tempo (a tempo change can fall inside a step).
        const tolerance = Math.max(stepToSeconds(seq, s + 1) - stepToSeconds(seq, s), stepToSeconds(seq, s) - stepToSeconds(seq, Math.max(0, s - 1)));
        if (!used.has(i) && error <= tolerance + 1e-6 && error < bestError) [index, bestError] = [i, error];
      });
      if (index === -1) missing.push(g);
      else used.add(index);
    }
  }
  return missing;
}

describeData('golden note lists (Tonejs/Midi fixtures, pretty_midi ground truth)', () => {
  const root = join(DATASETS, 'midi-edge-cases/tonejs-midi-fixtures');
  const pieces = !RUN_DATA_TESTS ? [] : ['bach', 'debussy'].flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.mid')).map((f) => join(root, d, f)));

  it.each(pieces.map((p) => [basename(p), p]))('GIVEN %s WHEN read on a 24-step grid THEN every golden note is there within one step, and no other', (_name, path) => {
    const golden = readGolden(`${path}.txt`);
    const seq = readMidi(readFileSync(path), { stepsPerQuarter: 24 });
    expect(seq.notes).toHaveLength(golden.length);
    expect(unmatchedGolden(golden, seq)).toEqual([]);
  });

  it('GIVEN the Bartók concerto (golden list covers 7 of its tracks) WHEN read THEN every golden note is there within one step', () => {
    const path = join(root, 'bartok/concerto_for_orchestra_1.mid');
    const seq = readMidi(readFileSync(path), { stepsPerQuarter: 24 });
    expect(unmatchedGolden(readGolden(`${path}.txt`), seq)).toEqual([]);
  });

  it('GIVEN bach_846 WHEN read THEN pitches, onsets and velocities equal the Tonejs JSON export', () => {
    const json = JSON.parse(readFileSync(join(root, 'bach/bach_846.json'), 'utf8')) as {
      header: { ppq: number };
      tracks: { notes: { midi: number; ticks: number; velocity: number }[] }[];
    };
    const expected = json.tracks.flatMap((t) => t.notes.map((n) => `${n.midi}@${Math.round((n.ticks * 24) / json.header.ppq)}v${Math.round(n.velocity * 127)}`)).sort();
    const seq = readMidi(readFileSync(join(root, 'bach/bach_846.mid')), { stepsPerQuarter: 24 });
    expect(seq.notes.map((n) => `${n.pitch}@${n.startStep}v${n.velocity}`).sort()).toEqual(expected);
  });
});

describeData('round trips of real pieces', () => {
  const files = [
    ...filesUnder(join(DATASETS, 'midi-edge-cases/tonejs-midi-fixtures')),
    ...filesUnder(join(DATASETS, 'mutopia-piano-pd/midi')).filter((_, i) => i % 50 === 0),
    ...filesUnder(join(DATASETS, 'nottingham/MIDI')).filter((_, i) => i % 300 === 0),
  ];

  it(`GIVEN ${files.length} real pieces WHEN read, written and read again on 4- and 24-step grids THEN the sequence is unchanged`, () => {
    for (const path of files) {
      for (const stepsPerQuarter of [4, 24]) {
        const seq = readMidi(readFileSync(path), { stepsPerQuarter });
        expect(readMidi(writeMidi(seq), { stepsPerQuarter }), `${basename(path)} @${stepsPerQuarter}`).toEqual(seq);
      }
    }
  });
});
