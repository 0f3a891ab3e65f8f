/**
 * Audio file → notes: ffmpeg decode (22,050 Hz mono) → Basic Pitch on our tfjs → note events →
 * NoteSequence on a fixed-tempo grid, and optionally → `.mid` written atomically.
 */
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { MotifError } from '../errors.js';
import { BasicPitchModel, BASIC_PITCH_SAMPLE_RATE_HZ } from '../ml/basic-pitch/model.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { writeMidi } from '../music/midi-io.js';
import type { NoteSequence } from '../music/note-sequence.js';
import { decodeAudio, type DecodeOptions } from '../audio/decode.js';
import { activationsToNoteEvents, noteEventsToSequence, type NoteEvent, type NoteEventOptions, type ToSequenceOptions } from '../audio/note-events.js';

/** Peak below which audio counts as silence (−80 dBFS): no instrument is that quiet. */
const SILENCE_PEAK = 1e-4;

export type TranscribeStage = 'decode' | 'model' | 'notes';

export interface TranscribeOptions extends Omit<DecodeOptions, 'sampleRateHz'>, ToSequenceOptions {
  /** Thresholds for turning activations into notes. */
  notes?: NoteEventOptions;
  /** A loaded model to reuse; default: one shared model per process, loaded on first use. */
  model?: BasicPitchModel;
  /** Progress per stage, fraction 0–1. */
  onProgress?: (stage: TranscribeStage, fraction: number) => void;
}

export interface Transcription {
  /** Notes on the step grid (one track, program `opts.program`, default piano). */
  sequence: NoteSequence;
  /** The same notes in seconds, before quantisation, sorted by onset. */
  events: NoteEvent[];
  /** Length of the decoded audio. */
  durationSeconds: number;
  timingsMs: { decode: number; model: number; notes: number };
}

let sharedModel: Promise<BasicPitchModel> | undefined;

/** The process-wide model, loaded once (~0.5 s). A failed load is retried on the next call. */
export function sharedBasicPitchModel(): Promise<BasicPitchModel> {
  sharedModel ??= BasicPitchModel.load().catch((error: unknown) => {
    sharedModel = undefined;
    throw error;
  });
  return sharedModel;
}

/**
 * Transcribes an audio file (path) or its bytes.
 * @throws MotifError AUDIO_TOO_LARGE, AUDIO_TOO_LONG, AUDIO_INVALID (see decodeAudio), AUDIO_SILENT
 *   when the audio is silent or no note is found, JOB_CANCELLED, MODEL_NOT_FOUND / MODEL_CORRUPT.
 */
export async function transcribeAudio(input: string | Uint8Array, opts: TranscribeOptions = {}): Promise<Transcription> {
  const t0 = performance.now();
  opts.onProgress?.('decode', 0);
  const decoded = await decodeAudio(input, { ...opts, sampleRateHz: BASIC_PITCH_SAMPLE_RATE_HZ });
  opts.onProgress?.('decode', 1);
  const decodeMs = performance.now() - t0;
  const result = await transcribeSamples(decoded.samples, opts);
  return { ...result, timingsMs: { ...result.timingsMs, decode: decodeMs } };
}

/**
 * Transcribes mono 22,050 Hz samples (−1…1).
 * @throws MotifError AUDIO_SILENT, JOB_CANCELLED.
 */
export async function transcribeSamples(samples: Float32Array, opts: TranscribeOptions = {}): Promise<Transcription> {
  const durationSeconds = samples.length / BASIC_PITCH_SAMPLE_RATE_HZ;
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i] as number));
  if (peak < SILENCE_PEAK) throw new MotifError('AUDIO_SILENT', 'No notes were found — the audio is silent.');

  const t0 = performance.now();
  const model = opts.model ?? (await sharedBasicPitchModel());
  const activations = await model.predict(samples, {
    onProgress: (fraction) => opts.onProgress?.('model', fraction),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const t1 = performance.now();
  const events = activationsToNoteEvents(activations, opts.notes);
  if (events.length === 0) throw new MotifError('AUDIO_SILENT', 'No notes were found in this audio.');
  const sequence = noteEventsToSequence(events, opts);
  opts.onProgress?.('notes', 1);
  const t2 = performance.now();
  return { sequence, events, durationSeconds, timingsMs: { decode: 0, model: t1 - t0, notes: t2 - t1 } };
}

export interface MidiFileResult extends Transcription {
  midiPath: string;
}

/**
 * Transcribes `inputPath` and writes `outDir/<input name>.mid` (temp file + rename, so the folder
 * never holds a half-written file; nothing is written on error).
 * @throws see transcribeAudio.
 */
export async function transcribeToMidiFile(inputPath: string, outDir: string, opts: TranscribeOptions = {}): Promise<MidiFileResult> {
  const transcription = await transcribeAudio(inputPath, opts);
  const bytes = writeMidi(transcription.sequence);
  await mkdir(outDir, { recursive: true });
  const midiPath = join(outDir, `${basename(inputPath, extname(inputPath))}.mid`);
  await writeFileAtomic(midiPath, bytes);
  return { ...transcription, midiPath };
}
