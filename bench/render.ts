/**
 * Rendering benchmark.
 *
 *   render_x_realtime            audio seconds per wall second, synthesis + MP3 encode in one pass
 *                                (gain from the notes, limiter), warm (second run, bank parsed), on a
 *                                real 97 s piano piece
 *   render_synth_x_realtime      the one pass: synthesis while ffmpeg encodes alongside (it waits for
 *                                ffmpeg when ffmpeg falls behind), same run
 *   render_encode_x_realtime     audio seconds per second spent waiting for ffmpeg to finish after the
 *                                last sample (the part of encoding that synthesis did not hide)
 *   render_with_ogg_x_realtime   same piece, MP3 + Ogg/Opus (what a result with voice audio costs)
 *   render_10min_peak_rss_mb     peak RSS of a fresh process rendering a 10-minute, 4-instrument
 *                                piece to MP3 + Ogg/Opus + PNG (limit: 600 MB)
 *   render_10min_wall_s          wall time of that render
 *
 * Run alone: `npx tsx bench/render.ts` (prints one JSON line).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPiece } from '../src/audio/render-piece.js';
import { preloadSoundfonts } from '../src/audio/soundfonts.js';
import { readMidiFile } from '../src/music/midi-io.js';
import { emptySequence, normalizeSequence, type Note, type NoteSequence } from '../src/music/note-sequence.js';
import { runInChild } from './child-process.js';

/** A real 97 s two-hand piano piece (public domain, from the shared datasets). */
const PIECE = fileURLToPath(new URL('../../shared/datasets/mutopia-piano-pd/midi/AndreJ__andre-sonatine.mid', import.meta.url));
const RSS_CHILD_FLAG = '--render-rss-child';

export async function benchRender(): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'motif-bench-render-'));
  try {
    preloadSoundfonts();
    const seq = await readMidiFile(PIECE);
    const run = (ogg: boolean) => renderPiece(seq, { outDir: dir, baseName: ogg ? 'with-ogg' : 'mp3', pianoRoll: false, ogg });
    await run(false); // cold: first use decodes the bank's samples
    const warm = await run(false);
    const withOgg = await run(true);
    const rss = await tenMinuteRssChild();
    const round = (x: number): number => Math.round(x * 10) / 10;
    return {
      render_x_realtime: round(warm.durationSeconds / (warm.timingsMs.total / 1000)),
      render_synth_x_realtime: round(warm.durationSeconds / (warm.timingsMs.synthesize / 1000)),
      render_encode_x_realtime: round(warm.durationSeconds / (warm.timingsMs.encode / 1000)),
      render_with_ogg_x_realtime: round(withOgg.durationSeconds / (withOgg.timingsMs.total / 1000)),
      render_10min_peak_rss_mb: Math.round(rss.peakRssMb),
      render_10min_wall_s: round(rss.wallSeconds),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A fresh Node process, so the figure is the render's own peak and not this process's history. */
function tenMinuteRssChild(): Promise<{ peakRssMb: number; wallSeconds: number }> {
  return runInChild('10-minute render', import.meta.url, [RSS_CHILD_FLAG]);
}

/** 10 minutes at 120 qpm: piano melody + chords, fingered bass, string pad, drums. */
export function tenMinutePiece(minutes = 10): NoteSequence {
  const seq = emptySequence({ qpm: 120 });
  seq.tracks = [
    { name: 'piano', program: 0, isDrum: false },
    { name: 'bass', program: 33, isDrum: false },
    { name: 'strings', program: 48, isDrum: false },
    { name: 'drums', program: 0, isDrum: true },
  ];
  const steps = minutes * 60 * 8; // 4 steps per quarter at 120 qpm = 8 steps/s
  const scale = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2];
  const roots = [48, 53, 55, 45];
  const notes: Note[] = [];
  for (let s = 0; s < steps; s += 2) {
    const bar = Math.floor(s / 16);
    const root = roots[bar % roots.length]!;
    notes.push({ pitch: 60 + scale[(s / 2) % scale.length]!, velocity: 70 + ((s * 7) % 40), startStep: s, endStep: s + 2, program: 0, isDrum: false, track: 0 });
    if (s % 16 === 0) {
      for (const p of [root, root + 4, root + 7]) notes.push({ pitch: p, velocity: 60, startStep: s, endStep: s + 16, program: 0, isDrum: false, track: 0 });
      for (const p of [root + 12, root + 19]) notes.push({ pitch: p, velocity: 50, startStep: s, endStep: s + 16, program: 48, isDrum: false, track: 2 });
    }
    if (s % 4 === 0) notes.push({ pitch: root - 12, velocity: 90, startStep: s, endStep: s + 4, program: 33, isDrum: false, track: 1 });
    if (s % 4 === 0) notes.push({ pitch: s % 8 === 0 ? 36 : 38, velocity: 100, startStep: s, endStep: s + 1, program: 0, isDrum: true, track: 3 });
    notes.push({ pitch: 42, velocity: 60, startStep: s, endStep: s + 1, program: 0, isDrum: true, track: 3 });
  }
  seq.notes = notes;
  seq.totalSteps = steps;
  return normalizeSequence(seq);
}

async function rssChild(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'motif-bench-10min-'));
  try {
    const started = performance.now();
    await renderPiece(tenMinutePiece(), { outDir: dir, baseName: 'ten-minutes', ogg: true });
    const wallSeconds = (performance.now() - started) / 1000;
    // resourceUsage().maxRSS is in kilobytes and covers the whole process lifetime.
    process.stdout.write(`${JSON.stringify({ peakRssMb: process.resourceUsage().maxRSS / 1024, wallSeconds })}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (process.argv.includes(RSS_CHILD_FLAG)) {
  await rssChild();
} else if (invokedDirectly) {
  process.stdout.write(`${JSON.stringify(await benchRender())}\n`);
}
