/**
 * Any audio file ffmpeg can read (mp3, wav, ogg, flac, …) → mono Float32 PCM at a fixed rate.
 *
 * Decoding streams through ffmpeg's stdout, so memory is bounded by the duration limit
 * (10 min at 22,050 Hz ≈ 53 MB), and a 10-hour file is cut off as soon as it passes the limit.
 *
 * The input is an untrusted upload, so ffmpeg runs fenced in: the file is refused above a size
 * limit before ffmpeg starts; only the audio container formats we accept are probed
 * (`-format_whitelist`, so no playlist/concat demuxer can pull in other files) over the `file` and
 * `pipe` protocols only; output stops one second past the duration limit; and a wall-clock limit
 * kills ffmpeg when a crafted file makes it churn.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { MotifError } from '../errors.js';
import { ffmpegFailed, resolveFfmpegPath } from './ffmpeg.js';

export const DEFAULT_MAX_AUDIO_SECONDS = 600;
export const DEFAULT_MAX_AUDIO_BYTES = 25 * 1024 * 1024;
export const DEFAULT_DECODE_SAMPLE_RATE_HZ = 22_050;
/** ffmpeg decodes a 10-minute mp3 in a few seconds here; a minute means something is wrong. */
export const DEFAULT_MAX_DECODE_MS = 60_000;
/** ffmpeg demuxers for the upload types we accept: mp3, wav, ogg (Vorbis/Opus), flac. */
const ACCEPTED_FORMATS = 'mp3,wav,ogg,flac';

export interface DecodeOptions {
  /** ffmpeg binary; default: the one bundled with @ffmpeg-installer/ffmpeg. */
  ffmpegPath?: string;
  /** Longest accepted audio, seconds (default 600). */
  maxDurationSeconds?: number;
  /** Largest accepted input file, bytes (default 25 MB). */
  maxBytes?: number;
  /** Output rate (default 22,050 Hz, what Basic Pitch expects). */
  sampleRateHz?: number;
  /** Wall-clock limit for ffmpeg, ms (default 60,000); past it ffmpeg is killed. */
  maxDecodeMs?: number;
  signal?: AbortSignal;
}

export interface DecodedAudio {
  /** Mono samples, nominally −1…1. */
  samples: Float32Array;
  sampleRateHz: number;
  durationSeconds: number;
}

/**
 * Decodes a file (path) or in-memory bytes to mono PCM.
 * @throws MotifError AUDIO_TOO_LARGE (input over `maxBytes`), AUDIO_TOO_LONG (over
 *   `maxDurationSeconds`), AUDIO_INVALID (ffmpeg cannot decode it, or it holds no samples),
 *   AUDIO_DECODE_TIMEOUT (ffmpeg ran past `maxDecodeMs`), FFMPEG_FAILED (ffmpeg missing or not
 *   startable), JOB_CANCELLED (signal aborted).
 */
