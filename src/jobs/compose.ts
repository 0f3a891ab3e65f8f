/**
 * The compose pipeline shared by the CLI and the bot: check the request against the limits →
 * sample → MIDI + piano roll (reported as `firstFiles`, so the bot can post them at once) → audio
 * in the format that fits the attachment limit (optional Ogg/Opus for voice). Plain data in and
 * out, so it runs the same inline or in a worker thread. Models are loaded once per process and
 * kept (a worker keeps its copy between jobs).
 */
import { randomInt as cryptoRandomInt } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPianoRoll } from '../audio/piano-roll.js';
import { renderPiece } from '../audio/render-piece.js';
import { assertInRange, MotifError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { asDiskFull } from '../util/disk-full.js';
import { guessKey } from '../music/analysis/key.js';
import { longestCopiedRun } from '../music/analysis/originality.js';
import { assertHasNotes, readMidiFile, writeMidi } from '../music/midi-io.js';
import { formatBytes } from '../music/midi-limits.js';
import { countNoteEvents, durationSeconds, initialQpm } from '../music/note-sequence.js';
import { generatePiece, MAX_COPIED_RUN } from '../ml/generate.js';
import { isStyleName, STYLES, type StyleRules } from './styles.js';
import type { LoadedModel } from '../ml/model-dir.js';
import { blobSourceId, jobBlobStore, type JobBlobSettings } from './job-blobs.js';
import { DEFAULT_MODEL_CACHE_SIZE, ModelCache } from './model-cache.js';
import { validateSamplingOptions } from '../ml/sampling.js';
import type { ComposeFirstFiles, ComposeJobData, ComposeResult } from './compose-contract.js';
import { checkComposeRequest, planAttachmentAudio } from './compose-limits.js';

/** The shipped model, found relative to this file so any working directory works. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/default', import.meta.url));
export const MAX_COMPOSE_LENGTH = 2000;

export const COMPOSE_DISK_FULL_MESSAGE =
  "The server's disk is full, so your piece could not be saved and nothing was kept. Tell the bot's operator, and try again once space is freed.";

/**
 * This worker's loaded models: bundled ones kept, guild models bounded (MODEL_CACHE_SIZE, from the
 * job's settings) because every /train adds one (model-cache.ts).
 */
const models = new ModelCache({ maxLoaded: DEFAULT_MODEL_CACHE_SIZE });

/**
 * Loads (once) and returns the model `ref` names: a bundled model folder, or a guild model version
 * (`guilds/<g>/models/<version>/`) fetched from the blob store `blobs` names. A failed load is not
 * cached, so a fixed folder loads next time.
 * @throws MotifError MODEL_NOT_FOUND / MODEL_CORRUPT / MODEL_MISMATCH, STORAGE_UNAVAILABLE.
 */
export function getModel(ref: string = DEFAULT_MODEL_DIR, blobs?: JobBlobSettings): Promise<LoadedModel> {
  if (blobs?.modelCacheSize !== undefined) models.setMaxLoaded(blobs.modelCacheSize);
  return models.get(ref, blobs ? { id: blobSourceId(blobs), open: () => jobBlobStore(blobs) } : undefined);
}

/** Drops a cached model (after /train replaces a guild model). */
export function forgetModel(ref: string): void {
  models.forget(ref);
}

export interface ComposeContext {
  signal?: AbortSignal;
  reportProgress?: (progress: { stage: string; fraction: number; firstFiles?: ComposeFirstFiles }) => void;
}

/**
 * @throws MotifError OPTION_OUT_OF_RANGE, MIDI_LIMIT_EXCEEDED (before any work), MODEL_*,
 *   SEED_OUT_OF_VOCABULARY, MIDI_EMPTY, SOUNDFONT_NOT_FOUND, FFMPEG_FAILED, JOB_CANCELLED, DISK_FULL.
 *   Nothing is left in outDir on failure.
 */
export async function composePiece(req: ComposeJobData, ctx: ComposeContext = {}): Promise<ComposeResult> {
  const started = performance.now();
  assertInRange('length', req.length, 1, req.maxLength ?? MAX_COMPOSE_LENGTH, { integer: true });
  validateSamplingOptions(req);
  if (req.program !== undefined) assertInRange('instrument', req.program, 0, 127, { integer: true });
  if (req.qpm !== undefined) assertInRange('tempo', req.qpm, 20, 300, { integer: true });
  if (req.maxAudioBytes !== undefined) assertInRange('maxAudioBytes', req.maxAudioBytes, 1, Number.MAX_SAFE_INTEGER, { integer: true });
  // Before the model loads: a seed that cannot fit is refused in milliseconds, not after sampling.
  checkComposeRequest(req);
  const report = (stage: string, fraction: number): void => ctx.reportProgress?.({ stage, fraction });
  const throwIfAborted = (): void => {
    if (ctx.signal?.aborted) throw new MotifError('JOB_CANCELLED', 'The composition was cancelled.');
  };

  let seed = req.seed;
  if (req.seedMidiPath !== undefined) {
    report('reading the seed', 0);
    seed = await readMidiFile(req.seedMidiPath, req.maxSeedBytes ? { limits: { maxBytes: req.maxSeedBytes } } : {});
    assertHasNotes(seed);
    // An uploaded seed is only known here, in the worker: the same early check, still before the model loads.
    checkComposeRequest({ ...req, seed });
    throwIfAborted();
  }
  report('loading model', 0);
  const model = await getModel(req.modelDir, req.blobs);
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
    copyGuard: model.copyIndex && { index: model.copyIndex, maxRun: MAX_COPIED_RUN },
    ensemble: model.ensemble,
    ...styleRulesOf(req.style),
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
  const midiPath = join(req.outDir, `${baseName}.mid`);
  const pngPath = join(req.outDir, `${baseName}.png`);
  const key = guessKey(sequence);
  const qpm = initialQpm(sequence);
  const pieceSeconds = durationSeconds(sequence);

  let rendered;
  /** Set when this job created outDir (mkdir's first created folder). */
  let createdDir: string | undefined;
  let audioSkipped: string | undefined;
  let midiMs = 0;
  let pianoRollMs = 0;
  let firstFilesMs = 0;
  try {
    createdDir = await mkdir(req.outDir, { recursive: true });
    const midiStart = performance.now();
    await writeFileAtomic(midiPath, writeMidi(sequence));
    midiMs = performance.now() - midiStart;
    const rollStart = performance.now();
    const caption = { keyName: key.name, qpm, ...(req.style ? { style: req.style } : {}) };
    await writeFileAtomic(pngPath, renderPianoRoll(sequence, { caption }));
    pianoRollMs = performance.now() - rollStart;
    firstFilesMs = performance.now() - started;
    throwIfAborted();
    // The bot posts these now; the audio follows by editing the reply.
    ctx.reportProgress?.({
      stage: 'rendering audio',
      fraction: 0.45,
      firstFiles: { midiPath, pngPath, durationSeconds: pieceSeconds, qpm, keyGuess: key.name },
    });
    const plan = req.maxAudioBytes === undefined ? undefined : planAttachmentAudio(pieceSeconds, req.maxAudioBytes);
    const withOgg = (req.withOpus ?? false) && plan?.encoding?.format !== 'ogg-opus';
    // No attachment audio and no voice audio wanted: nothing to synthesize at all.
    rendered = plan && !plan.encoding && !withOgg ? undefined : await renderPiece(sequence, {
      outDir: req.outDir,
      baseName,
      audio: plan ? (plan.encoding ?? false) : undefined,
      pianoRoll: false,
      soundfont: req.soundfont,
      soundfontDir: req.soundfontDir,
      ffmpegPath: req.ffmpegPath,
      ogg: withOgg,
      signal: ctx.signal,
      onProgress: (p) => report(p.stage === 'synthesizing' ? 'rendering audio' : 'encoding audio', 0.45 + 0.55 * p.fraction),
    });
    if (plan && !plan.encoding) audioSkipped = plan.reason;
    if (rendered && req.maxAudioBytes !== undefined && rendered.audioPath && (rendered.audioBytes ?? 0) > req.maxAudioBytes) {
      // The size prediction has a margin, so this is only a safety net: never hand Discord a file it refuses.
      await rm(rendered.audioPath, { force: true });
      audioSkipped = `No audio: the encoded file came out larger than this server's ${formatBytes(req.maxAudioBytes)} upload limit. Here are the MIDI and the piano roll.`;
      rendered = { ...rendered, audioPath: undefined, audio: undefined, audioBytes: undefined };
    }
  } catch (error) {
    await Promise.all([midiPath, pngPath].map((p) => rm(p, { force: true })));
    // The job's own folder goes too when this job made it (it did not exist before): the bot may
    // already have removed it for a cancelled job, and an empty one would be left behind. Only
    // outDir itself: parents made on the way may be shared with other jobs by now.
    if (createdDir) await rm(req.outDir, { recursive: true, force: true });
    // A full disk while writing the MIDI, the piano roll or the audio (ffmpeg says so in its stderr).
    throw asDiskFull(error, COMPOSE_DISK_FULL_MESSAGE);
  }
  const result: ComposeResult = {
    midiPath,
    mp3Path: rendered?.audioPath ?? '',
    ...(rendered?.audioPath && rendered.audio ? { audio: { ...rendered.audio, bytes: rendered.audioBytes ?? 0 } } : {}),
    ...(audioSkipped ? { audioSkipped } : {}),
    pngPath,
    ...(rendered?.oggPath ? { opusPath: rendered.oggPath } : {}),
    generatedEvents: piece.generatedEvents,
    ...(seed ? { seedSteps: seed.totalSteps } : {}),
    noteCount: sequence.notes.length,
    durationSeconds: pieceSeconds,
    qpm,
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
      render: rendered?.timingsMs.synthesize ?? 0,
      encode: rendered?.timingsMs.encode ?? 0,
      pianoRoll: Math.round(pianoRollMs),
      firstFiles: Math.round(firstFilesMs),
      total: Math.round(performance.now() - started),
    },
  };
  report('done', 1);
  return result;
}

/** The sampling rules of the request's style (none for a request without one). */
function styleRulesOf(style: string | undefined): Partial<StyleRules> {
  return style !== undefined && isStyleName(style) ? STYLES[style].rules : {};
}
