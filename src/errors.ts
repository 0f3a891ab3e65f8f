/**
 * Expected problems carry a stable code and a message written for the person who caused them
 * (a Discord user or a CLI user). Anything that is not a MotifError is a bug: it is logged with an
 * incident id and the user only sees that id.
 */
export type ErrorCode =
  // input files
  | 'MIDI_INVALID'
  | 'MIDI_TOO_LARGE'
  | 'MIDI_LIMIT_EXCEEDED'
  | 'MIDI_EMPTY'
  | 'AUDIO_INVALID'
  | 'AUDIO_TOO_LARGE'
  | 'AUDIO_TOO_LONG'
  | 'AUDIO_SILENT'
  | 'AUDIO_DECODE_TIMEOUT'
  | 'FILE_TYPE_UNSUPPORTED'
  | 'DOWNLOAD_FAILED'
  // rendering / tools
  | 'SOUNDFONT_NOT_FOUND'
  | 'SOUNDFONT_INVALID'
  | 'FFMPEG_FAILED'
  // model
  | 'MODEL_NOT_FOUND'
  | 'MODEL_CORRUPT'
  | 'MODEL_MISMATCH'
  | 'SEED_OUT_OF_VOCABULARY'
  | 'DATA_EMPTY'
  | 'TRAINING_FAILED'
  // options and usage
  | 'OPTION_OUT_OF_RANGE'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'RIGHTS_NOT_CONFIRMED'
  | 'RATE_LIMITED'
  // bot
  | 'PERMISSION_DENIED'
  | 'QUEUE_FULL'
  | 'QUEUE_UNAVAILABLE'
  | 'JOB_CANCELLED'
  | 'JOB_FAILED'
  | 'BOT_RESTARTED'
  | 'JOB_HANDED_OVER'
  | 'NOT_IN_VOICE'
  | 'VOICE_UNAVAILABLE'
  | 'CHANNEL_NOT_ALLOWED'
  | 'RESULT_NOT_DELIVERED'
  | 'CONFIG_INVALID'
  // storage
  | 'STORAGE_CORRUPT'
  | 'STORAGE_MISSING'
  | 'STORAGE_UNAVAILABLE'
  | 'DISK_FULL';

export class MotifError extends Error {
  readonly code: ErrorCode;
  /** Safe to show to an end user verbatim: plain words, no stack, no paths. */
  readonly userMessage: string;

  constructor(code: ErrorCode, userMessage: string, options?: { cause?: unknown; detail?: string }) {
    super(options?.detail ? `${userMessage} (${options.detail})` : userMessage, { cause: options?.cause });
    this.name = 'MotifError';
    this.code = code;
    this.userMessage = userMessage;
  }
}

export function isMotifError(error: unknown): error is MotifError {
  return error instanceof MotifError;
}

/** Throws OPTION_OUT_OF_RANGE unless min ≤ value ≤ max (and value is finite). */
export function assertInRange(name: string, value: number, min: number, max: number, opts: { integer?: boolean } = {}): void {
  const ok = Number.isFinite(value) && value >= min && value <= max && (!opts.integer || Number.isInteger(value));
  if (!ok) {
    const kind = opts.integer ? 'a whole number' : 'a number';
    throw new MotifError('OPTION_OUT_OF_RANGE', `\`${name}\` must be ${kind} from ${min} to ${max} (got ${String(value)}).`);
  }
}
