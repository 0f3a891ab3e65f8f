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

/** MP3 for attachments when it fits: 192 kb/s CBR, 32 kHz stereo (see MP3_SAMPLE_RATE_HZ). */
export const MP3_BITRATE_KBPS = 192;
/**
 * LAME -q 7 (`-compression_level 7`): psychoacoustic model on, noise shaping off. Measured on a
 * 42 s composed piece with the bundled 2018 ffmpeg (CPU seconds, 2 runs; SNR of the decoded file
 * against the PCM; level of the 10–15 kHz band, source −60.9 dB):
 *
 * | kb/s | -q | CPU s     | SNR dB | 10–15 kHz dB |
 * | 192  | 5  | 1.44/1.42 | 29.7   | −61.2 |
 * | 192  | 7  | 1.04/0.97 | 30.0   | −61.2 |
 * | 160  | 7  | 0.94/0.99 | 25.7   | −61.4 |
 * | 128  | 5  | 1.53/1.63 | 23.9   | −61.3 |
 * | 128  | 7  | 0.98/1.04 | 25.2   | −61.4 |
 * | 128  | 9  | 0.93/1.00 | 25.2   | −61.4 |
 * | 96   | 7  | 1.00/0.92 | 23.9   | −61.4 |
 *
 * (the machine was loaded, so CPU times are ~1.8× an idle run; the ratios hold). -q 7 costs
 * 30% less CPU than -q 5 at no loss of SNR or high band; -q 9 drops the psychoacoustic model for
 * another 5%, not worth it. The bitrate barely changes the CPU, so 192 kb/s stays the default and
 * lower rates are only for fitting Discord's attachment limit ({@link chooseAttachmentEncoding}).
 * The source has nothing above 15 kHz (−85 dB), so LAME's lowpass at lower rates removes nothing.
 */
export const MP3_LAME_QUALITY = 7;
/**
 * MP3s are written at 32 kHz (ffmpeg resamples the 44.1 kHz synthesis). The rendered music has
 * nothing above 15 kHz (−85 dB RMS with the bundled font), which 32 kHz keeps (Nyquist 16 kHz):
 * same SNR (30.1 vs 30.0 dB) and the same 10–15 kHz band (−61.16 vs −61.17 dB), for 25% less
 * encoder CPU (0.79 vs 1.06 s on the piece above). Synthesizing at 32 kHz directly would save
 * synthesis time too, but spessasynth then rolls off the top octave audibly (−3.5 dB at 8–12 kHz).
 */
export const MP3_SAMPLE_RATE_HZ = 32_000;
/**
 * Ogg/Opus for Discord voice: 48 kHz (Opus's native rate), stereo, 20 ms frames (what Discord
 * sends per packet), ~96 kb/s: `@discordjs/voice` can then demux it without re-encoding.
 */
export const OPUS_BITRATE_KBPS = 96;
export const OPUS_SAMPLE_RATE_HZ = 48_000;
export const OPUS_FRAME_MS = 20;

/** An attachment's audio format and bitrate. */
export interface AudioEncoding {
  format: AudioFormat;
  bitrateKbps: number;
}

/**
 * What /compose tries, best first, until the predicted file fits the attachment limit: MP3
 * (plays everywhere) down to 96 kb/s, then Opus, which at 32–64 kb/s still sounds like music
 * where MP3 would not (Discord plays .ogg attachments inline too). At 10 MiB: MP3 192 fits
 * 7 min, MP3 96 14 min, Opus 32 ~40 min.
 */
export const ATTACHMENT_LADDER: readonly AudioEncoding[] = Object.freeze([
  { format: 'mp3', bitrateKbps: 192 },
  { format: 'mp3', bitrateKbps: 160 },
  { format: 'mp3', bitrateKbps: 128 },
  { format: 'mp3', bitrateKbps: 96 },
  { format: 'ogg-opus', bitrateKbps: 64 },
  { format: 'ogg-opus', bitrateKbps: 48 },
  { format: 'ogg-opus', bitrateKbps: 32 },
] as const);

/** File extension (without dot) for a format. */
export function audioExtension(format: AudioFormat): 'mp3' | 'ogg' {
  return format === 'mp3' ? 'mp3' : 'ogg';
}

/**
 * An upper bound on the file size: CBR payload plus 3% (MP3 frame padding, Ogg page headers) and
 * 16 KB of headers. The encoders run at constant bitrate for attachments so this holds.
 */
export function predictedAudioBytes(encoding: AudioEncoding, durationSeconds: number): number {
  return Math.ceil(((encoding.bitrateKbps * 1000) / 8) * durationSeconds * 1.03 + 16 * 1024);
}

/**
 * The best rung of {@link ATTACHMENT_LADDER} whose predicted size fits `maxBytes`, or undefined
 * when even the smallest does not (the piece is too long for this server's upload limit).
 */
export function chooseAttachmentEncoding(durationSeconds: number, maxBytes: number): AudioEncoding | undefined {
  return ATTACHMENT_LADDER.find((e) => predictedAudioBytes(e, durationSeconds) <= maxBytes);
}

/** The longest audio (seconds) the smallest rung can fit in `maxBytes`. */
export function longestAttachableSeconds(maxBytes: number): number {
  const smallest = ATTACHMENT_LADDER[ATTACHMENT_LADDER.length - 1]!;
  return Math.max(0, (maxBytes - 16 * 1024) / 1.03 / ((smallest.bitrateKbps * 1000) / 8));
}

export interface EncoderOptions {
  format: AudioFormat;
  /** Final output path; written atomically on commit. */
  outPath: string;
  /** Rate of the float32 stereo PCM that will be written (Hz). */
  inputSampleRateHz: number;
  /** ffmpeg binary (default: the bundled one). */
  ffmpegPath?: string;
  /** Default: 192 kb/s for MP3, 96 kb/s for Opus. */
  bitrateKbps?: number;
  /**
   * Constant bitrate (predictable size, for attachments). MP3 is always CBR; Opus defaults to VBR
   * (better quality per byte, for voice files whose size does not matter).
   */
  constantBitrate?: boolean;
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
      .outputOptions(['-map_metadata', '-1', ...outputArgs(opts)]);
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

function outputArgs(opts: EncoderOptions): string[] {
  if (opts.format === 'mp3') {
    return [
      '-c:a', 'libmp3lame',
      '-b:a', `${opts.bitrateKbps ?? MP3_BITRATE_KBPS}k`,
      '-compression_level', String(MP3_LAME_QUALITY),
      '-ar', String(MP3_SAMPLE_RATE_HZ),
      '-ac', '2',
      '-f', 'mp3',
    ];
  }
  return [
    '-c:a', 'libopus',
    '-b:a', `${opts.bitrateKbps ?? OPUS_BITRATE_KBPS}k`,
    '-vbr', opts.constantBitrate ? 'off' : 'on',
    '-application', 'audio',
    '-frame_duration', String(OPUS_FRAME_MS),
    '-ar', String(OPUS_SAMPLE_RATE_HZ),
    '-ac', '2',
    '-f', 'ogg',
  ];
}
