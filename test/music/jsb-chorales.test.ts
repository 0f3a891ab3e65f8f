import { describe, expect, it } from 'vitest';
import { datasetPath, withDatasets } from '../support/datasets.js';
import { MotifError } from '../../src/errors.js';
import { loadJsbChorales, parseJsbChoraleCsv } from '../../src/music/jsb-chorales.js';
import { readMidi, writeMidi } from '../../src/music/midi-io.js';

const DIR = datasetPath('jsb-chorales');
const { itData } = withDatasets(import.meta.url);

describe('loadJsbChorales', () => {
  itData('GIVEN the shipped dataset WHEN each split is loaded THEN it has 229 / 76 / 77 four-voice chorales on a 16th grid', () => {
    const counts = (['train', 'valid', 'test'] as const).map((split) => loadJsbChorales(DIR, split).length);
    expect(counts).toEqual([229, 76, 77]);
    const [first] = loadJsbChorales(DIR, 'train');
    expect(first?.stepsPerQuarter).toBe(4);
    expect(first?.tracks.map((t) => t.name)).toEqual(['Soprano', 'Alto', 'Tenor', 'Bass']);
    expect(first?.totalSteps).toBe(192); // chorale_000.csv has 192 rows
  });

  itData('GIVEN chorale_000 WHEN loaded THEN its first soprano note is D5 held for four 16ths, as in the CSV', () => {
    const [first] = loadJsbChorales(DIR, 'train');
    const soprano = first?.notes.filter((n) => n.track === 0) ?? [];
    expect(soprano[0]).toMatchObject({ pitch: 74, startStep: 0, endStep: 4 });
    expect(soprano[1]).toMatchObject({ pitch: 75, startStep: 4 });
  });

  it('GIVEN repeated values and zeros in a voice WHEN parsed THEN runs merge into held notes and zeros are rests', () => {
    const seq = parseJsbChoraleCsv('note0,note1,note2,note3\n60,0,0,0\n60,0,0,0\n0,0,0,0\n62,0,0,0\n62,0,0,48\n');
    expect(seq.notes.map((n) => [n.track, n.pitch, n.startStep, n.endStep])).toEqual([[0, 60, 0, 2], [0, 62, 3, 5], [3, 48, 4, 5]]);
  });

  itData('GIVEN all chorales WHEN written to MIDI and read back THEN they are unchanged', () => {
    for (const seq of loadJsbChorales(DIR, 'test')) expect(readMidi(writeMidi(seq))).toEqual(seq);
  });

  it('GIVEN a damaged row or a missing folder WHEN loaded THEN a MotifError says so', () => {
    expect(() => parseJsbChoraleCsv('60,61,62\n')).toThrow(MotifError);
    expect(() => loadJsbChorales('/nonexistent', 'train')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
