import { describe, expect, it } from 'vitest';
import { midiFilesIn, withDatasets } from '../../support/datasets.js';
import {
  buildCopyIndex,
  copyEvents,
  copyIndexFromJson,
  copyIndexToJson,
  longestCopiedRun,
} from '../../../src/music/analysis/originality.js';
import { readMidiFile } from '../../../src/music/midi-io.js';
import { emptySequence, type NoteSequence } from '../../../src/music/note-sequence.js';
import { createRng } from '../../../src/music/random.js';

const { itData } = withDatasets(import.meta.url);

/** A monophonic piece from (pitch, duration-in-sixteenths) events. */
function monophonic(events: [pitch: number, durationSteps: number][]): NoteSequence {
  const seq = emptySequence();
  let step = 0;
  for (const [pitch, duration] of events) {
    seq.notes.push({ pitch, startStep: step, endStep: step + duration, velocity: 80, program: 0, isDrum: false, track: 0 });
    step += duration;
  }
  seq.totalSteps = step;
  return seq;
}

describe('originality: longest run copied from the training data', () => {
  itData('GIVEN real training tunes and a piece with 23 events lifted from one of them WHEN checked THEN exactly 23, also after a JSON round trip', async () => {
    const files = midiFilesIn('nottingham/MIDI').slice(0, 40);
    const training = await Promise.all(files.map((f) => readMidiFile(f)));
    const index = buildCopyIndex(training);
    expect(index.pieceCount).toBe(40);

    const source = copyEvents(training[17]!).slice(30, 53).map((s): [number, number] => [Math.floor(s / 128), s % 128]);
    expect(source).toHaveLength(23);
    // Surrounding events use sub-audio pitches and odd lengths that no tune contains.
    const rng = createRng(5);
    const junk = (): [number, number] => [1 + Math.floor(rng() * 10), 97 + Math.floor(rng() * 20)];
    const piece = monophonic([...Array.from({ length: 40 }, junk), ...source, ...Array.from({ length: 40 }, junk)]);
    expect(longestCopiedRun(index, piece)).toBe(23);

    const restored = copyIndexFromJson(JSON.parse(JSON.stringify(copyIndexToJson(index))));
    expect(longestCopiedRun(restored, piece)).toBe(23);
    expect(restored.eventCount).toBe(index.eventCount);
    // A training piece is copied in full from itself; junk alone shares nothing.
    expect(longestCopiedRun(index, training[3]!)).toBe(copyEvents(training[3]!).length);
    expect(longestCopiedRun(index, monophonic(Array.from({ length: 30 }, junk)))).toBe(0);
  });

  it('GIVEN a run that spans the end of one training piece and the start of the next WHEN checked THEN it is not counted as one copy', () => {
    const a = monophonic([[60, 4], [62, 4], [64, 4]]);
    const b = monophonic([[65, 4], [67, 4]]);
    const index = buildCopyIndex([a, b]);
    expect(longestCopiedRun(index, monophonic([[62, 4], [64, 4], [65, 4], [67, 4]]))).toBe(2);
  });

  it('GIVEN chords WHEN turned into events THEN top notes by default, every note in "all" mode, durations on the sixteenth grid', () => {
    const seq = emptySequence({ stepsPerQuarter: 8 });
    seq.notes = [
      { pitch: 60, startStep: 0, endStep: 8, velocity: 80, program: 0, isDrum: false, track: 0 },
      { pitch: 67, startStep: 0, endStep: 4, velocity: 80, program: 0, isDrum: false, track: 0 },
      { pitch: 65, startStep: 8, endStep: 9, velocity: 80, program: 0, isDrum: false, track: 0 },
    ];
    expect(copyEvents(seq)).toEqual([67 * 128 + 2, 65 * 128 + 1]);
    expect(copyEvents(seq, 'all')).toEqual([67 * 128 + 2, 60 * 128 + 4, 65 * 128 + 1]);
  });
});
