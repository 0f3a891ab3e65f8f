import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ATTACHMENT_LADDER, chooseAttachmentEncoding, predictedAudioBytes } from '../../src/audio/encode.js';
import { DEFAULT_MAX_RENDER_SECONDS } from '../../src/audio/render-piece.js';
import { composePiece } from '../../src/jobs/compose.js';
import { checkComposeRequest, estimateCompose, planAttachmentAudio } from '../../src/jobs/compose-limits.js';
import { readMidi, writeMidi } from '../../src/music/midi-io.js';
import { DEFAULT_MIDI_LIMITS, MAX_PIECE_SECONDS, MAX_SEED_NOTES } from '../../src/music/midi-limits.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import { MotifError } from '../../src/errors.js';

const MIB = 1024 * 1024;

/** A seed of `notes` quarter notes at 120 qpm, spread over `seconds` (one note per slot). */
function seedOf(opts: { notes: number; seconds: number }): NoteSequence {
  const seq = emptySequence();
  const totalSteps = Math.round(opts.seconds * 8); // 4 steps per quarter at 120 qpm = 8 steps/s
  const stride = totalSteps / opts.notes;
  seq.notes = Array.from({ length: opts.notes }, (_, i) => {
    const startStep = Math.floor(i * stride);
    return { pitch: 48 + (i % 24), velocity: 80, startStep, endStep: startStep + 1, program: 0, isDrum: false, track: 0 };
  });
  seq.totalSteps = totalSteps;
  return seq;
}

function motifError(fn: () => unknown): MotifError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MotifError) return error;
    throw error;
  }
  throw new Error('expected a MotifError');
}

