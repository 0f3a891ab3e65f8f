/**
 * What a /compose request will cost, and whether it can succeed, decided from the request alone
 * before any work starts: the seed's length and note count against the piece limit
 * (MAX_PIECE_SECONDS, shared with MIDI reading and rendering) and the seed limit (MAX_SEED_NOTES),
 * the audio format that fits the attachment limit, and the job's weight for the queue.
 */
import { chooseAttachmentEncoding, longestAttachableSeconds, type AudioEncoding } from '../audio/encode.js';
import { DEFAULT_TAIL_SECONDS } from '../audio/synth.js';
import { MotifError } from '../errors.js';
import { MAX_PIECE_SECONDS, MAX_SEED_NOTES, formatBytes, formatDuration } from '../music/midi-limits.js';
import { durationSeconds, type NoteSequence } from '../music/note-sequence.js';

/**
 * Typical seconds per generated note-or-chord at 120 qpm with the shipped model (100 events ≈
 * 36 s). Used only for estimates; the exact length is known after sampling.
 */
const SECONDS_PER_EVENT_AT_120_QPM = 0.36;

export interface ComposeEstimate {
  seedNotes: number;
  seedSeconds: number;
  /** Seed plus the expected continuation, seconds. */
  pieceSeconds: number;
  /** Expected worker time, seconds on this project's 2-core machine (for queue weighting only). */
  workSeconds: number;
}

/**
 * Refuses a request that cannot fit the limits, before the model is loaded or a token sampled.
 * @throws MotifError MIDI_LIMIT_EXCEEDED naming what is too long and by how much.
 */
export function checkComposeRequest(req: { seed?: NoteSequence; length: number; qpm?: number }): ComposeEstimate {
  const estimate = estimateCompose(req);
  if (estimate.seedNotes > MAX_SEED_NOTES) {
    throw new MotifError(
      'MIDI_LIMIT_EXCEEDED',
      `This seed has ${estimate.seedNotes.toLocaleString('en-US')} notes; /compose continues seeds of up to ${MAX_SEED_NOTES.toLocaleString('en-US')} notes. Send a shorter excerpt.`,
    );
  }
  if (!Number.isFinite(estimate.seedSeconds) || estimate.seedSeconds > MAX_PIECE_SECONDS) {
    throw new MotifError(
      'MIDI_LIMIT_EXCEEDED',
      `This seed lasts ${formatDuration(estimate.seedSeconds)}; a piece (seed and continuation) can last at most ${formatDuration(MAX_PIECE_SECONDS)}. Send a shorter excerpt.`,
    );
  }
  if (estimate.pieceSeconds > MAX_PIECE_SECONDS) {
    throw new MotifError(
      'MIDI_LIMIT_EXCEEDED',
      `This seed (${formatDuration(estimate.seedSeconds)}) and ${req.length} more notes-or-chords would last about ${formatDuration(estimate.pieceSeconds)}; the limit is ${formatDuration(MAX_PIECE_SECONDS)}. Ask for a shorter length or send a shorter seed.`,
    );
  }
  return estimate;
}

/**
 * The smallest a note can be in a MIDI file (a running-status note-on and note-off with one-byte
 * deltas): an unread upload of N bytes holds at most N / 6 notes.
 */
const MIN_BYTES_PER_NOTE = 6;

/**
 * The estimate without the checks (for queue weighting of any request). An uploaded seed not read
 * yet (`seedBytes`) is weighed as the most notes its size allows, up to the seed limit, so a heavy
 * upload waits behind light requests from its first job, not only after it has run.
 */
export function estimateCompose(req: { seed?: NoteSequence; seedBytes?: number; length: number; qpm?: number }): ComposeEstimate {
  const unreadNotes = req.seed || !req.seedBytes ? 0 : Math.min(MAX_SEED_NOTES, Math.floor(req.seedBytes / MIN_BYTES_PER_NOTE));
  const seedNotes = req.seed?.notes.length ?? unreadNotes;
  const seedSeconds = req.seed ? durationSeconds(req.seed) : Math.min(MAX_PIECE_SECONDS, unreadNotes * SECONDS_PER_EVENT_AT_120_QPM);
  const qpm = req.qpm ?? (req.seed?.tempos[0]?.qpm ?? 120);
  const continuationSeconds = req.length * SECONDS_PER_EVENT_AT_120_QPM * (120 / Math.max(1, qpm));
  const pieceSeconds = seedSeconds + continuationSeconds;
  // Measured shape: sampling ~1 ms per event plus ~0.6 ms per seed note per attempt, audio ~1/40
  // of its length (synthesis and MP3 together), and ~0.3 s fixed.
  const workSeconds = 0.3 + req.length * 0.001 + seedNotes * 0.0006 + pieceSeconds / 40;
  return { seedNotes, seedSeconds, pieceSeconds, workSeconds };
}

export type AttachmentAudioPlan = { encoding: AudioEncoding } | { encoding: undefined; reason: string };

/**
 * The attachment audio for a piece of `pieceSeconds` under an upload limit of `maxBytes`: the best
 * format and bitrate that fit, or why there is none (said to the user; MIDI and piano roll are
 * posted anyway).
 */
export function planAttachmentAudio(pieceSeconds: number, maxBytes: number): AttachmentAudioPlan {
  const audioSeconds = pieceSeconds + DEFAULT_TAIL_SECONDS;
  const encoding = chooseAttachmentEncoding(audioSeconds, maxBytes);
  if (encoding) return { encoding };
  return {
    encoding: undefined,
    reason: `No audio: at ${formatDuration(audioSeconds)} it would not fit this server's ${formatBytes(maxBytes)} upload limit even compressed (up to about ${formatDuration(longestAttachableSeconds(maxBytes))} fits). Here are the MIDI and the piano roll.`,
  };
}
