/**
 * What one fuzz case runs: the bot's own upload code, minus Discord.
 * - MIDI (`/compose midi:`, `/seed save`, `/corpus add` of a .mid): the size check the download
 *   does, readUploadedMidi, then the seed encoding /compose applies before sampling.
 * - audio (`/corpus add` of mp3/wav/ogg/flac): the size check, then the transcription job's
 *   processor (ffmpeg decode with the duration limit → Basic Pitch → .mid), as the queue runs it.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MotifError } from '../errors.js';
import { transcribeJob } from '../jobs/transcribe-job.js';
import { encodeSeed } from '../ml/generate.js';
import { readUploadedMidi } from '../music/midi-upload.js';
import { formatBytes } from '../music/midi-limits.js';
import { tokenizerFromSpec, type Tokenizer } from '../music/tokenizers/index.js';
import type { FuzzTarget } from './mutations.js';

export interface UploadLimits {
  maxMidiBytes: number;
  maxAudioBytes: number;
  maxAudioSeconds: number;
  ffmpegPath?: string;
}

export interface UploadCase {
  target: FuzzTarget;
  /** The mutated file on disk, named with the upload's extension. */
  path: string;
  /** Scratch folder for this case's outputs (removed afterwards). */
  workDir: string;
}

/** What a case produced when it was accepted. */
export interface UploadAccepted {
  notes: number;
  /** Seed prompt length (MIDI) or decoded seconds (audio). */
  detail: number;
}

/** The default model's tokenizer, read from its spec (no weights, no tf). */
export async function loadSeedTokenizer(modelDir: string): Promise<Tokenizer> {
  const spec = JSON.parse(await readFile(join(modelDir, 'spec.json'), 'utf8')) as { tokenizer?: unknown };
  return tokenizerFromSpec(spec.tokenizer);
}

/**
 * @throws MotifError for every refused upload (that is the expected outcome); anything else is a bug.
 */
export async function runUploadCase(c: UploadCase, limits: UploadLimits, tokenizer: Tokenizer): Promise<UploadAccepted> {
  const bytes = new Uint8Array(await readFile(c.path));
  if (c.target === 'midi') {
    // downloadAttachment refuses this before the parser sees it.
    if (bytes.byteLength > limits.maxMidiBytes) throw new MotifError('MIDI_TOO_LARGE', `larger than ${formatBytes(limits.maxMidiBytes)}`);
    const sequence = readUploadedMidi(bytes, { maxBytes: limits.maxMidiBytes });
    const prompt = encodeSeed(tokenizer, sequence);
    return { notes: sequence.notes.length, detail: prompt.length };
  }
  if (bytes.byteLength > limits.maxAudioBytes) throw new MotifError('AUDIO_TOO_LARGE', `larger than ${formatBytes(limits.maxAudioBytes)}`);
  await mkdir(c.workDir, { recursive: true });
  try {
    const result = await transcribeJob(
      { inputPath: c.path, outDir: c.workDir, ffmpegPath: limits.ffmpegPath, maxBytes: limits.maxAudioBytes, maxDurationSeconds: limits.maxAudioSeconds },
      { signal: new AbortController().signal, reportProgress: () => undefined, log: () => undefined },
    );
    return { notes: result.noteCount, detail: result.durationSeconds };
  } finally {
    await rm(c.workDir, { recursive: true, force: true });
  }
}
