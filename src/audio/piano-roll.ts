/**
 * Piano-roll PNG of a NoteSequence (pitch × time) with @napi-rs/canvas (prebuilt Skia, no system libs).
 *
 * Sized for Discord's inline preview (default 1200×480, shown at roughly 550 px wide): the pitch
 * range is trimmed to the notes used, bar lines are strong and beat lines faint, and both thin out
 * when they would be closer than a few pixels. Colour is by track; with a single track it is by
 * velocity (brighter = louder). Below the plot a time axis numbers the bars; above it an optional
 * caption names the key, tempo and style.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { assertInRange } from '../errors.js';
import type { NoteSequence } from '../music/note-sequence.js';

export interface PianoRollOptions {
  /** Image width, 200–4000 px (default 1200). */
  widthPx?: number;
  /** Image height, 100–2000 px (default 480). */
  heightPx?: number;
  /** Empty semitones kept above and below the notes used (default 2). */
  pitchMarginSemitones?: number;
  /** One line above the plot: key, tempo and (when known) style. */
  caption?: PianoRollCaption;
}

export interface PianoRollCaption {
  /** e.g. "A minor". */
  keyName?: string;
  /** Quarter notes per minute. */
  qpm?: number;
  /** Style name; absent until styles exist. */
  style?: string;
}

export const PIANO_ROLL_BACKGROUND = '#1e1f24';
const BLACK_KEY_ROW = '#191a1e';
const BAR_LINE = 'rgba(255,255,255,0.30)';
const BEAT_LINE = 'rgba(255,255,255,0.09)';
const OCTAVE_LINE = 'rgba(255,255,255,0.12)';
const LABEL = '#b5bac1';
const AXIS_WIDTH_PX = 34;
const PAD_PX = 6;
/** Room under the plot for bar numbers. */
const TIME_AXIS_HEIGHT_PX = 16;
/** Room above the plot for the caption. */
const CAPTION_HEIGHT_PX = 22;
/** Bar numbers closer than this are thinned (every 2nd, 4th, 8th … bar). */
const MIN_BAR_LABEL_SPACING_PX = 36;
/** Fewer visible semitones than this look like blown-up blocks; widen around the notes instead. */
const MIN_PITCH_SPAN = 24;
/** Distinct, readable on dark grey; drums get their own neutral colour. */
const TRACK_HUES = [205, 30, 130, 280, 355, 55, 175, 320] as const;
const DRUM_COLOUR = '#c8c8c8';
const BLACK_KEYS = new Set([1, 3, 6, 8, 10]);

/**
 * Draws the piano roll and returns PNG bytes.
 * @throws MotifError OPTION_OUT_OF_RANGE for sizes out of range.
 */
export function renderPianoRoll(seq: NoteSequence, opts: PianoRollOptions = {}): Buffer {
  const width = opts.widthPx ?? 1200;
  const height = opts.heightPx ?? 480;
  const margin = opts.pitchMarginSemitones ?? 2;
  assertInRange('widthPx', width, 200, 4000, { integer: true });
  assertInRange('heightPx', height, 100, 2000, { integer: true });
  assertInRange('pitchMarginSemitones', margin, 0, 24, { integer: true });

  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = PIANO_ROLL_BACKGROUND;
  ctx.fillRect(0, 0, width, height);

  const [lowPitch, highPitch] = pitchRange(seq, margin);
  const rows = highPitch - lowPitch + 1;
  const plot = pianoRollPlot(width, height, { caption: opts.caption !== undefined });
  const rowH = plot.h / rows;
  const totalSteps = Math.max(1, seq.totalSteps, ...seq.notes.map((n) => n.endStep));
  const xOf = (step: number): number => plot.x + (step / totalSteps) * plot.w;
  const yOf = (pitch: number): number => plot.y + (highPitch - pitch) * rowH;

  drawKeyRows(ctx, plot, lowPitch, highPitch, rowH, yOf);
  const bars = drawTimeGrid(ctx, seq, totalSteps, plot, xOf);
  drawPitchAxis(ctx, lowPitch, highPitch, rowH, yOf);
  drawTimeAxis(ctx, bars, plot, xOf);
  if (opts.caption) drawCaption(ctx, captionText(opts.caption), width);

  const singleTrack = new Set(seq.notes.map((n) => n.track)).size <= 1;
  for (const note of seq.notes) {
    if (note.pitch < lowPitch || note.pitch > highPitch) continue;
    ctx.fillStyle = noteColour(note.track, note.velocity, note.isDrum, singleTrack);
    const x = xOf(note.startStep);
    const span = xOf(note.endStep) - x;
    // A 1 px gap keeps repeated notes of one pitch visibly separate.
    const w = Math.max(1.5, span > 4 ? span - 1 : span);
    const h = Math.max(1, rowH - (rowH > 3 ? 1 : 0));
    ctx.fillRect(x, yOf(note.pitch) + (rowH - h) / 2, w, h);
  }
  return canvas.toBuffer('image/png');
}