describe('one set of limits', () => {
  it('GIVEN the MIDI reader and the renderer THEN they share the piece limit', () => {
    expect(DEFAULT_MIDI_LIMITS.maxDurationSeconds).toBe(MAX_PIECE_SECONDS);
    expect(DEFAULT_MAX_RENDER_SECONDS).toBe(MAX_PIECE_SECONDS);
  });

  it('GIVEN a 1 h 59 min MIDI file WHEN read THEN it is refused at the door, saying how long it is and what the limit is', () => {
    const bytes = writeMidi(seedOf({ notes: 200, seconds: 119 * 60 }));
    const error = motifError(() => readMidi(bytes));
    expect(error.code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(error.userMessage).toBe('This MIDI file lasts 1 hour 59 minutes; the limit is 30 minutes.');
  });

  it('GIVEN a seed longer than a piece may be WHEN checked THEN MIDI_LIMIT_EXCEEDED names its length and the limit', () => {
    const error = motifError(() => checkComposeRequest({ seed: seedOf({ notes: 500, seconds: 119 * 60 }), length: 100 }));
    expect(error.code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(error.userMessage).toMatch(/^This seed lasts 1 hour 59 minutes; a piece \(seed and continuation\) can last at most 30 minutes\./);
  });

  it('GIVEN a seed with 136,815 notes WHEN checked THEN it is refused by note count before any sampling', () => {
    const error = motifError(() => checkComposeRequest({ seed: seedOf({ notes: 136_815, seconds: 25 * 60 }), length: 100 }));
    expect(error.code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(error.userMessage).toMatch(/^This seed has 136,815 notes; \/compose continues seeds of up to 20,000 notes\./);
    expect(() => checkComposeRequest({ seed: seedOf({ notes: MAX_SEED_NOTES, seconds: 600 }), length: 100 })).not.toThrow();
  });

  it('GIVEN a 29-minute seed and 2000 more events WHEN checked THEN the expected total is over the limit and the message says to shorten', () => {
    const error = motifError(() => checkComposeRequest({ seed: seedOf({ notes: 3000, seconds: 29 * 60 }), length: 2000 }));
    expect(error.userMessage).toMatch(/would last about .*; the limit is 30 minutes\. Ask for a shorter length or send a shorter seed\.$/);
    expect(checkComposeRequest({ seed: seedOf({ notes: 3000, seconds: 25 * 60 }), length: 100 }).pieceSeconds).toBeLessThan(MAX_PIECE_SECONDS);
  });

  it('GIVEN a 1 h 59 min seed WHEN composePiece runs THEN it is refused before the model is even loaded, and nothing is written', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'motif-refuse-'));
    const stages: string[] = [];
    const error = await composePiece(
      // The model folder does not exist: reaching the model (let alone sampling) would say MODEL_NOT_FOUND.
      { length: 100, seed: seedOf({ notes: 500, seconds: 119 * 60 }), modelDir: join(outDir, 'no-model'), outDir },
      { reportProgress: (p) => stages.push(p.stage) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotifError);
    expect((error as MotifError).code).toBe('MIDI_LIMIT_EXCEEDED');
    expect(stages).toEqual([]);
    expect(await readdir(outDir)).toEqual([]);
  });
});

describe('audio sized to the attachment limit', () => {
  it('GIVEN Discord\'s 10 MiB limit THEN a 36 s piece gets MP3 192, a 12-minute one MP3 96, a 25-minute one Opus, and 45 minutes none', () => {
    expect(chooseAttachmentEncoding(36, 10 * MIB)).toEqual({ format: 'mp3', bitrateKbps: 192 });
    expect(chooseAttachmentEncoding(12 * 60, 10 * MIB)).toEqual({ format: 'mp3', bitrateKbps: 96 });
    expect(chooseAttachmentEncoding(25 * 60, 10 * MIB)?.format).toBe('ogg-opus');
    expect(chooseAttachmentEncoding(45 * 60, 10 * MIB)).toBeUndefined();
    for (const seconds of [36, 300, 12 * 60, 25 * 60, 30 * 60]) {
      const chosen = chooseAttachmentEncoding(seconds, 10 * MIB);
      if (chosen) expect(predictedAudioBytes(chosen, seconds)).toBeLessThanOrEqual(10 * MIB);
    }
    // Bigger limits (boosted servers) keep the best quality longer.
    expect(chooseAttachmentEncoding(25 * 60, 100 * MIB)).toEqual(ATTACHMENT_LADDER[0]);
  });

  it('GIVEN a piece too long for the limit THEN the plan has no audio and says why, with the numbers', () => {
    const plan = planAttachmentAudio(45 * 60, 10 * MIB);
    expect(plan.encoding).toBeUndefined();
    if (plan.encoding) return;
    expect(plan.reason).toMatch(/^No audio: at 45 minutes 2 seconds it would not fit this server's 10 MB upload limit even compressed \(up to about 4\d minutes .*fits\)\. Here are the MIDI and the piano roll\.$/);
  });

  it('GIVEN a heavier request THEN its estimated worker time is larger (what the queue weighs)', () => {
    const light = estimateCompose({ length: 100 });
    const longer = estimateCompose({ length: 2000 });
    const seeded = estimateCompose({ length: 100, seed: seedOf({ notes: 15_000, seconds: 25 * 60 }) });
    expect(light.workSeconds).toBeLessThan(longer.workSeconds);
    expect(longer.workSeconds).toBeLessThan(seeded.workSeconds);
  });

  it('GIVEN an uploaded seed not read yet WHEN weighed THEN its size bounds its notes: 8 MB weighs as the 20,000-note limit, a small file as little', () => {
    const heavy = estimateCompose({ length: 100, seedBytes: 8 * 1024 * 1024 });
    expect(heavy.seedNotes).toBe(20_000);
    expect(heavy.workSeconds).toBeGreaterThan(estimateCompose({ length: 2000 }).workSeconds);
    const small = estimateCompose({ length: 100, seedBytes: 600 });
    expect(small.seedNotes).toBe(100);
    // Once read, the real seed counts, not the bound.
    expect(estimateCompose({ length: 100, seedBytes: 8 * 1024 * 1024, seed: seedOf({ notes: 50, seconds: 20 }) }).seedNotes).toBe(50);
  });
});
