/**
 * One call from a NoteSequence to finished files: `<base>.mp3` (+ `<base>.ogg` Opus for voice)
 * + `<base>.png` piano roll, all written atomically (temp + rename, nothing left on failure).
 *
 * Loudness needs the whole piece's peak before the first sample is encoded, so rendering is two
 * passes over the audio: pass 1 synthesizes and measures, pass 2 applies one gain and streams to
 * ffmpeg. Pass 2 reuses pass 1's audio when it fits `maxBufferedBytes` (≈ 6 min at the default),
 * otherwise it synthesizes again (deterministic, so the measured peak holds): memory stays bounded
 * for any length, at the cost of synthesizing long pieces twice.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { MotifError, assertInRange } from '../errors.js';
import { durationSeconds, type NoteSequence } from '../music/note-sequence.js';
import { startEncoder, type PcmEncoder } from './encode.js';
import {
  accumulateLevels,
  emptyLevelStats,
  interleaveWithGain,
  normalizationGain,
  rmsOf,
  type LevelStats,
} from './loudness.js';
import { renderPianoRoll, type PianoRollOptions } from './piano-roll.js';
import { loadSoundfont, DEFAULT_SOUNDFONT } from './soundfonts.js';
import {
  DEFAULT_SAMPLE_RATE_HZ,
  renderedFrameCount,
  synthesizeChunks,
  type PcmChunk,
  type SynthOptions,
} from './synth.js';

export const DEFAULT_MAX_BUFFERED_BYTES = 128 * 1024 * 1024;
export const DEFAULT_MAX_RENDER_SECONDS = 30 * 60;

export type RenderStage = 'synthesizing' | 'encoding';

export interface RenderProgress {
  /** 0–1 over the whole render. */
  fraction: number;
  stage: RenderStage;
}

export interface RenderAudioSettings {
  /** SoundFont name (see listSoundfonts); default FluidR3Mono_GM. */
  soundfont?: string;
  /** Folder of user SoundFonts (`soundfonts/`). */
  soundfontDir?: string;
  /** Release/reverb tail after the last note, seconds (default 1.5). */
  tailSeconds?: number;
  /** Peak level after normalisation, dBFS ≤ 0 (default −1). */
  targetPeakDbfs?: number;
  /** Light room reverb (default true). */
  reverb?: boolean;
  /** Longest piece accepted, seconds (default 1800). */
  maxDurationSeconds?: number;
  signal?: AbortSignal;
}

export interface RenderPieceOptions extends RenderAudioSettings {
  /** Output folder; created if missing. */
  outDir: string;
  /** File name without extension (no path separators). */
  baseName: string;
  /** Also write `<base>.ogg` (Ogg/Opus 48 kHz, 20 ms frames) for voice playback (default false). */
  ogg?: boolean;
  /** Write `<base>.png` (default true). */
  pianoRoll?: boolean | PianoRollOptions;
  /** ffmpeg binary (default: bundled). */
  ffmpegPath?: string;
  /** Pass-1 audio kept in memory up to this many bytes (default 128 MiB); longer pieces are synthesized twice. */
  maxBufferedBytes?: number;
  onProgress?: (progress: RenderProgress) => void;
}

export interface RenderPieceResult {
  mp3Path: string;
  oggPath?: string;
  pngPath?: string;
  noteCount: number;
  /** Length of the audio files, seconds (piece + tail). */
  durationSeconds: number;
  /** Length of the piece alone, seconds. */
  pieceDurationSeconds: number;
  soundfont: string;
  /** Peak of the raw synth output before normalisation (linear). */
  rawPeak: number;
  /** Linear gain applied. */
  gain: number;
  /** RMS after normalisation, dBFS (−Infinity for silence). */
  rmsDbfs: number;
  /** 1 when pass 2 reused buffered audio, 2 when it synthesized again. */
  synthesisPasses: 1 | 2;
  timingsMs: { pianoRoll: number; synthesize: number; encode: number; total: number };
}

const YIELD_EVERY_CHUNKS = 8;
const PASS1_WEIGHT = 0.3;

/**
 * Renders `seq` to mp3 (+ ogg) + png in `outDir`.
 * @throws MotifError MIDI_LIMIT_EXCEEDED (piece longer than maxDurationSeconds),
 *   SOUNDFONT_NOT_FOUND / SOUNDFONT_INVALID, FFMPEG_FAILED, JOB_CANCELLED (signal aborted),
 *   OPTION_OUT_OF_RANGE (bad options). Nothing is left in `outDir` when it throws.
 */
