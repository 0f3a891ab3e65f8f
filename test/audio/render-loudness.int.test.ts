import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictedAudioBytes } from '../../src/audio/encode.js';
import { renderPiece } from '../../src/audio/render-piece.js';
import { preloadSoundfonts } from '../../src/audio/soundfonts.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import { decodeStereo, peakOf, rmsOf } from './render-helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'motif-loudness-'));
  preloadSoundfonts();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `bars` bars of the same chord struck on every beat, at one velocity. */
function chords(pitches: number[], velocity: number, bars: number, program = 0): NoteSequence {
  const seq = emptySequence();
  seq.notes = [];
  for (let beat = 0; beat < bars * 4; beat++) {
    for (const pitch of pitches) seq.notes.push({ pitch, velocity, startStep: beat * 4, endStep: beat * 4 + 4, program, isDrum: false, track: 0 });
  }
  seq.totalSteps = bars * 16;
  return seq;
}

describe('one-pass loudness (gain from the notes + limiter)', () => {
  it('GIVEN a dense fortissimo cluster WHEN rendered to MP3 THEN the decoded audio never exceeds full scale and the limiter did the catching', async () => {
    // Ten notes at velocity 127, the loudest the model could write: well above what the notes predict.
    const seq = chords([24, 36, 40, 43, 48, 52, 55, 60, 64, 67, 72, 76], 127, 3);
    const result = await renderPiece(seq, { outDir: join(dir, 'ff'), baseName: 'ff', pianoRoll: false });
    const audio = await decodeStereo(result.audioPath!);
    const peak = peakOf(audio.left, audio.right);
    expect(peak).toBeLessThan(1); // never clips, even after MP3 decoding overshoot
    expect(peak).toBeGreaterThan(0.7); // and is not pushed down far below the −1 dBFS target
    expect(result.limiterMinGain).toBeLessThan(1);
  });

  it('GIVEN a single pianissimo line WHEN rendered THEN it is brought up to a normal level, not left quiet', async () => {
    const seq = emptySequence();
    seq.notes = [60, 62, 64, 65, 67, 65, 64, 62].map((pitch, i) => ({ pitch, velocity: 25, startStep: i * 4, endStep: i * 4 + 4, program: 0, isDrum: false, track: 0 }));
    seq.totalSteps = 32;
    const result = await renderPiece(seq, { outDir: join(dir, 'pp'), baseName: 'pp', pianoRoll: false });
    const audio = await decodeStereo(result.audioPath!);
    expect(result.gain).toBeGreaterThan(20); // raw output of velocity-25 notes sits near −45 dBFS
    expect(peakOf(audio.left, audio.right)).toBeGreaterThan(dbfsToLinearApprox(-6));
    expect(20 * Math.log10(rmsOf(audio.left, audio.right))).toBeGreaterThan(-30);
  });

  it('GIVEN an Opus attachment encoding WHEN rendered THEN the .ogg is constant-bitrate Opus within the predicted size', async () => {
    const seq = chords([60, 64, 67], 90, 8); // 16 s
    const encoding = { format: 'ogg-opus' as const, bitrateKbps: 32 };
    const result = await renderPiece(seq, { outDir: join(dir, 'opus'), baseName: 'small', pianoRoll: false, audio: encoding });
    expect(result.audioPath).toBe(join(dir, 'opus', 'small.ogg'));
    const bytes = (await stat(result.audioPath!)).size;
    expect(result.audioBytes).toBe(bytes);
    expect(bytes).toBeLessThanOrEqual(predictedAudioBytes(encoding, result.durationSeconds));
    expect(bytes).toBeGreaterThan(predictedAudioBytes(encoding, result.durationSeconds) * 0.6);
    const audio = await decodeStereo(result.audioPath!);
    expect(audio.streamInfo).toMatch(/opus, 48000 Hz, stereo/);
  });
});

function dbfsToLinearApprox(dbfs: number): number {
  return 10 ** (dbfs / 20);
}