/** Where the notes are drawn (pitch axis left, caption above when given, bar numbers below). */
export function pianoRollPlot(widthPx: number, heightPx: number, opts: { caption?: boolean } = {}): Rect {
  const top = opts.caption ? CAPTION_HEIGHT_PX : PAD_PX;
  return { x: AXIS_WIDTH_PX, y: top, w: widthPx - AXIS_WIDTH_PX - PAD_PX, h: heightPx - top - TIME_AXIS_HEIGHT_PX };
}

/** "A minor · 120 BPM · style: chorale" (parts that are unknown are left out). */
export function captionText(caption: PianoRollCaption): string {
  const parts: string[] = [];
  if (caption.keyName) parts.push(caption.keyName);
  if (caption.qpm !== undefined && Number.isFinite(caption.qpm)) parts.push(`${Math.round(caption.qpm)} BPM`);
  if (caption.style) parts.push(`style: ${caption.style.slice(0, 40)}`);
  return parts.join(' · ');
}

/** [low, high] MIDI pitches shown: the notes used ± margin, at least two octaves, within 0–127. */
export function pitchRange(seq: NoteSequence, marginSemitones = 2): [number, number] {
  if (seq.notes.length === 0) return [48, 72];
  let low = 127;
  let high = 0;
  for (const n of seq.notes) {
    low = Math.min(low, n.pitch);
    high = Math.max(high, n.pitch);
  }
  low -= marginSemitones;
  high += marginSemitones;
  const missing = MIN_PITCH_SPAN - (high - low);
  if (missing > 0) {
    low -= Math.floor(missing / 2);
    high += Math.ceil(missing / 2);
  }
  if (low < 0) {
    high = Math.min(127, high - low);
    low = 0;
  }
  if (high > 127) {
    low = Math.max(0, low - (high - 127));
    high = 127;
  }
  return [low, high];
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

function drawKeyRows(ctx: SKRSContext2D, plot: Rect, low: number, high: number, rowH: number, yOf: (p: number) => number): void {
  if (rowH >= 3) {
    ctx.fillStyle = BLACK_KEY_ROW;
    for (let p = low; p <= high; p++) if (BLACK_KEYS.has(p % 12)) ctx.fillRect(plot.x, yOf(p), plot.w, rowH);
  }
  ctx.strokeStyle = OCTAVE_LINE;
  ctx.lineWidth = 1;
  for (let p = low; p <= high; p++) {
    if (p % 12 !== 0) continue;
    const y = Math.round(yOf(p) + rowH) + 0.5; // below C: the B/C boundary
    line(ctx, plot.x, y, plot.x + plot.w, y);
  }
}

/**
 * Bar and beat lines, following time-signature changes; thinned when closer than a few pixels.
 * @returns the start step of every bar (bar 1 first).
 */
function drawTimeGrid(ctx: SKRSContext2D, seq: NoteSequence, totalSteps: number, plot: Rect, xOf: (s: number) => number): number[] {
  const pxPerStep = plot.w / totalSteps;
  const signatures = seq.timeSignatures.length > 0 ? seq.timeSignatures : [{ step: 0, numerator: 4, denominator: 4 }];
  const bars: number[] = [];
  const beats: number[] = [];
  let minBeatSteps = Number.POSITIVE_INFINITY;
  for (let i = 0; i < signatures.length; i++) {
    const ts = signatures[i]!;
    const end = Math.min(totalSteps, signatures[i + 1]?.step ?? totalSteps);
    const beatSteps = (seq.stepsPerQuarter * 4) / Math.max(1, ts.denominator);
    const barSteps = beatSteps * Math.max(1, ts.numerator);
    if (!(beatSteps > 0) || end <= ts.step) continue;
    minBeatSteps = Math.min(minBeatSteps, beatSteps);
    for (let s = ts.step; s < end; s += barSteps) {
      bars.push(s);
      for (let b = s + beatSteps; b < Math.min(end, s + barSteps) - 1e-9; b += beatSteps) beats.push(b);
    }
  }
  ctx.lineWidth = 1;
  if (minBeatSteps * pxPerStep >= 6) {
    ctx.strokeStyle = BEAT_LINE;
    for (const b of beats) {
      const x = Math.round(xOf(b)) + 0.5;
      line(ctx, x, plot.y, x, plot.y + plot.h);
    }
  }
  const barPx = plot.w / Math.max(1, bars.length);
  const barEvery = barPx >= 4 ? 1 : Math.ceil(4 / barPx);
  ctx.strokeStyle = BAR_LINE;
  bars.forEach((s, i) => {
    if (i % barEvery !== 0) return;
    const x = Math.round(xOf(s)) + 0.5;
    line(ctx, x, plot.y, x, plot.y + plot.h);
  });
  return bars;
}

/** Bar numbers under the plot, every 1st, 2nd, 4th … bar so labels never crowd. */
function drawTimeAxis(ctx: SKRSContext2D, bars: number[], plot: Rect, xOf: (s: number) => number): void {
  if (bars.length === 0) return;
  const barPx = plot.w / bars.length;
  let every = 1;
  while (barPx * every < MIN_BAR_LABEL_SPACING_PX) every *= 2;
  ctx.fillStyle = LABEL;
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  const y = plot.y + plot.h + 3;
  ctx.fillText('bar', 4, y);
  bars.forEach((step, i) => {
    const number = i + 1;
    if ((number - 1) % every !== 0) return;
    const x = xOf(step);
    if (x > plot.x + plot.w - 12) return;
    ctx.fillText(String(number), x + 2, y);
  });
}

function drawCaption(ctx: SKRSContext2D, text: string, width: number): void {
  if (!text) return;
  ctx.fillStyle = LABEL;
  ctx.font = 'bold 13px sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, AXIS_WIDTH_PX, CAPTION_HEIGHT_PX / 2, width - AXIS_WIDTH_PX - PAD_PX);
}

/** "C4" = MIDI 60. Labels every C, or every other C when octaves are tightly packed. */
function drawPitchAxis(ctx: SKRSContext2D, low: number, high: number, rowH: number, yOf: (p: number) => number): void {
  const fontPx = Math.max(9, Math.min(12, Math.floor(rowH * 6)));
  const octaveStride = rowH * 12 >= fontPx + 2 ? 1 : 2;
  ctx.fillStyle = LABEL;
  ctx.font = `${fontPx}px sans-serif`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let p = low; p <= high; p++) {
    if (p % 12 !== 0 || (Math.floor(p / 12) - 1) % octaveStride !== 0) continue;
    const y = Math.min(Math.max(yOf(p) + rowH / 2, fontPx / 2), yOf(low) + rowH - fontPx / 2);
    ctx.fillText(`C${Math.floor(p / 12) - 1}`, AXIS_WIDTH_PX - 5, y);
  }
}

function noteColour(track: number, velocity: number, isDrum: boolean, singleTrack: boolean): string {
  const v = Math.min(127, Math.max(1, velocity)) / 127;
  if (isDrum && !singleTrack) return DRUM_COLOUR;
  if (singleTrack) return `hsl(${TRACK_HUES[0]}, 80%, ${Math.round(30 + 45 * v)}%)`;
  const hue = TRACK_HUES[Math.abs(track) % TRACK_HUES.length]!;
  return `hsl(${hue}, 75%, ${Math.round(50 + 12 * v)}%)`;
}

function line(ctx: SKRSContext2D, x1: number, y1: number, x2: number, y2: number): void {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}
