import { describe, expect, it } from 'vitest';
import { loadSoundfont } from '../../src/audio/soundfonts.js';
import { renderedFrameCount, synthesizeChunks, type PcmChunk } from '../../src/audio/synth.js';
import { emptySequence, normalizeSequence, type Note, type NoteSequence } from '../../src/music/note-sequence.js';
import { peakOf, smallPiece } from './render-helpers.js';

function collect(chunks: Iterable<PcmChunk>): { left: Float32Array; right: Float32Array } {
  const all = [...chunks];
  const frames = all.reduce((n, c) => n + c.left.length, 0);
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  let offset = 0;
  for (const c of all) {
    left.set(c.left, offset);
    right.set(c.right, offset);
    offset += c.left.length;
  }
  return { left, right };
}

function rmsWindow(x: Float32Array, fromSeconds: number, toSeconds: number): number {
  let sum = 0;
  const a = Math.floor(fromSeconds * 44_100);
  const b = Math.floor(toSeconds * 44_100);
  for (let i = a; i < b; i++) sum += x[i]! * x[i]!;
  return Math.sqrt(sum / (b - a));
}

describe('synthesizeChunks', () => {
  // Runs first in a fresh process on purpose: an SF3 sample played before the Vorbis decoder is
  // ready decodes to silence (and would stay silent in the cached bank).
  it('GIVEN a bank just loaded WHEN synthesizing synchronously straight away THEN the notes are audible', () => {
    const soundfont = loadSoundfont('TimGM6mb');
    const audio = collect(synthesizeChunks(smallPiece(1), { soundfont }));
    expect(peakOf(audio.left, audio.right)).toBeGreaterThan(0.01);
  });

  it('GIVEN a piece WHEN synthesized twice with different chunk sizes THEN the audio is bit-identical and exactly piece + tail long', () => {
    const soundfont = loadSoundfont();
    const seq = smallPiece(1);
    const a = collect(synthesizeChunks(seq, { soundfont, chunkFrames: 4096 }));
    const b = collect(synthesizeChunks(seq, { soundfont, chunkFrames: 1024 }));
    expect(a.left.length).toBe(renderedFrameCount(seq));
    expect(a.left.length).toBe(Math.round((2 + 1.5) * 44_100));
    expect(Buffer.compare(Buffer.from(a.left.buffer), Buffer.from(b.left.buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(a.right.buffer), Buffer.from(b.right.buffer))).toBe(0);
  });

  it('GIVEN a note starting at 1 s WHEN synthesized THEN the first second is silent and the note starts on time', () => {
    const soundfont = loadSoundfont();
    const seq = normalizeSequence({
      ...emptySequence({ qpm: 120 }),
      notes: [{ pitch: 69, velocity: 100, startStep: 8, endStep: 16, program: 0, isDrum: false, track: 0 }],
      totalSteps: 16,
    });
    const { left } = collect(synthesizeChunks(seq, { soundfont, reverb: false }));
    expect(peakOf(left.subarray(0, 44_100 - 64))).toBe(0);
    expect(peakOf(left.subarray(44_100, 44_100 + 2205))).toBeGreaterThan(0.01); // within 50 ms
  });

  it('GIVEN a repeated pitch that overlaps itself WHEN synthesized THEN the later note is not cut short by the earlier end', () => {
    const soundfont = loadSoundfont();
    // Organ (sustains at full level while held): note A 0–1.5 s, note B (same pitch) 0.5–3 s.
    const notes: Note[] = [
      { pitch: 60, velocity: 100, startStep: 0, endStep: 12, program: 19, isDrum: false, track: 0 },
      { pitch: 60, velocity: 100, startStep: 4, endStep: 24, program: 19, isDrum: false, track: 0 },
    ];
    const seq: NoteSequence = normalizeSequence({ ...emptySequence({ qpm: 120 }), notes, totalSteps: 24 });
    const { left } = collect(synthesizeChunks(seq, { soundfont, reverb: false }));
    // Between A's end (1.5 s) and B's end (3 s) the pitch still sounds at a similar level.
    expect(rmsWindow(left, 2.2, 2.8)).toBeGreaterThan(rmsWindow(left, 0.7, 1.3) * 0.5);
    expect(rmsWindow(left, 3.6, 4.4)).toBeLessThan(rmsWindow(left, 2.2, 2.8) * 0.1);
  });

  it('GIVEN a bad tail WHEN synthesizing THEN OPTION_OUT_OF_RANGE', () => {
    const soundfont = loadSoundfont();
    expect(() => [...synthesizeChunks(smallPiece(1), { soundfont, tailSeconds: 60 })]).toThrowError(
      expect.objectContaining({ code: 'OPTION_OUT_OF_RANGE' }) as Error,
    );
  });
});
