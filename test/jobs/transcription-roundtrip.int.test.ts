import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreNoteOnsets, type TimedNote } from '../../src/audio/note-metrics.js';
import { transcribeToMidiFile } from '../../src/jobs/transcription.js';
import { readMidiFile } from '../../src/music/midi-io.js';
import { emptySequence, normalizeSequence, stepToSeconds, type NoteSequence } from '../../src/music/note-sequence.js';
import { renderWav } from '../support/render-wav.js';

/** A 16-note single-line piano melody in eighths at 120 qpm (4 steps per quarter), with one long note and a rest. */
function melody(): NoteSequence {
  const pitches = [60, 62, 64, 65, 67, 69, 71, 72, 76, 74, 72, 67, 64, 65, 62, 60];
  const seq = emptySequence({ qpm: 120, stepsPerQuarter: 4, program: 0 });
  let step = 0;
  const notes = pitches.map((pitch, i) => {
    const length = i === 7 ? 8 : 2;
    const note = { pitch, velocity: 90, startStep: step, endStep: step + length, program: 0, isDrum: false, track: 0 };
    step += length + (i === 11 ? 2 : 0);
    return note;
  });
  return normalizeSequence({ ...seq, notes });
}

function timed(seq: NoteSequence): TimedNote[] {
  return seq.notes.map((n) => ({ pitchMidi: n.pitch, startSeconds: stepToSeconds(seq, n.startStep) }));
}

describe('transcription round trip', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'motif-roundtrip-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a single-line melody rendered with the soundfont WHEN transcribed to .mid and re-read THEN note-onset F1 ≥ 0.8 in seconds and on the grid', async () => {
    const original = melody();
    const wavPath = join(dir, 'melody.wav');
    await writeFile(wavPath, renderWav(original));

    const result = await transcribeToMidiFile(wavPath, dir);
    const reference = timed(original);
    const inSeconds = scoreNoteOnsets(reference, result.events);
    const reread = await readMidiFile(result.midiPath);
    const onGrid = scoreNoteOnsets(reference, timed(reread));
    console.info(
      `rendered melody: F1 ${inSeconds.f1.toFixed(3)} (P ${inSeconds.precision.toFixed(3)}, R ${inSeconds.recall.toFixed(3)}); ` +
        `re-read .mid F1 ${onGrid.f1.toFixed(3)}`,
    );
    expect(inSeconds.f1).toBeGreaterThanOrEqual(0.8);
    expect(onGrid.f1).toBeGreaterThanOrEqual(0.8);
    expect(reread.notes.every((n) => n.program === 0 && !n.isDrum && n.velocity >= 1 && n.velocity <= 127)).toBe(true);
  });
});
