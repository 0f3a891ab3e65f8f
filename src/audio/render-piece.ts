/**
 * One call from a NoteSequence to finished files: the attachment audio `<base>.mp3` (or `.ogg`
 * Opus, see {@link RenderPieceOptions.audio}), optionally `<base>.ogg` Opus for voice, and the
 * `<base>.png` piano roll, all written atomically (temp + rename, nothing left on failure).
 *
 * One pass: each chunk goes synth → gain chosen from the notes → look-ahead limiter → ffmpeg while
 * the next chunk is synthesized, so encoding (another process, another core when there is one)
 * overlaps synthesis and memory stays a few chunks whatever the length.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { MotifError, assertInRange } from '../errors.js';
import { MAX_PIECE_SECONDS, formatDuration } from '../music/midi-limits.js';
import { durationSeconds, type NoteSequence } from '../music/note-sequence.js';
import { MP3_BITRATE_KBPS, audioExtension, startEncoder, type AudioEncoding, type PcmEncoder } from './encode.js';
import { PeakLimiter, accumulateLevels, emptyLevelStats, estimateRawPeak, gainFromNotes, rmsOf } from './loudness.js';
import { renderPianoRoll, type PianoRollOptions } from './piano-roll.js';
import { loadSoundfont, DEFAULT_SOUNDFONT } from './soundfonts.js';
import {
  DEFAULT_SAMPLE_RATE_HZ,
  renderedFrameCount,
  synthesizeChunks,
  type SynthOptions,
} from './synth.js';

/** The render limit is the piece limit every input is checked against (src/music/midi-limits.ts). */
export const DEFAULT_MAX_RENDER_SECONDS = MAX_PIECE_SECONDS;

export type RenderStage = 'synthesizing' | 'encoding';

export interface RenderProgress {
  /** 0–1 over the whole render. */
  fraction: number;
  /** `synthesizing` while audio is made and streamed to the encoders, `encoding` while they finish. */
  stage: RenderStage;
}

export interface RenderAudioSettings {
  /** SoundFont name (see listSoundfonts); default FluidR3Mono_GM. */
  soundfont?: string;
  /** Folder of user SoundFonts (`soundfonts/`). */
  soundfontDir?: string;
  /** Release/reverb tail after the last note, seconds (default 1.5). */
  tailSeconds?: number;
  /** Target peak (the note-based gain aims here) and limiter ceiling, dBFS ≤ 0 (default −1). */
  targetPeakDbfs?: number;
  /** Light room reverb (default true). */
  reverb?: boolean;
  /** Longest piece accepted, seconds (default MAX_PIECE_SECONDS, 1800). */
  maxDurationSeconds?: number;
  signal?: AbortSignal;
}

export interface RenderPieceOptions extends RenderAudioSettings {
  /** Output folder; created if missing. */
  outDir: string;
  /** File name without extension (no path separators). */
  baseName: string;
  /**
   * The attachment audio: `<base>.mp3` or, for Opus, `<base>.ogg`, at constant bitrate (default
   * MP3 192 kb/s). `false` writes none (voice-only renders, or a piece too long to attach).
   */
  audio?: AudioEncoding | false;
  /** Also write `<base>.ogg` (Ogg/Opus 48 kHz, 20 ms frames, VBR) for voice playback (default false). */
  ogg?: boolean;
  /** Write `<base>.png` (default true). */
  pianoRoll?: boolean | PianoRollOptions;
  /** ffmpeg binary (default: bundled). */
  ffmpegPath?: string;
  onProgress?: (progress: RenderProgress) => void;
}

export interface RenderPieceResult {
  /** The attachment audio, when `audio` was not false. */
  audioPath?: string;
  audio?: AudioEncoding;
  /** Size of the attachment audio file, bytes. */
  audioBytes?: number;
  oggPath?: string;
  pngPath?: string;
  noteCount: number;
  /** Length of the audio files, seconds (piece + tail). */
  durationSeconds: number;
  /** Length of the piece alone, seconds. */
  pieceDurationSeconds: number;
  soundfont: string;
  /** Raw synth peak predicted from the notes (linear). */
  estimatedRawPeak: number;
  /** Linear gain applied before the limiter. */
  gain: number;
  /** Lowest gain the limiter applied (1 = it never acted). */
  limiterMinGain: number;
  /** RMS of what was encoded, dBFS (−Infinity for silence). */
  rmsDbfs: number;
  timingsMs: { pianoRoll: number; synthesize: number; encode: number; total: number };
}

