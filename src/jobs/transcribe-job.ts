/**
 * The transcription processor: an uploaded audio file → a MIDI file (Basic Pitch). Plain data in
 * and out so it can run in a worker thread.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { jobBlobStore, type JobBlobSettings } from './job-blobs.js';
import { transcribeToMidiFile } from './transcription.js';
import type { ProcessorContext } from './processor.js';

export interface TranscribeJobRequest {
  /** The uploaded audio on the bot's disk (shared with the worker unless `inputKey` is set). */
  inputPath: string;
  /** Where the MIDI goes, on the bot's disk; the result names a file here. */
  outDir: string;
  /**
   * For a worker that does not share the bot's disk (a remote blob store, `blobs.url`): the audio
   * is fetched from `inputKey`, and the MIDI is uploaded to `outputKey` for the bot to fetch into `outDir`.
   */
  inputKey?: string;
  outputKey?: string;
  blobs?: JobBlobSettings;
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
  if (!req.inputKey || !req.outputKey || !req.blobs?.url) return transcribeHere(req, ctx);
  const store = await jobBlobStore(req.blobs);
  const scratch = await mkdtemp(join(tmpdir(), 'motif-transcribe-'));
  try {
    const inputPath = join(scratch, `input-${basename(req.inputPath)}`);
    await store.getToFile(req.inputKey, inputPath);
    const result = await transcribeHere({ ...req, inputPath, outDir: join(scratch, 'out') }, ctx);
    await store.putFile(req.outputKey, result.midiPath);
    return { ...result, midiPath: join(req.outDir, basename(result.midiPath)) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function transcribeHere(req: TranscribeJobRequest, ctx: ProcessorContext<TranscribeProgress>): Promise<TranscribeJobResult> {
  const result = await transcribeToMidiFile(req.inputPath, req.outDir, {
    ...(req.ffmpegPath ? { ffmpegPath: req.ffmpegPath } : {}),
    maxBytes: req.maxBytes,
    maxDurationSeconds: req.maxDurationSeconds,
    signal: ctx.signal,
    onProgress: (stage, fraction) => ctx.reportProgress({ stage, fraction }),
  });
  return { midiPath: result.midiPath, noteCount: result.sequence.notes.length, durationSeconds: result.durationSeconds };
}
