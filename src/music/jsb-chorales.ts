/**
 * Loads the JSB chorales (382 four-voice Bach chorales on a sixteenth-note grid, see
 * ../shared/datasets/jsb-chorales/SOURCE.md) as NoteSequences.
 *
 * Data: `csv/{train,valid,test}/chorale_NNN.csv`, header `note0,note1,note2,note3`, one row per
 * sixteenth note, soprano to bass, MIDI pitch or 0 for silence.
 *
 * Held or repeated? The source says a held note and a repeated note look the same. We read runs of
 * one pitch in one voice as ONE held note (the Boulanger-Lewandowski convention the split comes
 * from, and how SOURCE.md counts onsets), so a sequence never has two touching same-pitch notes in a
 * voice; some of Bach's repeated notes become held ones.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MotifError } from '../errors.js';
import { compareNotes, DEFAULT_QPM, type Note, type NoteSequence } from './note-sequence.js';

export type JsbSplit = 'train' | 'valid' | 'test';

export interface JsbOptions {
  /** Tempo given to every chorale (the data has none), quarter notes per minute. */
  qpm?: number;
  /** General MIDI program for all four voices (default 0, acoustic grand piano). */
  program?: number;
  /** Velocity for every note, 1–127 (the data has none). */
  velocity?: number;
}

const VOICE_NAMES = ['Soprano', 'Alto', 'Tenor', 'Bass'] as const;
const STEPS_PER_QUARTER = 4; // the data's sixteenth-note grid

/**
 * Parses one chorale's CSV text. Exported for tests and for other grid sources.
 * @throws MotifError DATA_EMPTY when a row is not four whole numbers from 0 to 127.
 */
export function parseJsbChoraleCsv(text: string, opts: JsbOptions = {}, label = 'chorale'): NoteSequence {
  const program = opts.program ?? 0;
  const velocity = opts.velocity ?? 80;
  const rows = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const body = rows[0]?.startsWith('note') ? rows.slice(1) : rows;
  const notes: Note[] = [];
  const open: ({ pitch: number; startStep: number } | undefined)[] = [undefined, undefined, undefined, undefined];
  const close = (voice: number, endStep: number): void => {
    const held = open[voice];
    if (held) notes.push({ pitch: held.pitch, velocity, startStep: held.startStep, endStep, program, isDrum: false, track: voice });
    open[voice] = undefined;
  };

  body.forEach((line, step) => {
    const values = line.split(',').map((v) => Number(v.trim()));
    if (values.length !== 4 || values.some((v) => !Number.isInteger(v) || v < 0 || v > 127)) {
      throw new MotifError('DATA_EMPTY', `The JSB chorale ${label} is damaged at row ${step + 2}: expected four pitch numbers.`);
    }
    values.forEach((pitch, voice) => {
      if (open[voice]?.pitch === pitch) return;
      close(voice, step);
      if (pitch > 0) open[voice] = { pitch, startStep: step };
    });
  });
  for (let voice = 0; voice < 4; voice++) close(voice, body.length);

  return {
    stepsPerQuarter: STEPS_PER_QUARTER,
    tempos: [{ step: 0, qpm: opts.qpm ?? DEFAULT_QPM }],
    timeSignatures: [{ step: 0, numerator: 4, denominator: 4 }],
    tracks: VOICE_NAMES.map((name) => ({ name, program, isDrum: false })),
    notes: notes.sort((a, b) => compareNotes(a, b) || a.track - b.track),
    totalSteps: body.length,
  };
}

/**
 * Loads one split, in file-name order (229 train, 76 valid, 77 test chorales in the shipped data).
 * @param dir the dataset folder (the one holding `csv/`).
 * @throws MotifError NOT_FOUND when `dir/csv/<split>` is missing, DATA_EMPTY when it holds no
 *   chorales or a chorale is damaged.
 */
export function loadJsbChorales(dir: string, split: JsbSplit, opts: JsbOptions = {}): NoteSequence[] {
  const splitDir = join(dir, 'csv', split);
  let files: string[];
  try {
    files = readdirSync(splitDir).filter((f) => f.endsWith('.csv')).sort();
  } catch (cause) {
    throw new MotifError('NOT_FOUND', `The JSB chorales (${split} split) were not found.`, { cause, detail: splitDir });
  }
  if (files.length === 0) throw new MotifError('DATA_EMPTY', `The JSB chorales folder has no ${split} chorales.`, { detail: splitDir });
  return files.map((f) => parseJsbChoraleCsv(readFileSync(join(splitDir, f), 'utf8'), opts, f));
}
