/** Shared by the render/encode tests: real ffmpeg decoding back to stereo PCM, and small pieces. */
import { spawn } from 'node:child_process';
import { emptySequence, normalizeSequence, type Note, type NoteSequence } from '../../src/music/note-sequence.js';
import { defaultFfmpegPath } from '../../src/audio/ffmpeg.js';

export interface DecodedStereo {
  left: Float32Array;
  right: Float32Array;
  sampleRateHz: number;
  durationSeconds: number;
  /** ffmpeg's description of the input stream, e.g. "Audio: opus, 48000 Hz, stereo, fltp". */
  streamInfo: string;
}

/** Decodes any audio file with the bundled ffmpeg to stereo float PCM at its native rate (or `sampleRateHz`). */
export function decodeStereo(path: string, sampleRateHz?: number): Promise<DecodedStereo> {
  return new Promise((resolve, reject) => {
    const args = ['-hide_banner', '-nostdin', '-i', path, '-ac', '2', ...(sampleRateHz ? ['-ar', String(sampleRateHz)] : []), '-f', 'f32le', 'pipe:1'];
    const child = spawn(defaultFfmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg exit ${String(code)}: ${stderr.slice(-500)}`));
      const bytes = Buffer.concat(chunks);
      const floats = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(floats.buffer).set(bytes.subarray(0, floats.length * 4));
      const frames = floats.length / 2;
      const left = new Float32Array(frames);
      const right = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        left[i] = floats[2 * i]!;
        right[i] = floats[2 * i + 1]!;
      }
      const streamInfo = /Stream #0:0[^:]*: (Audio: [^\n]*)/.exec(stderr)?.[1] ?? '';
      const rate = sampleRateHz ?? Number(/(\d+) Hz/.exec(streamInfo)?.[1] ?? 0);
      resolve({ left, right, sampleRateHz: rate, durationSeconds: frames / rate, streamInfo });
    });
  });
}

export function peakOf(...channels: Float32Array[]): number {
  let peak = 0;
  for (const ch of channels) for (const s of ch) peak = Math.max(peak, Math.abs(s));
  return peak;
}

export function rmsOf(...channels: Float32Array[]): number {
  let sum = 0;
  let n = 0;
  for (const ch of channels) {
    for (const s of ch) sum += s * s;
    n += ch.length;
  }
  return n === 0 ? 0 : Math.sqrt(sum / n);
}

/** RMS of the samples between two times (seconds), both channels. */
export function rmsBetween(audio: DecodedStereo, fromSeconds: number, toSeconds: number): number {
  const a = Math.floor(fromSeconds * audio.sampleRateHz);
  const b = Math.floor(toSeconds * audio.sampleRateHz);
  return rmsOf(audio.left.subarray(a, b), audio.right.subarray(a, b));
}

/**
 * A small two-track piece at 120 qpm (8 steps per second): a piano melody of quarter notes and a
 * bass note per bar, `bars` bars of 4/4 (2 s each).
 */
export function smallPiece(bars = 2, opts: { melodyProgram?: number } = {}): NoteSequence {
  const seq = emptySequence({ qpm: 120 });
  const program = opts.melodyProgram ?? 0;
  seq.tracks = [
    { name: 'melody', program, isDrum: false },
    { name: 'bass', program: 32, isDrum: false },
  ];
  const melody = [60, 64, 67, 72, 71, 67, 64, 62];
  const notes: Note[] = [];
  for (let bar = 0; bar < bars; bar++) {
    for (let beat = 0; beat < 4; beat++) {
      const start = bar * 16 + beat * 4;
      notes.push({ pitch: melody[(bar * 4 + beat) % melody.length]!, velocity: 80 + beat * 10, startStep: start, endStep: start + 4, program, isDrum: false, track: 0 });
    }
    notes.push({ pitch: 36 + (bar % 2) * 7, velocity: 90, startStep: bar * 16, endStep: bar * 16 + 16, program: 32, isDrum: false, track: 1 });
  }
  seq.notes = notes;
  seq.totalSteps = bars * 16;
  return normalizeSequence(seq);
}
