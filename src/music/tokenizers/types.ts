/**
 * The contract between tokenizers and everything that trains or samples with them (src/ml, the
 * evaluation). Ids are dense integers in [0, vocabSize).
 */
import type { NoteSequence } from '../note-sequence.js';

export type TokenizerName = 'seed' | 'event' | 'voices';

export interface EncodeOptions {
  /**
   * What to do with notes/chords the vocabulary cannot express — chords a `seed` vocabulary never saw,
   * pitches outside the `event` encoding's range: 'throw' (default, for users' files) raises
   * SEED_OUT_OF_VOCABULARY; 'skip' (for corpora) drops unknown chords and folds pitches by octaves.
   */
  onUnknown?: 'throw' | 'skip';
  /** Event encoding: start with BOS + meter (default true). Ignored by `seed`. */
  bos?: boolean;
  /** Event encoding: end with EOS (default true; false for a prompt to continue). Ignored by `seed`. */
  eos?: boolean;
}

export interface DecodeOptions {
  /** Tempo of the decoded sequence, quarter notes per minute (default 120). */
  qpm?: number;
  /** General MIDI program 0–127 for the single output track (default 0, piano). */
  program?: number;
}

/**
 * Incremental view of a token stream for the sampler: `push` one id at a time, and learn when a
 * new note-or-chord (onset group) starts. `length` in Motif always counts these.
 */
export interface EventCounter {
  /** Feeds one id; true when this id starts a new note-or-chord. */
  push(id: number): boolean;
  /** Notes-or-chords started so far. */
  readonly count: number;
  /** True after an end-of-sequence token: later ids are ignored by decode. */
  readonly ended: boolean;
}

export interface Tokenizer {
  readonly name: TokenizerName;
  /** Number of ids; every id in [0, vocabSize) decodes without error. */
  readonly vocabSize: number;
  /**
   * Encodings that spend the same number of tokens on every time step (`voices`: one per voice):
   * that number, so the copy cache can follow each voice's own line. Undefined for the others.
   */
  readonly tokensPerStep?: number;
  /**
   * @throws MotifError SEED_OUT_OF_VOCABULARY (onUnknown 'throw') naming what the vocabulary cannot express.
   */
  encode(seq: NoteSequence, opts?: EncodeOptions): number[];
  /** Never throws on any id sequence: unknown, out-of-range or ill-placed ids are skipped. */
  decode(ids: readonly number[], opts?: DecodeOptions): NoteSequence;
  /**
   * Encodings whose pitch tokens can be moved: the id of the same token `semitones` higher (lower
   * when negative), or undefined when that pitch is outside the vocabulary. Tokens without a pitch
   * map to themselves. Undefined for encodings that cannot be transposed token by token.
   */
  transposeId?(id: number, semitones: number): number | undefined;
  /** The MIDI pitch a single-note token sounds; undefined for chords, rests and timing/control tokens, and for encodings without such tokens. */
  pitchOf?(id: number): number | undefined;
  /** Human-readable token, e.g. "E-4", "0.4.7", "NOTE_60", "DUR_4", "SHIFT_2". */
  tokenName(id: number): string;
  /** Pitch classes a token sounds (note or chord tokens), undefined for timing/control tokens. */
  tokenPitchClasses(id: number): readonly number[] | undefined;
  /** Ids to start sampling from scratch (event: BOS + meter; seed: none, the tutorial starts from a data window). */
  startIds(opts?: { meter?: string }): number[];
  /** A fresh incremental counter over this vocabulary. */
  createEventCounter(): EventCounter;
  /** JSON-safe spec to store in the model directory; `tokenizerFromSpec` rebuilds an identical tokenizer. */
  toJSON(): TokenizerSpec;
  /**
   * Encodings whose grammar fixes part of the next token (the `voices` positions): a filter of the
   * ids that may come next after `history`, or undefined when anything may.
   */
  nextTokenFilter?(history: readonly number[]): ((id: number) => boolean) | undefined;
  /**
   * Encodings that can tell when a token would break a sampling rule: a guard fed every id of a piece
   * (prompt included) that refuses such tokens (see SamplingRules). Undefined: no rules apply.
   */
  createSamplingGuard?(rules: SamplingRules): SamplingGuard;
  /**
   * What a network with position input (LanguageModelConfig.positionPeriod) reads with each token,
   * for encodings that know better than the token's index within the piece (`event`: the 16th
   * within the bar; `voices` with `heldInput`: the voice and how long it has kept its note).
   * Undefined: the index (`voices`: with a period of 16, voice × 16th of the beat).
   */
  createPositionTracker?(): PositionTracker;
}