export async function renderPiece(seq: NoteSequence, opts: RenderPieceOptions): Promise<RenderPieceResult> {
  const started = performance.now();
  if (opts.baseName.length === 0 || basename(opts.baseName) !== opts.baseName || opts.baseName.startsWith('.')) {
    throw new MotifError('OPTION_OUT_OF_RANGE', 'The output name must be a plain file name.', { detail: opts.baseName });
  }
  const maxBufferedBytes = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  assertInRange('maxBufferedBytes', maxBufferedBytes, 0, 4 * 1024 ** 3, { integer: true });
  const synthOptions = prepareSynth(seq, opts);
  const sampleRateHz = synthOptions.sampleRateHz ?? DEFAULT_SAMPLE_RATE_HZ;
  const totalFrames = renderedFrameCount(seq, synthOptions);

  await mkdir(opts.outDir, { recursive: true });
  const mp3Path = join(opts.outDir, `${opts.baseName}.mp3`);
  const oggPath = opts.ogg ? join(opts.outDir, `${opts.baseName}.ogg`) : undefined;
  const pngPath = opts.pianoRoll === false ? undefined : join(opts.outDir, `${opts.baseName}.png`);
  const pngTemp = pngPath ? `${join(opts.outDir, `.${opts.baseName}.png`)}.${randomBytes(4).toString('hex')}.tmp` : undefined;
  const encoders: PcmEncoder[] = [];
  /** Files already renamed into place: removed again if a later step fails. */
  const committed: string[] = [];
  const report = (stage: RenderStage, fraction: number): void => opts.onProgress?.({ stage, fraction: Math.min(1, fraction) });

  try {
    // ffmpeg starts now and waits on stdin, so its process start-up overlaps synthesis.
    encoders.push(startEncoder({ format: 'mp3', outPath: mp3Path, inputSampleRateHz: sampleRateHz, ffmpegPath: opts.ffmpegPath }));
    if (oggPath) {
      encoders.push(startEncoder({ format: 'ogg-opus', outPath: oggPath, inputSampleRateHz: sampleRateHz, ffmpegPath: opts.ffmpegPath }));
    }
    let t = performance.now();
    if (pngPath && pngTemp) {
      const rollOptions = typeof opts.pianoRoll === 'object' ? opts.pianoRoll : {};
      await writeFile(pngTemp, renderPianoRoll(seq, rollOptions));
    }
    const pianoRollMs = performance.now() - t;

    // Pass 1: synthesize, measure, keep the audio while it fits the budget.
    t = performance.now();
    const stats = emptyLevelStats();
    let buffered: PcmChunk[] | undefined = [];
    let bufferedBytes = 0;
    let framesDone = 0;
    let chunkCount = 0;
    for (const chunk of synthesizeChunks(seq, synthOptions)) {
      accumulateLevels(stats, chunk.left);
      accumulateLevels(stats, chunk.right);
      framesDone += chunk.left.length;
      if (buffered) {
        bufferedBytes += chunk.left.byteLength + chunk.right.byteLength;
        if (bufferedBytes <= maxBufferedBytes) buffered.push(chunk);
        else buffered = undefined; // too long to keep: pass 2 synthesizes again
      }
      if (++chunkCount % YIELD_EVERY_CHUNKS === 0) {
        report('synthesizing', (framesDone / totalFrames) * PASS1_WEIGHT);
        await yieldToEventLoop();
        throwIfAborted(opts.signal);
      }
    }
    const synthesizeMs = performance.now() - t;
    const gain = normalizationGain(stats.peak, { targetPeakDbfs: opts.targetPeakDbfs });

    // Pass 2: one gain, streamed to one ffmpeg per format.
    t = performance.now();
    const synthesisPasses = buffered ? 1 : 2;
    const source: Iterable<PcmChunk> = buffered ? drain(buffered) : synthesizeChunks(seq, synthOptions);
    framesDone = 0;
    chunkCount = 0;
    for (const chunk of source) {
      const interleaved = interleaveWithGain(chunk.left, chunk.right, gain, new Float32Array(chunk.left.length * 2));
      await Promise.all(encoders.map((e) => e.write(interleaved)));
      framesDone += chunk.left.length;
      if (++chunkCount % YIELD_EVERY_CHUNKS === 0) {
        report('encoding', PASS1_WEIGHT + (framesDone / totalFrames) * (1 - PASS1_WEIGHT));
        // ffmpeg backpressure usually yields already; this keeps timers and aborts live when it does not.
        await yieldToEventLoop();
        throwIfAborted(opts.signal);
      }
    }
    await Promise.all(encoders.map((e) => e.finish()));
    throwIfAborted(opts.signal);
    for (const e of encoders) {
      await e.commit();
      committed.push(e.outPath);
    }
    if (pngTemp && pngPath) {
      await renameOrFail(pngTemp, pngPath);
      committed.push(pngPath);
    }
    const encodeMs = performance.now() - t;
    report('encoding', 1);

    const rms = rmsOf(stats) * gain;
    return {
      mp3Path,
      ...(oggPath ? { oggPath } : {}),
      ...(pngPath ? { pngPath } : {}),
      noteCount: seq.notes.length,
      durationSeconds: totalFrames / sampleRateHz,
      pieceDurationSeconds: durationSeconds(seq),
      soundfont: synthOptions.soundfont.name,
      rawPeak: stats.peak,
      gain,
      rmsDbfs: rms > 0 ? 20 * Math.log10(rms) : Number.NEGATIVE_INFINITY,
      synthesisPasses,
      timingsMs: {
        pianoRoll: Math.round(pianoRollMs),
        synthesize: Math.round(synthesizeMs),
        encode: Math.round(encodeMs),
        total: Math.round(performance.now() - started),
      },
    };
  } catch (error) {
    await Promise.all(encoders.map((e) => e.discard()));
    await Promise.all([...committed, ...(pngTemp ? [pngTemp] : [])].map((p) => rm(p, { force: true })));
    throw error;
  }
}

