/**
 * The compose pipeline shared by the CLI and the bot: sample → MIDI → render (mp3, optional
 * Ogg/Opus) → piano roll. Plain data in and out, so it runs the same inline or in a worker thread.
 * Models are loaded once per process and kept (a worker keeps its copy between jobs).
 */
import { randomInt as cryptoRandomInt } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPiece } from '../audio/render-piece.js';
import { assertInRange, MotifError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { guessKey } from '../music/analysis/key.js';
import { longestCopiedRun } from '../music/analysis/originality.js';
import { assertHasNotes, readMidiFile, writeMidi } from '../music/midi-io.js';
import { countNoteEvents, durationSeconds, initialQpm } from '../music/note-sequence.js';
import { generatePiece } from '../ml/generate.js';
import { loadModel, type LoadedModel } from '../ml/model-dir.js';
import { validateSamplingOptions } from '../ml/sampling.js';
import type { ComposeJobData, ComposeResult } from './compose-contract.js';

/** The shipped model, found relative to this file so any working directory works. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/default', import.meta.url));
export const MAX_COMPOSE_LENGTH = 2000;

const models = new Map<string, Promise<LoadedModel>>();

/** Loads (once) and returns the model in `dir`; a failed load is not cached, so a fixed folder loads next time. */
export function getModel(dir: string = DEFAULT_MODEL_DIR): Promise<LoadedModel> {
  const key = resolve(dir);
  let pending = models.get(key);
  if (!pending) {
    pending = loadModel(key);
    models.set(key, pending);
    pending.catch(() => models.delete(key));
  }
  return pending;
}

/** Drops a cached model (after /train replaces a guild model). */
export function forgetModel(dir: string): void {
  const key = resolve(dir);
  const pending = models.get(key);
  models.delete(key);
  void pending?.then((m) => m.network.dispose()).catch(() => undefined);
}

export interface ComposeContext {
  signal?: AbortSignal;
  reportProgress?: (progress: { stage: string; fraction: number }) => void;
}

/**
 * @throws MotifError OPTION_OUT_OF_RANGE, MODEL_*, SEED_OUT_OF_VOCABULARY, MIDI_EMPTY,
 *   SOUNDFONT_NOT_FOUND, FFMPEG_FAILED, JOB_CANCELLED. Nothing is left in outDir on failure.
 */
export async function composePiece(req: ComposeJobData, ctx: ComposeContext = {}): Promise<ComposeResult> {
  const started = performance.now();
  assertInRange('length', req.length, 1, req.maxLength ?? MAX_COMPOSE_LENGTH, { integer: true });
  validateSamplingOptions(req);
  if (req.program !== undefined) assertInRange('instrument', req.program, 0, 127, { integer: true });
  if (req.qpm !== undefined) assertInRange('tempo', req.qpm, 20, 300, { integer: true });
  const report = (stage: string, fraction: number): void => ctx.reportProgress?.({ stage, fraction });
  const throwIfAborted = (): void => {
    if (ctx.signal?.aborted) throw new MotifError('JOB_CANCELLED', 'The composition was cancelled.');
  };

  let seed = req.seed;
  if (req.seedMidiPath !== undefined) {
    report('reading the seed', 0);
    seed = await readMidiFile(req.seedMidiPath, req.maxSeedBytes ? { limits: { maxBytes: req.maxSeedBytes } } : {});
    assertHasNotes(seed);
    throwIfAborted();
  }
  report('loading model', 0);
  const model = await getModel(req.modelDir);
  throwIfAborted();
  report('composing', 0.05);
  const randomSeed = req.randomSeed ?? cryptoRandomInt(0, 2 ** 31 - 1);
  const sampleStart = performance.now();
  const piece = generatePiece(model.network, model.tokenizer, {
    length: req.length,
    temperature: req.temperature,
    topP: req.topP,
    randomSeed,
    key: req.key,
    seed,
    qpm: req.qpm ?? (seed ? initialQpm(seed) : 120),
    program: req.program,
    copyCache: model.copyCache,
  });
  let sequence = piece.sequence;
  if (req.qpm !== undefined && seed) sequence = { ...sequence, tempos: [{ step: 0, qpm: req.qpm }] };
  const sampleMs = performance.now() - sampleStart;
  throwIfAborted();
  // The product's promise is that `length` counts notes-or-chords: check it before any file is
  // written. A mismatch is a bug, so it stays a plain Error: logged as an incident, shown as JOB_FAILED.
  if (!seed && countNoteEvents(sequence) !== piece.generatedEvents) {
    throw new Error(`internal: composed ${countNoteEvents(sequence)} note events but counted ${piece.generatedEvents}`);
  }

  report('writing MIDI', 0.4);
  const baseName = req.baseName ?? `motif-${randomSeed}`;
  await mkdir(req.outDir, { recursive: true });
  const midiStart = performance.now();
  const midiPath = join(req.outDir, `${baseName}.mid`);
  await writeFileAtomic(midiPath, writeMidi(sequence));
  const midiMs = performance.now() - midiStart;

  let rendered;
  try {
    rendered = await renderPiece(sequence, {
      outDir: req.outDir,
      baseName,
      soundfont: req.soundfont,
      soundfontDir: req.soundfontDir,
      ffmpegPath: req.ffmpegPath,
      ogg: req.withOpus ?? false,
      signal: ctx.signal,
      onProgress: (p) => report(p.stage === 'synthesizing' ? 'rendering audio' : 'encoding audio', 0.45 + 0.55 * p.fraction),
    });
  } catch (error) {
    await rm(midiPath, { force: true });
    throw error;
  }
  const key = guessKey(sequence);
  const result: ComposeResult = {
    midiPath,
    mp3Path: rendered.mp3Path,
    pngPath: rendered.pngPath ?? '',
    ...(rendered.oggPath ? { opusPath: rendered.oggPath } : {}),
    generatedEvents: piece.generatedEvents,
    ...(seed ? { seedSteps: seed.totalSteps } : {}),
    noteCount: sequence.notes.length,
    durationSeconds: durationSeconds(sequence),
    qpm: initialQpm(sequence),
    program: req.program ?? 0,
    keyGuess: key.name,
    modelName: model.spec.name,
    ...(req.style ? { style: req.style } : {}),
    ...(model.copyIndex ? { longestCopiedRun: longestCopiedRun(model.copyIndex, sequence) } : {}),
    randomSeed,
    sequence,
    timingsMs: {
      sample: Math.round(sampleMs),
      midi: Math.round(midiMs),
      render: rendered.timingsMs.synthesize,
      encode: rendered.timingsMs.encode,
      pianoRoll: rendered.timingsMs.pianoRoll,
      total: Math.round(performance.now() - started),
    },
  };
  report('done', 1);
  return result;
}
