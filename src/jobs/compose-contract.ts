/**
 * The contract between the front ends (CLI, Discord commands) and the compose pipeline
 * (sample → MIDI → render → mp3 + piano roll). Plain data only: it crosses worker-thread boundaries.
 */
import type { NoteSequence } from '../music/note-sequence.js';
import type { JobBlobSettings } from './job-blobs.js';

export interface ComposeRequest {
  /** Notes-or-chords to generate (1–2000). */
  length: number;
  /** Softmax temperature, > 0 (default 1). */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1] (default 1 = off). */
  topP?: number;
  /** General MIDI program 0–127 for the generated part. */
  program?: number;
  /** Tempo of the result in quarter notes per minute. */
  qpm?: number;
  /** A piece to continue: the result is this seed followed by `length` new events. */
  seed?: NoteSequence;
  /**
   * An uploaded MIDI file to continue instead of `seed`: read and checked inside the job (a worker
   * thread), so untrusted bytes are never parsed where the Discord gateway runs.
   */
  seedMidiPath?: string;
  /** Restrict pitches to a key, e.g. "C major", "A minor". */
  key?: string;
  /**
   * The model: a bundled model folder (default models/default) or a guild model version's blob
   * prefix `guilds/<g>/models/<version>/` (fetched from the store `blobs` names, then cached).
   */
  modelDir?: string;
  /** The style composed in (see styles.ts), carried into the result for captions and buttons. */
  style?: string;
  /** SoundFont name from soundfonts/ or the bundled default. */
  soundfont?: string;
  /** Deterministic sampling when set. */
  randomSeed?: number;
  /** Folder to write into; files are written atomically. */
  outDir: string;
  /** Base file name without extension. */
  baseName?: string;
  /** Also write Ogg/Opus for voice playback (the bot renders it on first play instead). */
  withOpus?: boolean;
  /**
   * Largest the audio attachment may be, bytes (Discord's `attachment_size_limit` for the
   * interaction). The format and bitrate are chosen to fit; when nothing fits there is no audio
   * and `audioSkipped` says why. Unset: no limit, MP3 192 kb/s.
   */
  maxAudioBytes?: number;
}

/** Sent as progress once the MIDI and the piano roll exist, before any audio is made. */
export interface ComposeFirstFiles {
  midiPath: string;
  pngPath: string;
  durationSeconds: number;
  qpm: number;
  keyGuess: string;
}

export interface ComposeResult {
  midiPath: string;
  /** The audio attachment: MP3, or Ogg/Opus when only that fits `maxAudioBytes`; '' when none fits. */
  mp3Path: string;
  /** Format, bitrate and size of `mp3Path` when there is audio. */
  audio?: { format: 'mp3' | 'ogg-opus'; bitrateKbps: number; bytes: number };
  /** Why there is no audio (for the user), when there is none. */
  audioSkipped?: string;
  pngPath: string;
  opusPath?: string;
  /** Notes-or-chords generated (excludes the seed). */
  generatedEvents: number;
  /** Steps at the start of `sequence` that came from the seed (absent without a seed). */
  seedSteps?: number;
  noteCount: number;
  durationSeconds: number;
  qpm: number;
  program: number;
  keyGuess: string;
  modelName: string;
  /** The request's style, when it named one. */
  style?: string;
  /** Longest run of (pitch, duration) events copied verbatim from the model's training data, if known. */
  longestCopiedRun?: number;
  randomSeed: number;
  sequence: NoteSequence;
  timingsMs: {
    sample: number;
    midi: number;
    render: number;
    encode: number;
    pianoRoll: number;
    /** From the start of the job until the MIDI and the piano roll existed (the first post). */
    firstFiles: number;
    total: number;
  };
}

/**
 * Operator settings (from the configuration, not the user) the pipeline needs besides the musical
 * request. They travel with the request so the job is one plain object for a worker thread.
 */
export interface ComposeOperatorSettings {
  /** Folder of extra SoundFonts (SOUNDFONTS_DIR). */
  soundfontDir?: string;
  /** ffmpeg binary (FFMPEG_PATH; default the bundled one). */
  ffmpegPath?: string;
  /** Upper bound for `length` (MAX_COMPOSE_LENGTH, default 2000). */
  maxLength?: number;
  /** Largest seed file read from `seedMidiPath` (MAX_MIDI_BYTES, default 8 MB). */
  maxSeedBytes?: number;
  /** The blob store (BLOB_URL, DATA_DIR) and MODEL_CACHE_SIZE: needed to compose with a guild model. */
  blobs?: JobBlobSettings;
}

/**
 * Where the files travel when the worker may not share the bot's disk (compose-job.ts): used only
 * with a remote blob store (`blobs.url`).
 */
export interface ComposeTransport {
  /** Key prefix (`guilds/<g>/results/<id>/`) the result's files are uploaded under. */
  resultKey?: string;
  /** An uploaded seed the bot put in the blob store, instead of `seedMidiPath` on its own disk. */
  seedMidiKey?: string;
}

export type ComposeJobData = ComposeRequest & ComposeOperatorSettings & ComposeTransport;
