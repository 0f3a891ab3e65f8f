/**
 * Limits that keep MIDI reading bounded in time and memory, whatever bytes a user uploads.
 * Every limit is checked before the full parse (see midi-smf-scan.ts), so a hostile file is refused
 * after one linear pass over its bytes.
 */
import { MotifError } from '../errors.js';

/**
 * The longest piece anything accepts: reading a MIDI file, a /compose seed plus its continuation,
 * and rendering audio all check against this one number, so nothing accepted at the door is
 * refused after minutes of work further on.
 */
export const MAX_PIECE_SECONDS = 30 * 60;
/**
 * Most notes in a /compose seed. The LSTM reads every seed token before it samples (up to three
 * attempts), ~3 tokens per note at ~5,000 tokens/s: 20,000 notes is ~12 s per attempt already.
 */
export const MAX_SEED_NOTES = 20_000;

export interface MidiLimits {
  /** Largest accepted file, in bytes. */
  maxBytes: number;
  /** Most MTrk chunks in the file, and most tracks after splitting by channel/program. */
  maxTracks: number;
  /** Most note-on events (velocity > 0) over all tracks. */
  maxNotes: number;
  /** Longest accepted playing time (up to the last event), in seconds. */
  maxDurationSeconds: number;
  /** Slowest accepted tempo, quarter notes per minute. MIDI itself cannot go below ~3.58. */
  minTempoQpm: number;
  /** Fastest accepted tempo, quarter notes per minute. */
  maxTempoQpm: number;
  /**
   * Most events of any kind (notes, controllers, meta, SysEx, stray system bytes) over the whole
   * file: part of the work budget, so a file of millions of tiny events is refused in one pass.
   */
  maxEvents: number;
  /**
   * Bytes the reader may walk over the whole file (RIFF wrapper, chunks and events together).
   * Every loop of the reader charges what it advanced, so a bug that stopped a loop from advancing
   * ends in MIDI_LIMIT_EXCEEDED instead of a hang. Default: 2 × maxBytes + 64 KB, which a correct
   * reader never reaches (it reads each byte at most twice: once unwrapping RMID, once scanning).
   */
  maxScanBytes: number;
}

export const DEFAULT_MIDI_LIMITS: Readonly<MidiLimits> = Object.freeze({
  maxBytes: 8 * 1024 * 1024,
  maxTracks: 256,
  maxNotes: 200_000,
  maxDurationSeconds: MAX_PIECE_SECONDS,
  minTempoQpm: 4,
  maxTempoQpm: 1500,
  // An 8 MB file of 4-byte events (delta + running-status controller) holds ~2.1 million.
  maxEvents: 2_500_000,
  maxScanBytes: scanBudgetFor(8 * 1024 * 1024),
});

/** The byte budget that goes with a size limit (see MidiLimits.maxScanBytes). */
export function scanBudgetFor(maxBytes: number): number {
  return 2 * maxBytes + 64 * 1024;
}

/**
 * Fills in defaults and checks the caller's overrides.
 * @throws MotifError OPTION_OUT_OF_RANGE for non-positive or non-finite limits.
 */
export function resolveMidiLimits(overrides: Partial<MidiLimits> = {}): MidiLimits {
  const maxBytes = overrides.maxBytes ?? DEFAULT_MIDI_LIMITS.maxBytes;
  // A raised size limit raises the byte budget with it, unless the caller sets the budget itself.
  const limits: MidiLimits = { ...DEFAULT_MIDI_LIMITS, maxScanBytes: scanBudgetFor(maxBytes), ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new MotifError('OPTION_OUT_OF_RANGE', `The MIDI limit \`${name}\` must be a positive number (got ${String(value)}).`);
    }
  }
  if (limits.minTempoQpm > limits.maxTempoQpm) {
    throw new MotifError('OPTION_OUT_OF_RANGE', 'The MIDI limit `minTempoQpm` must not be above `maxTempoQpm`.');
  }
  return limits;
}

/** "8 MB", "512 KB", "300 bytes" — sizes as a Discord user reads them. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${trimNumber(bytes / (1024 * 1024))} MB`;
  if (bytes >= 1024) return `${trimNumber(bytes / 1024)} KB`;
  return `${bytes} byte${bytes === 1 ? '' : 's'}`;
}

/** "10 hours", "2 hours 5 minutes", "45 seconds". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'forever';
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const parts: string[] = [];
  if (hours > 0) parts.push(plural(hours, 'hour'));
  if (minutes > 0) parts.push(plural(minutes, 'minute'));
  if (hours === 0 && (secs > 0 || parts.length === 0)) parts.push(plural(secs, 'second'));
  return parts.join(' ');
}

function plural(n: number, unit: string): string {
  return `${n.toLocaleString('en-US')} ${unit}${n === 1 ? '' : 's'}`;
}

function trimNumber(value: number): string {
  return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}
