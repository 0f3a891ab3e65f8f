/**
 * Reads an uploaded MIDI file in a worker thread. Untrusted bytes are never parsed on the bot's
 * main thread (which also sends gateway heartbeats and acknowledges interactions): /seed save and
 * /corpus add hand this job a file path and get back a checked summary (and the sequence when asked).
 */
import { z } from 'zod';
import { MotifError } from '../errors.js';
import { assertHasNotes, readMidiFile } from '../music/midi-io.js';
import type { NoteSequence } from '../music/note-sequence.js';
import type { ProcessorContext } from './processor.js';
import { jobBlobStore, type JobBlobSettings } from './job-blobs.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ReadMidiJobRequest {
  /** The downloaded upload, on the bot's disk (shared with the worker when `key` is unset). */
  path: string;
  /** The same bytes in a remote blob store (`blobs`), for a worker that does not share the bot's disk. */
  key?: string;
  blobs?: JobBlobSettings;
  /** MAX_MIDI_BYTES. */
  maxBytes: number;
  /** Return the whole sequence (for /seed save), not only its summary. */
  withSequence: boolean;
}

export interface ReadMidiJobResult {
  noteCount: number;
  totalSteps: number;
  sequence?: NoteSequence;
}

/** @throws MotifError MIDI_TOO_LARGE, MIDI_INVALID, MIDI_LIMIT_EXCEEDED, MIDI_EMPTY, NOT_FOUND. */
export async function readMidiJob(req: ReadMidiJobRequest, ctx: ProcessorContext<never>): Promise<ReadMidiJobResult> {
  const sequence = req.key && req.blobs?.url ? await readStoredMidi(req.key, req.blobs, req.maxBytes) : await readMidiFile(req.path, { limits: { maxBytes: req.maxBytes } });
  if (ctx.signal.aborted) throw new MotifError('JOB_CANCELLED', 'Reading the MIDI file was cancelled.');
  assertHasNotes(sequence);
  return { noteCount: sequence.notes.length, totalSteps: sequence.totalSteps, ...(req.withSequence ? { sequence } : {}) };
}

/** Fetches the upload from the blob store into a scratch file, reads it, and removes the scratch. */
async function readStoredMidi(key: string, blobs: JobBlobSettings, maxBytes: number): Promise<NoteSequence> {
  const store = await jobBlobStore(blobs);
  const dir = await mkdtemp(join(tmpdir(), 'motif-read-'));
  try {
    const path = join(dir, 'upload.mid');
    await store.getToFile(key, path);
    return await readMidiFile(path, { limits: { maxBytes } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const noteSchema = z.object({
  pitch: z.number().int().min(0).max(127),
  velocity: z.number().int().min(1).max(127),
  startStep: z.number().int().min(0),
  endStep: z.number().int().min(0),
  program: z.number().int().min(0).max(127),
  isDrum: z.boolean(),
  track: z.number().int().min(0),
});

/** The NoteSequence shape, checked where a sequence re-enters the main thread from a worker. */
export const noteSequenceSchema = z.object({
  stepsPerQuarter: z.number().int().min(1).max(960),
  tempos: z.array(z.object({ step: z.number().int().min(0), qpm: z.number().positive() })).min(1),
  timeSignatures: z.array(z.object({ step: z.number().int().min(0), numerator: z.number().int().min(1), denominator: z.number().int().min(1) })).min(1),
  tracks: z.array(z.object({ name: z.string(), program: z.number().int().min(0).max(127), isDrum: z.boolean() })),
  notes: z.array(noteSchema),
  totalSteps: z.number().int().min(0),
});

const resultSchema = z.object({
  noteCount: z.number().int().min(1),
  totalSteps: z.number().int().min(0),
  sequence: noteSequenceSchema.optional(),
});

/**
 * Checks a worker's answer before the bot trusts it.
 * @throws Error (a bug, reported as an incident) when the worker sent something else.
 */
export function parseReadMidiJobResult(value: unknown): ReadMidiJobResult {
  const parsed = resultSchema.safeParse(value);
  if (!parsed.success) throw new Error(`read-midi worker returned a malformed result: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data as ReadMidiJobResult;
}
