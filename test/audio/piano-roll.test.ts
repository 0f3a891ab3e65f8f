import { createCanvas, loadImage } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import { PIANO_ROLL_BACKGROUND, pitchRange, renderPianoRoll } from '../../src/audio/piano-roll.js';
import { emptySequence, normalizeSequence, type Note, type NoteSequence } from '../../src/music/note-sequence.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function pixels(png: Buffer): Promise<{ at: (x: number, y: number) => [number, number, number]; width: number }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  const data = ctx.getImageData(0, 0, image.width, image.height).data;
  return {
    width: image.width,
    at: (x, y) => {
      const i = (Math.round(y) * image.width + Math.round(x)) * 4;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    },
  };
}

function note(pitch: number, startStep: number, endStep: number, extra: Partial<Note> = {}): Note {
  return { pitch, velocity: 100, startStep, endStep, program: 0, isDrum: false, track: 0, ...extra };
}

function piece(notes: Note[], totalSteps: number, tracks = 1): NoteSequence {
  const seq = emptySequence();
  seq.tracks = Array.from({ length: tracks }, (_, i) => ({ name: `t${i}`, program: 0, isDrum: false }));
  return normalizeSequence({ ...seq, notes, totalSteps });
}

const bg = [0x1e, 0x1f, 0x24];
const brightness = ([r, g, b]: [number, number, number]): number => r + g + b;

describe('renderPianoRoll', () => {
  it('GIVEN the default options WHEN drawn THEN the PNG is 1200×480 (readable at Discord preview size)', () => {
    expect(PIANO_ROLL_BACKGROUND).toBe('#1e1f24');
    expect(pngSize(renderPianoRoll(piece([note(60, 0, 4)], 16)))).toEqual({ width: 1200, height: 480 });
    expect(pngSize(renderPianoRoll(piece([note(60, 0, 4)], 16), { widthPx: 640, heightPx: 240 }))).toEqual({ width: 640, height: 240 });
  });

  it('GIVEN one long note WHEN drawn THEN the pixels inside its rectangle differ from the background and those beside it do not', async () => {
    // Pitch range 48–72 (two octaves around 60 after padding to the minimum span).
    const seq = piece([note(60, 4, 12), note(48, 0, 1), note(72, 0, 1)], 16);
    const [low, high] = pitchRange(seq);
    expect([low, high]).toEqual([46, 74]);
    const img = await pixels(renderPianoRoll(seq));
    const plotX = 34;
    const plotW = 1200 - 34 - 6;
    const rowH = (480 - 12) / (high - low + 1);
    const yMid = 6 + (high - 60) * rowH + rowH / 2;
    const xMid = plotX + (8 / 16) * plotW; // middle of steps 4–12
    expect(img.at(xMid, yMid)).not.toEqual(bg);
    expect(brightness(img.at(xMid, yMid))).toBeGreaterThan(brightness(bg as [number, number, number]) + 100);
    // Three semitones higher at the same time: a white-key row with no note (only faint grid at most).
    const above = img.at(xMid + 3, yMid - 3 * rowH);
    expect(brightness(above)).toBeLessThan(brightness(bg as [number, number, number]) + 60);
  });

  it('GIVEN one track WHEN drawn THEN a loud note is brighter than a soft one', async () => {
    const seq = piece([note(60, 0, 8, { velocity: 20 }), note(60, 8, 16, { velocity: 127 })], 16);
    const [, high] = pitchRange(seq);
    const img = await pixels(renderPianoRoll(seq));
    const rowH = (480 - 12) / (pitchRange(seq)[1] - pitchRange(seq)[0] + 1);
    const y = 6 + (high - 60) * rowH + rowH / 2;
    const plotW = 1200 - 40;
    expect(brightness(img.at(34 + 0.25 * plotW, y))).toBeLessThan(brightness(img.at(34 + 0.75 * plotW, y)));
  });

  it('GIVEN two tracks WHEN drawn THEN their notes get different colours', async () => {
    const seq = piece([note(60, 0, 8, { track: 0 }), note(60, 8, 16, { track: 1 })], 16, 2);
    const [low, high] = pitchRange(seq);
    const img = await pixels(renderPianoRoll(seq));
    const rowH = (480 - 12) / (high - low + 1);
    const y = 6 + (high - 60) * rowH + rowH / 2;
    const plotW = 1200 - 40;
    expect(img.at(34 + 0.25 * plotW, y)).not.toEqual(img.at(34 + 0.75 * plotW, y));
  });

  it('GIVEN notes at the extremes WHEN the range is chosen THEN it stays within 0–127 and keeps the margin', () => {
    expect(pitchRange(piece([note(0, 0, 1), note(127, 0, 1)], 4))).toEqual([0, 127]);
    expect(pitchRange(piece([note(1, 0, 1)], 4))).toEqual([0, 24]);
    expect(pitchRange(piece([note(30, 0, 1), note(90, 0, 1)], 4), 3)).toEqual([27, 93]);
  });

  it('GIVEN an empty sequence WHEN drawn THEN it still produces a valid image', () => {
    expect(pngSize(renderPianoRoll(emptySequence()))).toEqual({ width: 1200, height: 480 });
  });

  it('GIVEN a bad size WHEN drawn THEN OPTION_OUT_OF_RANGE', () => {
    expect(() => renderPianoRoll(emptySequence(), { widthPx: 10 })).toThrowError(expect.objectContaining({ code: 'OPTION_OUT_OF_RANGE' }) as Error);
  });
});