const YIELD_EVERY_CHUNKS = 8;

/**
 * Renders `seq` to audio (+ ogg) + png in `outDir`.
 * @throws MotifError MIDI_LIMIT_EXCEEDED (piece longer than maxDurationSeconds),
 *   SOUNDFONT_NOT_FOUND / SOUNDFONT_INVALID, FFMPEG_FAILED, JOB_CANCELLED (signal aborted),
 *   OPTION_OUT_OF_RANGE (bad options). Nothing is left in `outDir` when it throws.
 */
export async function renderPiece(seq: NoteSequence, opts: RenderPieceOptions): Promise<RenderPieceResult> {
  const started = performance.now();
  if (opts.baseName.length === 0 || basename(opts.baseName) !== opts.baseName || opts.baseName.startsWith('.')) {
    throw new MotifError('OPTION_OUT_OF_RANGE', 'The output name must be a plain file name.', { detail: opts.baseName });
  }
  const audio: AudioEncoding | undefined = opts.audio === false ? undefined : (opts.audio ?? { format: 'mp3', bitrateKbps: MP3_BITRATE_KBPS });
  if (audio) assertInRange('bitrateKbps', audio.bitrateKbps, 16, 320, { integer: true });
  const synthOptions = prepareSynth(seq, opts);
  const sampleRateHz = synthOptions.sampleRateHz ?? DEFAULT_SAMPLE_RATE_HZ;
  const totalFrames = renderedFrameCount(seq, synthOptions);

  await mkdir(opts.outDir, { recursive: true });
  const audioPath = audio ? join(opts.outDir, `${opts.baseName}.${audioExtension(audio.format)}`) : undefined;
  const oggPath = opts.ogg ? join(opts.outDir, `${opts.baseName}.ogg`) : undefined;
  if (audioPath && audioPath === oggPath) {
    throw new MotifError('OPTION_OUT_OF_RANGE', 'Opus attachment audio and voice audio would share one file name.', { detail: audioPath });
  }
  const pngPath = opts.pianoRoll === false ? undefined : join(opts.outDir, `${opts.baseName}.png`);
  const pngTemp = pngPath ? `${join(opts.outDir, `.${opts.baseName}.png`)}.${randomBytes(4).toString('hex')}.tmp` : undefined;
  const encoders: PcmEncoder[] = [];
  /** Files already renamed into place: removed again if a later step fails. */
  const committed: string[] = [];
  const report = (stage: RenderStage, fraction: number): void => opts.onProgress?.({ stage, fraction: Math.min(1, fraction) });

  try {
    // ffmpeg starts now and waits on stdin, so its process start-up overlaps the piano roll.
    if (audio && audioPath) {
      encoders.push(
        startEncoder({
          format: audio.format,
          outPath: audioPath,
          inputSampleRateHz: sampleRateHz,
          ffmpegPath: opts.ffmpegPath,
          bitrateKbps: audio.bitrateKbps,
          constantBitrate: true,
        }),
      );
    }
    if (oggPath) {
      encoders.push(startEncoder({ format: 'ogg-opus', outPath: oggPath, inputSampleRateHz: sampleRateHz, ffmpegPath: opts.ffmpegPath }));
    }
    let t = performance.now();
    if (pngPath && pngTemp) {
      const rollOptions = typeof opts.pianoRoll === 'object' ? opts.pianoRoll : {};
      await writeFile(pngTemp, renderPianoRoll(seq, rollOptions));
    }
    const pianoRollMs = performance.now() - t;

    t = performance.now();
    const stream = streamLimited(seq, synthOptions, opts);
    const stats = emptyLevelStats();
    let framesDone = 0;
    let chunkCount = 0;
    for (const interleaved of stream.chunks) {
      accumulateLevels(stats, interleaved);
      if (interleaved.length > 0) await Promise.all(encoders.map((e) => e.write(interleaved)));
      framesDone += interleaved.length / 2;
      if (++chunkCount % YIELD_EVERY_CHUNKS === 0) {
        report('synthesizing', (framesDone / totalFrames) * 0.95);
        // ffmpeg backpressure usually yields already; this keeps timers and aborts live when it does not.
        await yieldToEventLoop();
        throwIfAborted(opts.signal);
      }
    }
    const synthesizeMs = performance.now() - t;
    t = performance.now();
    report('encoding', 0.95);
    throwIfAborted(opts.signal);
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

    const rms = rmsOf(stats);
    return {
      ...(audio && audioPath ? { audioPath, audio, audioBytes: (await stat(audioPath)).size } : {}),
      ...(oggPath ? { oggPath } : {}),
      ...(pngPath ? { pngPath } : {}),
      noteCount: seq.notes.length,
      durationSeconds: totalFrames / sampleRateHz,
      pieceDurationSeconds: durationSeconds(seq),
      soundfont: synthOptions.soundfont.name,
      estimatedRawPeak: stream.estimatedRawPeak,
      gain: stream.gain,
      limiterMinGain: stream.limiter.minGain,
      rmsDbfs: rms > 0 ? 20 * Math.log10(rms) : Number.NEGATIVE_INFINITY,
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

interface LimitedStream {
  /** Interleaved stereo, gain and limiter applied, in order; the last one flushes the limiter. */
  chunks: Iterable<Float32Array>;
  gain: number;
  estimatedRawPeak: number;
  limiter: PeakLimiter;
}

/** Synthesis → note-based gain → limiter, chunk by chunk: what every encoder receives. */
function streamLimited(seq: NoteSequence, synthOptions: SynthOptions, opts: RenderAudioSettings): LimitedStream {
  const estimatedRawPeak = estimateRawPeak(seq);
  const gain = gainFromNotes(seq, { targetPeakDbfs: opts.targetPeakDbfs });
  const limiter = new PeakLimiter({ sampleRateHz: synthOptions.sampleRateHz ?? DEFAULT_SAMPLE_RATE_HZ, ceilingDbfs: opts.targetPeakDbfs });
  function* chunks(): Generator<Float32Array, void, void> {
    for (const chunk of synthesizeChunks(seq, synthOptions)) yield limiter.process(chunk.left, chunk.right, gain);
    yield limiter.finish();
  }
  return { chunks: chunks(), gain, estimatedRawPeak, limiter };
}

export interface NormalizedPcm {
  left: Float32Array;
  right: Float32Array;
  sampleRateHz: number;
  gain: number;
  /** Raw synth peak predicted from the notes. */
  estimatedRawPeak: number;
  limiterMinGain: number;
}

/**
 * The same audio {@link renderPiece} encodes (gain and limiter applied), in memory, for analysis
 * and tests. Holds the whole piece: 10 min ≈ 210 MB at 44.1 kHz, so keep it for short pieces.
 * @throws the same errors as {@link renderPiece} except FFMPEG_FAILED.
 */
export async function renderNormalizedPcm(seq: NoteSequence, opts: RenderAudioSettings = {}): Promise<NormalizedPcm> {
  const synthOptions = prepareSynth(seq, opts);
  const total = renderedFrameCount(seq, synthOptions);
  const left = new Float32Array(total);
  const right = new Float32Array(total);
  const stream = streamLimited(seq, synthOptions, opts);
  let offset = 0;
  let chunkCount = 0;
  for (const interleaved of stream.chunks) {
    for (let i = 0; i < interleaved.length; i += 2) {
      left[offset] = interleaved[i]!;
      right[offset++] = interleaved[i + 1]!;
    }
    if (++chunkCount % YIELD_EVERY_CHUNKS === 0) {
      await yieldToEventLoop();
      throwIfAborted(opts.signal);
    }
  }
  return {
    left,
    right,
    sampleRateHz: synthOptions.sampleRateHz ?? DEFAULT_SAMPLE_RATE_HZ,
    gain: stream.gain,
    estimatedRawPeak: stream.estimatedRawPeak,
    limiterMinGain: stream.limiter.minGain,
  };
}

function prepareSynth(seq: NoteSequence, opts: RenderAudioSettings): SynthOptions {
  const maxSeconds = opts.maxDurationSeconds ?? DEFAULT_MAX_RENDER_SECONDS;
  const pieceSeconds = durationSeconds(seq);
  if (!Number.isFinite(pieceSeconds) || pieceSeconds > maxSeconds) {
    throw new MotifError(
      'MIDI_LIMIT_EXCEEDED',
      `This piece is too long to render (${formatDuration(pieceSeconds)}; the limit is ${formatDuration(maxSeconds)}).`,
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
