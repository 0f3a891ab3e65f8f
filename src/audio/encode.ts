/**
 * Streaming PCM → MP3 / Ogg-Opus encoders (fluent-ffmpeg), writing to a temp file that is only
 * renamed into place on {@link PcmEncoder.commit}: a failed or aborted render leaves nothing behind.
 *
 * Each format gets its own ffmpeg process, so MP3 and Opus encode in parallel on two cores.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { MotifError } from '../errors.js';
import { ffmpegFailed, resolveFfmpegPath } from './ffmpeg.js';

export type AudioFormat = 'mp3' | 'ogg-opus';

/** MP3 for attachments: 192 kb/s CBR, 44.1 kHz stereo. */
export const MP3_BITRATE_KBPS = 192;
/**
 * LAME's own default quality (-q 5). ffmpeg's default (-q 3) costs 1.5× the CPU for no audible
 * gain at 192 kb/s, and MP3 encoding is the slowest stage of a render.
 */
const MP3_LAME_QUALITY = 5;
/**
 * Ogg/Opus for Discord voice: 48 kHz (Opus's native rate), stereo, 20 ms frames (what Discord
 * sends per packet), ~96 kb/s: `@discordjs/voice` can then demux it without re-encoding.
 */
export const OPUS_BITRATE_KBPS = 96;
export const OPUS_SAMPLE_RATE_HZ = 48_000;
export const OPUS_FRAME_MS = 20;

export interface EncoderOptions {
  format: AudioFormat;
  /** Final output path; written atomically on commit. */
  outPath: string;
  /** Rate of the float32 stereo PCM that will be written (Hz). */
  inputSampleRateHz: number;
  /** ffmpeg binary (default: the bundled one). */
  ffmpegPath?: string;
}

/** A running ffmpeg that accepts interleaved stereo float32 PCM. */
export interface PcmEncoder {
  readonly format: AudioFormat;
  readonly outPath: string;
  /**
   * Queues interleaved stereo samples (L R L R …, nominally −1…1). Resolves once ffmpeg has room
   * for more (backpressure). The array must not be modified afterwards.
   * @throws MotifError FFMPEG_FAILED if ffmpeg has died.
   */
  write(interleaved: Float32Array): Promise<void>;
  /** Ends the input and waits for ffmpeg to finish writing the temp file. @throws MotifError FFMPEG_FAILED */
  finish(): Promise<void>;
  /** Renames the finished temp file to `outPath`. @throws MotifError FFMPEG_FAILED */
  commit(): Promise<void>;
  /** Stops ffmpeg (if running) and deletes the temp file. Safe to call more than once. */
  discard(): Promise<void>;
}

/** Starts an encoder; ffmpeg runs until {@link PcmEncoder.finish} or {@link PcmEncoder.discard}. */
export function startEncoder(opts: EncoderOptions): PcmEncoder {
  return new FfmpegEncoder(opts);
}

class FfmpegEncoder implements PcmEncoder {
  readonly format: AudioFormat;
  readonly outPath: string;
  private readonly tempPath: string;
  private readonly input = new PassThrough({ highWaterMark: 1 << 20 });
  private readonly command: ffmpeg.FfmpegCommand;
  private readonly done: Promise<void>;
  private failure: MotifError | undefined;
  private running = true;
  private spawned = false;
  private discarded = false;
  private onFailure: ((error: MotifError) => void) | undefined;

  constructor(opts: EncoderOptions) {
    this.format = opts.format;
    this.outPath = opts.outPath;
    // Same directory as the target so the final rename is atomic (no cross-device move).
    this.tempPath = join(dirname(opts.outPath), `.${basename(opts.outPath)}.${randomBytes(4).toString('hex')}.tmp`);
    const what = opts.format === 'mp3' ? 'encoding the MP3' : 'encoding the voice (Opus) audio';
    this.command = ffmpeg()
      .setFfmpegPath(resolveFfmpegPath(opts.ffmpegPath))
      .input(this.input)
      .inputFormat('f32le')
      .inputOptions(['-ar', String(opts.inputSampleRateHz), '-ac', '2'])
      .output(this.tempPath)
      .outputOptions(['-map_metadata', '-1', ...outputArgs(opts.format, opts.inputSampleRateHz)]);
    this.done = new Promise<void>((resolve, reject) => {
      this.command.on('start', () => {
        this.spawned = true;
        // discard() before the spawn could not kill anything yet: do it now.
        if (this.discarded) this.command.kill('SIGKILL');
      });
      this.command.on('end', () => {
        this.running = false;
        resolve();
      });
      this.command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
        this.running = false;
        this.failure ??= ffmpegFailed(what, error, stderr ?? undefined);
        this.input.destroy();
        this.onFailure?.(this.failure);
        reject(this.failure);
      });
    });
    // Failures are reported through write()/finish(); this only prevents an unhandled rejection.
    this.done.catch(() => undefined);
    // ffmpeg closing its stdin early is reported by the 'error' event above.
    this.input.on('error', () => undefined);
    this.command.run();
  }

  async write(interleaved: Float32Array): Promise<void> {
    if (this.failure) throw this.failure;
    const bytes = Buffer.from(interleaved.buffer, interleaved.byteOffset, interleaved.byteLength);
    if (this.input.write(bytes)) return;
    await new Promise<void>((resolve, reject) => {
      this.onFailure = reject;
      this.input.once('drain', () => {
        this.onFailure = undefined;
        resolve();
      });
    });
  }

  async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    this.input.end();
    await this.done;
  }

  async commit(): Promise<void> {
    try {
      await rename(this.tempPath, this.outPath);
    } catch (error) {
      await this.discard();
      throw new MotifError('FFMPEG_FAILED', 'The rendered audio could not be saved.', { cause: error, detail: this.outPath });
    }
  }

  async discard(): Promise<void> {
    this.discarded = true;
    if (this.running) {
      this.failure ??= new MotifError('JOB_CANCELLED', 'The render was stopped.');
      this.input.destroy();
      if (this.spawned) this.command.kill('SIGKILL');
      await this.done.catch(() => undefined);
    }
    await rm(this.tempPath, { force: true });
  }
}

function outputArgs(format: AudioFormat, inputRateHz: number): string[] {
  if (format === 'mp3') {
    return [
      '-c:a', 'libmp3lame',
      '-b:a', `${MP3_BITRATE_KBPS}k`,
      '-compression_level', String(MP3_LAME_QUALITY),
      '-ar', String(inputRateHz),
      '-ac', '2',
      '-f', 'mp3',
    ];
  }
  return [
    '-c:a', 'libopus',
    '-b:a', `${OPUS_BITRATE_KBPS}k`,
    '-vbr', 'on',
    '-application', 'audio',
    '-frame_duration', String(OPUS_FRAME_MS),
    '-ar', String(OPUS_SAMPLE_RATE_HZ),
    '-ac', '2',
    '-f', 'ogg',
  ];
}
