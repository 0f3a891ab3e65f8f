import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetPath, withDatasets } from '../support/datasets.js';
import { scoreNoteOnsets, type TimedNote } from '../../src/audio/note-metrics.js';
import { transcribeAudio, transcribeToMidiFile } from '../../src/jobs/transcription.js';
import { readMidiFile } from '../../src/music/midi-io.js';
import { wavBytes } from '../support/render-wav.js';

const CLIP_DIR = datasetPath('audio-test-clips/salamander-derived-clip');
const { itData } = withDatasets(import.meta.url);
const CLIP = join(CLIP_DIR, 'salamander-dim7-arpeggio-chord.flac');

/** pitch, onset_s, offset_s, sample_file — header line first. */
async function readGroundTruth(): Promise<TimedNote[]> {
  const text = await readFile(join(CLIP_DIR, 'salamander-dim7-arpeggio-chord.notes.tsv'), 'utf8');
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [pitch, onset] = line.split('\t');
      return { pitchMidi: Number(pitch), startSeconds: Number(onset) };
    });
}

describe('transcribeAudio', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'motif-transcribe-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  itData('GIVEN the 4.5 s Salamander clip with exact ground truth WHEN transcribed THEN note-onset F1 (pitch exact, 50 ms) is at least 0.8', async () => {
    const result = await transcribeAudio(CLIP);
    const score = scoreNoteOnsets(await readGroundTruth(), result.events);
    console.info(`salamander clip: F1 ${score.f1.toFixed(3)} (P ${score.precision.toFixed(3)}, R ${score.recall.toFixed(3)}, ${score.matched}/${score.referenceCount} matched, ${score.estimateCount} found)`);
    expect(score.recall).toBe(1);
    expect(score.f1).toBeGreaterThanOrEqual(0.8);
    expect(result.durationSeconds).toBeCloseTo(4.5, 1);
    // Sorted in time, unlike the stock package.
    const starts = result.events.map((e) => e.startSeconds);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });

  itData('GIVEN the clip as bytes WHEN transcribed to a .mid THEN the file re-reads with the same notes on the 120 qpm grid', async () => {
    const out = join(dir, 'mid');
    const result = await transcribeToMidiFile(CLIP, out);
    expect(result.midiPath).toBe(join(out, 'salamander-dim7-arpeggio-chord.mid'));
    const reread = await readMidiFile(result.midiPath);
    expect(reread.notes.map((n) => [n.pitch, n.startStep])).toEqual(result.sequence.notes.map((n) => [n.pitch, n.startStep]));
    // Arpeggio onsets at 0.5 s steps = every 4 sixteenths at 120 qpm.
    const arpeggio = result.sequence.notes.filter((n) => n.startStep < 20 && n.velocity > 64);
    expect(arpeggio.map((n) => [n.pitch, n.startStep])).toEqual([[60, 0], [63, 4], [66, 8], [69, 12], [72, 16]]);
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const fromBytes = await transcribeAudio(await readFile(CLIP));
    expect(fromBytes.sequence.notes).toEqual(result.sequence.notes);
  });

  it('GIVEN bytes that are not audio WHEN transcribed to a .mid THEN AUDIO_INVALID and nothing is written', async () => {
    const bad = join(dir, 'not-audio.mp3');
    await writeFile(bad, Buffer.from('this is a text file pretending to be an mp3\n'.repeat(50)));
    const out = join(dir, 'bad-out');
    await expect(transcribeToMidiFile(bad, out)).rejects.toMatchObject({
      code: 'AUDIO_INVALID',
      userMessage: 'ffmpeg could not decode this file as audio.',
    });
    await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('GIVEN 3 s of digital silence WHEN transcribed THEN AUDIO_SILENT', async () => {
    const silent = join(dir, 'silence.wav');
    await writeFile(silent, wavBytes(new Float32Array(3 * 22_050), 22_050));
    await expect(transcribeAudio(silent)).rejects.toMatchObject({
      code: 'AUDIO_SILENT',
      userMessage: 'No notes were found — the audio is silent.',
    });
  });

  itData('GIVEN a 4.5 s clip and a 2 s limit WHEN transcribed THEN AUDIO_TOO_LONG', async () => {
    await expect(transcribeAudio(CLIP, { maxDurationSeconds: 2 })).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG' });
  });

  itData('GIVEN a file over the byte limit WHEN transcribed THEN AUDIO_TOO_LARGE before decoding', async () => {
    await expect(transcribeAudio(CLIP, { maxBytes: 10_000 })).rejects.toMatchObject({ code: 'AUDIO_TOO_LARGE' });
  });

  it('GIVEN an empty file WHEN transcribed THEN AUDIO_INVALID', async () => {
    const empty = join(dir, 'empty.ogg');
    await writeFile(empty, new Uint8Array(0));
    await expect(transcribeAudio(empty)).rejects.toMatchObject({ code: 'AUDIO_INVALID' });
  });
});