/** See `Tokenizer.createPositionTracker`: fed every id of a piece from its first. */
export interface PositionTracker {
  /** Feeds one id; returns its position (a non-negative integer). */
  push(id: number): number;
}

/** Rules a sampled piece keeps, whatever the model would rather do. */
export interface SamplingRules {
  /** No whole quarter-note beat with nothing sounding (real tunes have none; samples had 1 in 10). */
  noSilentBeats: boolean;
  /** One note per onset (a melody: folk tunes). */
  monophonic: boolean;
  /**
   * No voice rests on its own (chorale voices: polyphony 3.999 in the JSB chorales); after the first
   * step all four may rest together, a breath between phrases, as in 7 of the 77 JSB test chorales,
   * for a beat at most. Default false.
   */
  unbrokenVoices?: boolean;
}

/** See `Tokenizer.createSamplingGuard`. */
export interface SamplingGuard {
  push(id: number): void;
  /** False for a token that would break a rule. Tokens that start a note are always allowed. */
  allows(id: number): boolean;
}

export interface SeedTokenizerSpec {
  name: 'seed';
  version: 1;
  /** Id i ↔ vocabulary[i]. Sorted at first build; tokens added by fine-tuning are appended. */
  vocabulary: string[];
}

export interface EventTokenizerSpec {
  name: 'event';
  version: 1;
  config: EventTokenizerConfig;
}

export interface VoicesTokenizerSpec {
  name: 'voices';
  version: 1;
  config: VoicesTokenizerConfig;
}

export type TokenizerSpec = SeedTokenizerSpec | EventTokenizerSpec | VoicesTokenizerSpec;

/** The `voices` encoding (see voices.ts): four voices, one token each per grid step. */
export interface VoicesTokenizerConfig {
  /** Grid, steps per quarter note (4 = sixteenth notes). */
  stepsPerQuarter: number;
  /** Lowest/highest MIDI pitch with a token; a user's seed outside it is refused, corpora fold by octaves. */
  pitchMin: number;
  pitchMax: number;
  /** Velocity of decoded notes (the encoding has no dynamics). */
  defaultVelocity: number;
  /** 1, or 16: each token also says which voice and which 16th of the beat it is (see voices.ts). */
  positions: number;
  /**
   * How a voice that keeps its note is spelled: `token` (the default) a HOLD token, `pitch` the
   * pitch again at every step, as the published JSB serialisations do (see voices.ts).
   */
  holds?: 'token' | 'pitch';
  /**
   * What a network with position input reads (Tokenizer.createPositionTracker): false or absent, the
   * token's index (voice × 16th of the beat with a period of 16); true, that and how many steps the
   * voice to be predicted has kept its pitch (or rest), in VOICES_HELD_BUCKETS: a period of
   * VOICES_HELD_PERIOD (see voices.ts).
   */
  heldInput?: boolean;
}

export interface EventTokenizerConfig {
  /** Grid of the encoding, steps per quarter note (4 = sixteenth notes). */
  stepsPerQuarter: number;
  /** Lowest/highest MIDI pitch with its own token; others are folded by octaves into range. */
  pitchMin: number;
  pitchMax: number;
  /** TIME_SHIFT tokens for 1..maxShiftSteps steps; longer gaps repeat them. */
  maxShiftSteps: number;
  /** Allowed note lengths in steps, ascending; a duration snaps to the nearest (ties to the shorter). */
  durationBucketsSteps: number[];
  /** 0 = no velocity tokens; otherwise that many equal-width bins over 1–127. */
  velocityBins: number;
  /** Meters with a token, "N/D"; a piece in another meter is encoded with the first entry's bar length. */
  meters: string[];
  /** Length given to a NOTE that no DURATION follows, in steps. */
  defaultDurationSteps: number;
  /** Velocity of decoded notes when velocity tokens are off or absent. */
  defaultVelocity: number;
}
