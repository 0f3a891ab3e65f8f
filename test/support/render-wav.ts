/**
 * Test audio made by our own code: samples written as 16-bit mono WAV, and a NoteSequence played
 * through the shipped SoundFont, so transcription tests know exactly which notes are in the file.
 */
import { loadSoundfont } from '../../src/audio/soundfonts.js';
import { synthesizeChunks } from '../../src/audio/synth.js';
import type { NoteSequence } from '../../src/music/note-sequence.js';

/** 16-bit mono PCM WAV of `samples` (clipped to −1…1). */
export function wavBytes(samples: Float32Array, sampleRateHz: number): Buffer {
  const wav = Buffer.alloc(44 + samples.length * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples.length * 2, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRateHz, 24);
  wav.writeUInt32LE(sampleRateHz * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples.length * 2, 40);
  samples.forEach((v, i) => wav.writeInt16LE(Math.round(Math.max(-1, Math.min(1, v)) * 32767), 44 + i * 2));
  return wav;
}

/** `seq` rendered (no reverb, 0.5 s tail), mixed to mono at `sampleRateHz` (default 22,050), peak 0.5, as WAV bytes. */
export function renderWav(seq: NoteSequence, sampleRateHz = 22_050): Buffer {
  const chunks = [...synthesizeChunks(seq, { soundfont: loadSoundfont(), sampleRateHz, reverb: false, tailSeconds: 0.5 })];
  const total = chunks.reduce((n, c) => n + c.left.length, 0);
  const mono = new Float32Array(total);
  let at = 0;
  for (const { left, right } of chunks) {
    for (let i = 0; i < left.length; i++) mono[at + i] = ((left[i] as number) + (right[i] as number)) / 2;
    at += left.length;
  }
  const peak = mono.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  return wavBytes(mono.map((v) => (v / peak) * 0.5), sampleRateHz);
}