export async function decodeAudio(input: string | Uint8Array, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_AUDIO_BYTES;
  const maxSeconds = opts.maxDurationSeconds ?? DEFAULT_MAX_AUDIO_SECONDS;
  const sampleRateHz = opts.sampleRateHz ?? DEFAULT_DECODE_SAMPLE_RATE_HZ;
  const byteLength = typeof input === 'string' ? await fileSize(input) : input.byteLength;
  if (byteLength > maxBytes) {
    throw new MotifError('AUDIO_TOO_LARGE', `That audio file is too large (limit ${formatMegabytes(maxBytes)}).`, {
      detail: `${byteLength} bytes`,
    });
  }
  if (byteLength === 0) throw invalidAudio('empty file');
  const ffmpegPath = resolveFfmpegPath(opts.ffmpegPath);
  const maxSamples = Math.floor(maxSeconds * sampleRateHz);

  const args = [
    '-hide_banner',
    '-v', 'error',
    '-protocol_whitelist', 'file,pipe',
    '-format_whitelist', ACCEPTED_FORMATS,
    ...(typeof input === 'string' ? ['-nostdin', '-i', input] : ['-i', 'pipe:0']),
    '-map', '0:a:0',
    '-ac', '1',
    '-ar', String(sampleRateHz),
    // One second past the limit is enough to tell "too long" apart from "exactly at the limit".
    '-t', String(maxSeconds + 1),
    '-f', 'f32le',
    'pipe:1',
  ];
  const { pcm, tooLong } = await runFfmpeg(ffmpegPath, args, typeof input === 'string' ? undefined : input, {
    // 50 ms of slack: resampling can add a few samples to audio that is exactly at the limit.
    maxOutputBytes: (maxSamples + Math.ceil(sampleRateHz * 0.05)) * 4,
    signal: opts.signal,
    maxDecodeMs: opts.maxDecodeMs ?? DEFAULT_MAX_DECODE_MS,
  });
  if (tooLong) {
    throw new MotifError('AUDIO_TOO_LONG', `That audio is too long (limit ${formatMinutes(maxSeconds)}).`);
  }
  const sampleCount = Math.floor(pcm.byteLength / 4);
  if (sampleCount === 0) throw invalidAudio('no samples');
  // Copy into an aligned buffer: Buffer.concat's pool offset need not be a multiple of 4.
  const samples = new Float32Array(sampleCount);
  new Uint8Array(samples.buffer).set(pcm.subarray(0, sampleCount * 4));
  return { samples, sampleRateHz, durationSeconds: sampleCount / sampleRateHz };
}

interface FfmpegRun {
  pcm: Buffer;
  tooLong: boolean;
}

function runFfmpeg(
  ffmpegPath: string,
  args: string[],
  stdin: Uint8Array | undefined,
  limits: { maxOutputBytes: number; signal: AbortSignal | undefined; maxDecodeMs: number },
): Promise<FfmpegRun> {
  return new Promise<FfmpegRun>((resolve, reject) => {
    if (limits.signal?.aborted) {
      reject(new MotifError('JOB_CANCELLED', 'The transcription was cancelled.'));
      return;
    }
    const child = spawn(ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let outputBytes = 0;
    let tooLong = false;
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const seconds = Math.round(limits.maxDecodeMs / 100) / 10;
      finish(() => reject(new MotifError('AUDIO_DECODE_TIMEOUT', `Decoding that audio file took longer than ${seconds} s, so it was stopped.`)));
    }, limits.maxDecodeMs);
    const onAbort = (): void => {
      child.kill('SIGKILL');
      finish(() => reject(new MotifError('JOB_CANCELLED', 'The transcription was cancelled.')));
    };
    limits.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      if (tooLong) return;
      outputBytes += chunk.byteLength;
      chunks.push(chunk);
      if (outputBytes > limits.maxOutputBytes) {
        tooLong = true;
        chunks.length = 0;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      // Keep only the tail: the last lines say why decoding failed.
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.on('error', (error) => {
      finish(() =>
        reject(ffmpegFailed('decoding audio', error, stderr)),
      );
    });
    child.on('close', (code) => {
      finish(() => {
        if (tooLong) resolve({ pcm: Buffer.alloc(0), tooLong: true });
        else if (code === 0) resolve({ pcm: Buffer.concat(chunks), tooLong: false });
        else reject(invalidAudio(stderr.trim().split('\n').slice(-3).join(' | ') || `ffmpeg exit code ${String(code)}`));
      });
    });
    // ffmpeg may stop reading early (bad header, limit reached): that is not an error here.
    child.stdin.on('error', () => undefined);
    if (stdin) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

function invalidAudio(detail: string): MotifError {
  return new MotifError('AUDIO_INVALID', 'ffmpeg could not decode this file as audio.', { detail });
}

async function fileSize(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    return info.size;
  } catch (error) {
    throw new MotifError('NOT_FOUND', 'That audio file could not be found.', { cause: error, detail: path });
  }
}

function formatMegabytes(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}

function formatMinutes(seconds: number): string {
  if (seconds >= 60) return `${Math.round((seconds / 60) * 10) / 10} minutes`;
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}