export interface NormalizedPcm {
  left: Float32Array;
  right: Float32Array;
  sampleRateHz: number;
  gain: number;
  rawPeak: number;
}

/**
 * The same normalised audio {@link renderPiece} encodes, in memory (for analysis and tests).
 * Holds the whole piece: 10 min ≈ 210 MB at 44.1 kHz, so keep it for short pieces.
 * @throws the same errors as {@link renderPiece} except FFMPEG_FAILED.
 */
export async function renderNormalizedPcm(seq: NoteSequence, opts: RenderAudioSettings = {}): Promise<NormalizedPcm> {
  const synthOptions = prepareSynth(seq, opts);
  const total = renderedFrameCount(seq, synthOptions);
  const left = new Float32Array(total);
  const right = new Float32Array(total);
  const stats: LevelStats = emptyLevelStats();
  let offset = 0;
  let chunkCount = 0;
  for (const chunk of synthesizeChunks(seq, synthOptions)) {
    left.set(chunk.left, offset);
    right.set(chunk.right, offset);
    offset += chunk.left.length;
    accumulateLevels(stats, chunk.left);
    accumulateLevels(stats, chunk.right);
    if (++chunkCount % YIELD_EVERY_CHUNKS === 0) {
      await yieldToEventLoop();
      throwIfAborted(opts.signal);
    }
  }
  const gain = normalizationGain(stats.peak, { targetPeakDbfs: opts.targetPeakDbfs });
  const both = interleaveWithGain(left, right, gain, new Float32Array(total * 2));
  for (let i = 0; i < total; i++) {
    left[i] = both[2 * i]!;
    right[i] = both[2 * i + 1]!;
  }
  return { left, right, sampleRateHz: synthOptions.sampleRateHz ?? DEFAULT_SAMPLE_RATE_HZ, gain, rawPeak: stats.peak };
}

function prepareSynth(seq: NoteSequence, opts: RenderAudioSettings): SynthOptions {
  const maxSeconds = opts.maxDurationSeconds ?? DEFAULT_MAX_RENDER_SECONDS;
  const pieceSeconds = durationSeconds(seq);
  if (!Number.isFinite(pieceSeconds) || pieceSeconds > maxSeconds) {
    throw new MotifError(
      'MIDI_LIMIT_EXCEEDED',
      `This piece is too long to render (${formatMinutes(pieceSeconds)}; the limit is ${formatMinutes(maxSeconds)}).`,
    );
  }
  throwIfAborted(opts.signal);
  const soundfont = loadSoundfont(opts.soundfont ?? DEFAULT_SOUNDFONT, opts.soundfontDir);
  return {
    soundfont,
    ...(opts.tailSeconds !== undefined ? { tailSeconds: opts.tailSeconds } : {}),
    ...(opts.reverb !== undefined ? { reverb: opts.reverb } : {}),
  };
}

/** Hands out buffered chunks and drops each reference, so memory shrinks as encoding proceeds. */
function* drain(chunks: PcmChunk[]): Generator<PcmChunk, void, void> {
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    chunks[i] = EMPTY_CHUNK;
    yield chunk;
  }
}
const EMPTY_CHUNK: PcmChunk = { left: new Float32Array(0), right: new Float32Array(0) };

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MotifError('JOB_CANCELLED', 'The render was cancelled.');
}

async function renameOrFail(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    throw new MotifError('FFMPEG_FAILED', 'The rendered files could not be saved.', { cause: error, detail: to });
  }
}

function formatMinutes(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown length';
  return seconds >= 90 ? `${Math.round(seconds / 6) / 10} min` : `${Math.round(seconds)} s`;
}
