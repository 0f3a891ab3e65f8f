/**
 * Tokenizers: pure NoteSequence ↔ id conversions (no tf). `seed` is the tutorial's encoding,
 * `event` (the default) keeps rhythm, `voices` spells four voices step by step (chorales). See
 * seed.ts, event.ts and voices.ts for the grammars.
 */
import { MotifError } from '../../errors.js';
import { EventTokenizer, DEFAULT_EVENT_CONFIG } from './event.js';
import { createSeedTokenizer } from './seed.js';
import { DEFAULT_VOICES_CONFIG, VoicesTokenizer } from './voices.js';
import type { EventTokenizerConfig, PositionTracker, Tokenizer, TokenizerSpec, VoicesTokenizerConfig } from './types.js';

export * from './types.js';
export {
  EventTokenizer,
  createEventTokenizer,
  DEFAULT_EVENT_CONFIG,
  PAD_ID,
  BOS_ID,
  EOS_ID,
  BAR_ID,
  type EventTokenKind,
} from './event.js';
export {
  createSeedTokenizer,
  buildSeedVocabulary,
  growSeedVocabulary,
  seedTokens,
  normalOrder,
  chordToken,
  music21PitchName,
  parseMusic21PitchName,
} from './seed.js';
export { growVocabulary } from './vocabulary.js';
export {
  VoicesTokenizer,
  createVoicesTokenizer,
  DEFAULT_VOICES_CONFIG,
  voiceGrid,
  voicesStateAfter,
  VOICE_ORDER,
  VOICES_HELD_BUCKETS,
  VOICES_HELD_PERIOD,
} from './voices.js';

/**
 * Rebuilds a tokenizer from the spec stored in a model directory.
 * @throws MotifError MODEL_CORRUPT when the spec is malformed.
 */
export function tokenizerFromSpec(spec: unknown): Tokenizer {
  const s = spec as Partial<TokenizerSpec> | null;
  if (s && typeof s === 'object' && s.name === 'seed' && s.version === 1) {
    const vocabulary = (s as { vocabulary?: unknown }).vocabulary;
    if (!Array.isArray(vocabulary) || vocabulary.length === 0 || !vocabulary.every((t) => typeof t === 'string')) {
      throw new MotifError('MODEL_CORRUPT', 'The model’s vocabulary is missing or damaged.');
    }
    try {
      return createSeedTokenizer(vocabulary as string[]);
    } catch (error) {
      throw new MotifError('MODEL_CORRUPT', 'The model’s vocabulary is missing or damaged.', { cause: error, detail: String(error) });
    }
  }
  if (s && typeof s === 'object' && s.name === 'event' && s.version === 1) {
    const config = (s as { config?: unknown }).config;
    if (!config || typeof config !== 'object') throw new MotifError('MODEL_CORRUPT', 'The model’s tokenizer settings are missing.');
    return new EventTokenizer({ ...DEFAULT_EVENT_CONFIG, ...(config as Partial<EventTokenizerConfig>) });
  }
  if (s && typeof s === 'object' && s.name === 'voices' && s.version === 1) {
    const config = (s as { config?: unknown }).config;
    if (!config || typeof config !== 'object') throw new MotifError('MODEL_CORRUPT', 'The model’s tokenizer settings are missing.');
    return new VoicesTokenizer({ ...DEFAULT_VOICES_CONFIG, ...(config as Partial<VoicesTokenizerConfig>) });
  }
  throw new MotifError('MODEL_CORRUPT', 'The model uses an unknown note encoding.', { detail: JSON.stringify(s)?.slice(0, 200) });
}

/** Notes-or-chords (onset groups) that `ids` decode to — the meaning of `length` everywhere. */
export function countEvents(tokenizer: Tokenizer, ids: readonly number[]): number {
  const counter = tokenizer.createEventCounter();
  for (const id of ids) counter.push(id);
  return counter.count;
}

/**
 * Incremental counter for the sampler (see EventCounter). To produce exactly `length`
 * notes-or-chords: push every sampled id; when `push` returns true and `count > length`, drop that
 * id and stop (a trailing NOTE without DUR decodes with the default length). Also stop on `ended`
 * (EOS) or at a token cap, since a model can loop on time shifts without ever playing a note.
 */
export function createEventCounter(tokenizer: Tokenizer): ReturnType<Tokenizer['createEventCounter']> {
  return tokenizer.createEventCounter();
}

/**
 * Mask for a key/scale constraint: allowed[id] is true when the token sounds only pitch classes of
 * `pitchClasses` (timing/control tokens are always allowed).
 */
export function allowedTokenMask(tokenizer: Tokenizer, pitchClasses: Iterable<number>): boolean[] {
  const inKey = new Set([...pitchClasses].map((pc) => ((pc % 12) + 12) % 12));
  return Array.from({ length: tokenizer.vocabSize }, (_, id) => {
    const pcs = tokenizer.tokenPitchClasses(id);
    return pcs === undefined || pcs.every((pc) => inKey.has(pc));
  });
}

/** The encoding's position tracker (see Tokenizer.createPositionTracker), or the index within the piece. */
export function createPositionTracker(tokenizer: Tokenizer): PositionTracker {
  if (tokenizer.createPositionTracker) return tokenizer.createPositionTracker();
  let index = 0;
  return { push: () => index++ };
}

/**
 * The encoding's own position of every id of one piece (`event`: the 16th within the bar), or
 * undefined for an encoding that has none (see Tokenizer.createPositionTracker).
 */
export function encodingPositions(tokenizer: Tokenizer, ids: readonly number[]): Int32Array | undefined {
  return tokenizer.createPositionTracker ? tokenPositions(tokenizer, ids) : undefined;
}

/** The position of every id of one piece (see Tokenizer.createPositionTracker). */
export function tokenPositions(tokenizer: Tokenizer, ids: readonly number[]): Int32Array {
  const tracker = createPositionTracker(tokenizer);
  return Int32Array.from(ids, (id) => tracker.push(id));
}
