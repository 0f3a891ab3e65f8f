/**
 * The transcription processor: an uploaded audio file → a MIDI file (Basic Pitch). Plain data in
 * and out so it can run in a worker thread.
 */
import { transcribeToMidiFile } from './transcription.js';
import type { ProcessorContext } from './processor.js';

export interface TranscribeJobRequest {
  inputPath: string;
  outDir: string;
  ffmpegPath?: string;
  maxBytes: number;
  maxDurationSeconds: number;
}

export interface TranscribeJobResult {
  midiPath: string;
  noteCount: number;
  durationSeconds: number;
}

export interface TranscribeProgress {
  stage: string;
  fraction: number;
}

/** @throws MotifError AUDIO_* (see transcribeAudio). */
export async function transcribeJob(req: TranscribeJobRequest, ctx: ProcessorContext<TranscribeProgress>): Promise<TranscribeJobResult> {
  const result = await transcribeToMidiFile(req.inputPath, req.outDir, {
    ...(req.ffmpegPath ? { ffmpegPath: req.ffmpegPath } : {}),
    maxBytes: req.maxBytes,
    maxDurationSeconds: req.maxDurationSeconds,
    signal: ctx.signal,
    onProgress: (stage, fraction) => ctx.reportProgress({ stage, fraction }),
  });
  return { midiPath: result.midiPath, noteCount: result.sequence.notes.length, durationSeconds: result.durationSeconds };
}
