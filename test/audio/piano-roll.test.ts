import { createCanvas, loadImage } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import { PIANO_ROLL_BACKGROUND, captionText, pianoRollPlot, pitchRange, renderPianoRoll } from '../../src/audio/piano-roll.js';
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
    const plot = pianoRollPlot(1200, 480);
    const plotX = plot.x;
    const plotW = plot.w;
    const rowH = plot.h / (high - low + 1);
    const yMid = plot.y + (high - 60) * rowH + rowH / 2;
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
    const plot = pianoRollPlot(1200, 480);
    const rowH = plot.h / (pitchRange(seq)[1] - pitchRange(seq)[0] + 1);
    const y = plot.y + (high - 60) * rowH + rowH / 2;
    expect(brightness(img.at(plot.x + 0.25 * plot.w, y))).toBeLessThan(brightness(img.at(plot.x + 0.75 * plot.w, y)));
  });

  it('GIVEN two tracks WHEN drawn THEN their notes get different colours', async () => {
    const seq = piece([note(60, 0, 8, { track: 0 }), note(60, 8, 16, { track: 1 })], 16, 2);
    const [low, high] = pitchRange(seq);
    const img = await pixels(renderPianoRoll(seq));
    const plot = pianoRollPlot(1200, 480);
    const rowH = plot.h / (high - low + 1);
    const y = plot.y + (high - 60) * rowH + rowH / 2;
    expect(img.at(plot.x + 0.25 * plot.w, y)).not.toEqual(img.at(plot.x + 0.75 * plot.w, y));
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

  it('GIVEN a caption WHEN drawn THEN key, tempo and style are written above the plot, and bar numbers sit under it', async () => {
    expect(captionText({ keyName: 'A minor', qpm: 96.4, style: 'chorale' })).toBe('A minor · 96 BPM · style: chorale');
    expect(captionText({ keyName: 'C major', qpm: 120 })).toBe('C major · 120 BPM');
    const seq = piece([note(60, 0, 64)], 64); // 4 bars of 4/4
    const withCaption = await pixels(renderPianoRoll(seq, { caption: { keyName: 'C major', qpm: 120 } }));
    const without = await pixels(renderPianoRoll(seq));
    const inked = (img: Awaited<ReturnType<typeof pixels>>, x0: number, x1: number, y0: number, y1: number): number => {
      let count = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (brightness(img.at(x, y)) > brightness([0x1e, 0x1f, 0x24]) + 150) count++;
      return count;
    };
    const capPlot = pianoRollPlot(1200, 480, { caption: true });
    // Caption text above the plot only when asked for.
    expect(inked(withCaption, capPlot.x + 3, capPlot.x + 200, 2, capPlot.y - 2)).toBeGreaterThan(20);
    expect(inked(without, capPlot.x + 3, capPlot.x + 200, 2, capPlot.y - 2)).toBe(0);
    // Bar numbers "1".."4" under the plot, at each bar line.
    const plot = pianoRollPlot(1200, 480);
    for (let bar = 0; bar < 4; bar++) {
      const x = plot.x + (bar / 4) * plot.w;
      expect(inked(without, x + 1, x + 12, plot.y + plot.h + 2, 480)).toBeGreaterThan(3);
    }
  });
});
