/**
 * Sampling a continuation token by token. Our LSTM advances one step per token and carries its state
 * (no window is ever re-run); the tutorial baseline re-runs its 100-token window per token, as the
 * tutorial did, and is kept only for comparison.
 */
import { MotifError } from '../errors.js';
import { computeFeatures } from '../music/analysis/features.js';
import { longestCopiedRun, type CopyIndex } from '../music/analysis/originality.js';
import { guessKey, makeKey, parseKey, scalePitchClasses, type Key } from '../music/analysis/key.js';
import { countNoteEvents, type NoteSequence } from '../music/note-sequence.js';
import { createRng, type Rng } from '../music/random.js';
import { transpose } from '../music/transform.js';
import { allowedTokenMask, countEvents, createPositionTracker, type Tokenizer } from '../music/tokenizers/index.js';
import { cadenceCoda, cadenceFilter, type CadenceKey } from './cadence.js';
import { CachePredictor, mixLogits, type CopyCacheConfig } from './copy-cache.js';
import type { EnsembleMember, Network } from './model-dir.js';
import { mixNextToken } from './ensemble.js';
import { createTransposedStepper } from './transposed-views.js';
import { LanguageModel } from './network/language-model.js';
import type { TutorialModel } from './network/tutorial-model.js';
import { sampleToken } from './sampling.js';

/** Feeds one id and returns the logits of the next. */
export interface Stepper {
  push(id: number): Float32Array;
}

/**
 * A stepper over the network, mixed with the copy cache when one is given (see copy-cache.ts).
 * `maxCopyTokens` switches the cache off while the current match is that long, so a piece repeats
 * phrases rather than looping one passage for ever.
 */
export function createStepper(
  network: Network,
  tokenizer: Tokenizer,
  cache?: { config: CopyCacheConfig; maxCopyTokens?: number },
  ensemble?: readonly EnsembleMember[],
): Stepper {
  const inner = ensemble ? ensembleStepper(ensemble) : createNetworkStepper(network, tokenizer);
  if (!cache) return inner;
  const predictor = new CachePredictor(cache.config);
  // Matches only at the same place in the bar, where the cache was fitted so (see copy-cache.ts).
  const phases = cache.config.samePlace ? tokenizer.createPositionTracker?.() : undefined;
  const maxCopy = cache.maxCopyTokens ?? Infinity;
  return {
    push(id: number): Float32Array {
      predictor.push(id, phases?.push(id));
      const logits = inner.push(id);
      const prediction = predictor.predict();
      // A passage copied this long: neither pointer copies until the piece moves on.
      return (prediction.passage?.length ?? 0) < maxCopy ? mixLogits(logits, prediction, cache.config) : logits;
    },
  };
}

/** `tokenizer` gives each id its position (see Tokenizer.createPositionTracker) for a network that reads them. */
function createNetworkStepper(network: Network, tokenizer: Tokenizer): Stepper {
  if (network instanceof LanguageModel) {
    let state = network.initState(1);
    // Only a network with position input reads them; the others skip the tracker's work.
    const positions = network.config.positionPeriod > 0 ? createPositionTracker(tokenizer) : undefined;
    return {
      push(id: number): Float32Array {
        const result = network.step(state, [id], positions && [positions.push(id)]);
        state = result.state;
        return result.logits;
      },
    };
  }
  return windowedStepper(network as TutorialModel);
}

/**
 * Every member steps (in each of its transposed views, when it has them: transposed-views.ts); the
 * next token's distribution is their weighted mixture (see ensemble.ts).
 */
function ensembleStepper(members: readonly EnsembleMember[]): Stepper {
  const steppers = members.map((m) =>
    m.transpositions ? createTransposedStepper(m.network, m.tokenizer, m.transpositions) : createNetworkStepper(m.network, m.tokenizer),
  );
  if (steppers.length === 1) return steppers[0]!;
  const logWeights = members.map((m) => Math.log(m.weight));
  return { push: (id) => mixNextToken(steppers.map((s) => s.push(id)), logWeights) };
}

/** The tutorial's method: the whole window goes through the network for every token. */
export function windowedStepper(model: TutorialModel): Stepper {
  const size = model.config.windowSize;
  // Left-padded with id 0 until the prompt fills a window (the tutorial started from a data window).
  const window: number[] = new Array<number>(size).fill(0);
  return {
    push(id: number): Float32Array {
      window.push(id);
      window.shift();
      const probs = model.predictNext(window);
      return Float32Array.from(probs, (p) => Math.log(Math.max(p, 1e-12)));
    },
  };
}

/** Ids that must never be sampled mid-piece (start/end/padding/meter markers). */
const CONTROL_TOKEN = /^(PAD|BOS|EOS|METER_.*)$/;

export interface ContinuationOptions {
  /** Notes-or-chords to add (≥ 1). */
  length: number;
  temperature: number;
  topP: number;
  random: Rng;
  /** Pitch classes allowed (key constraint); undefined = all. */
  pitchClasses?: readonly number[];
  /**
   * With `pitchClasses`: instead of refusing other pitches, scale their probability by this weight
   * (0–1), so a chromatic note stays possible but rare. Undefined = refused.
   */
  outOfKeyWeight?: number;
  /** Safety cap on sampled tokens (default 24 per requested event + 64). */
  maxTokens?: number;
  /**
   * End on the tonic (see cadence.ts): the key given, or the one guessed from what was generated
   * when the last note-or-chord approaches. Undefined = no cadence.
   */
  cadence?: { key?: CadenceKey };
  /** Refuse tokens that leave a whole beat silent, where the encoding can tell (default true). */
  silenceGuard?: boolean;
  /** One note per onset, where the encoding can tell (default false). */
  monophonic?: boolean;
  /** No voice rests alone, where the encoding has voices; all four may breathe together (default false). */
  unbrokenVoices?: boolean;
  /** Temperature and top-p reshape only the choice of pitch (see SamplingOptions.tempered). */
  temperPitchesOnly?: boolean;
  /**
   * A form: the opening `bars` bars, once sampled, are played again before the piece goes on (a
   * chorale's repeated *Stollen*, AAB). Only where the encoding has a fixed grid of voices
   * (`voices`, 4/4), only for a piece from scratch, and only when at least a bar's worth of new
   * music still fits after the repeat.
   */
  repeatOpeningBars?: number;
}

/** `voices` tokens per 4/4 bar: four voices × sixteen 16th steps. */
const VOICE_TOKENS_PER_BAR = 4 * 16;

/**
 * Samples ids after `prompt` until exactly `length` new notes-or-chords have started, then stops
 * before the token that would start one more.
 * @returns the new ids (prompt excluded) and how many events they start.
 */
export function sampleContinuation(
  stepper: Stepper,
  tokenizer: Tokenizer,
  prompt: readonly number[],
  opts: ContinuationOptions,
): { ids: number[]; events: number } {
  const inKey = opts.pitchClasses ? allowedTokenMask(tokenizer, opts.pitchClasses) : undefined;
  const keyBias = inKey && opts.outOfKeyWeight !== undefined ? Math.log(Math.max(opts.outOfKeyWeight, 1e-9)) : undefined;
  const keyMask = keyBias === undefined ? inKey : undefined;
  const control = Array.from({ length: tokenizer.vocabSize }, (_, id) => CONTROL_TOKEN.test(tokenizer.tokenName(id)));
  const allowed = (id: number): boolean => !control[id] && (keyMask ? keyMask[id]! : true);
  /** The logits with out-of-key pitches down-weighted (a copy: the stepper's array is its own). */
  const biased = (raw: Float32Array): Float32Array => {
    if (keyBias === undefined) return raw;
    const out = Float32Array.from(raw);
    for (let id = 0; id < out.length; id++) if (!inKey![id]) out[id]! += keyBias;
    return out;
  };

  const counter = tokenizer.createEventCounter();
  const isPitch = Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.tokenPitchClasses(id) !== undefined);
  const tempered = opts.temperPitchesOnly ? (id: number): boolean => isPitch[id]! : undefined;
  const rules = { noSilentBeats: opts.silenceGuard !== false, monophonic: opts.monophonic === true, unbrokenVoices: opts.unbrokenVoices === true };
  const guard = rules.noSilentBeats || rules.monophonic || rules.unbrokenVoices ? tokenizer.createSamplingGuard?.(rules) : undefined;
  let logits: Float32Array | undefined;
  for (const id of prompt) {
    counter.push(id);
    guard?.push(id);
    logits = stepper.push(id);
  }
  const baseCount = counter.count;
  const ids: number[] = [];
  const maxTokens = opts.maxTokens ?? opts.length * 24 + 64;
  if (!logits) {
    // No prompt (the tutorial's encoding has no start token): begin from a random allowed pitch token.
    const candidates = Array.from({ length: tokenizer.vocabSize }, (_, id) => id).filter(
      (id) => allowed(id) && tokenizer.tokenPitchClasses(id) !== undefined,
    );
    const first = candidates[Math.floor(opts.random() * candidates.length)] ?? 0;
    counter.push(first);
    guard?.push(first);
    ids.push(first);
    logits = stepper.push(first);
  }
  const isVoiceSlot = (id: number): boolean => !CONTROL_TOKEN.test(tokenizer.tokenName(id));
  let voiceSlots = prompt.filter(isVoiceSlot).length;
  let repeatAt = opts.repeatOpeningBars && tokenizer.name === 'voices' && voiceSlots === 0 ? opts.repeatOpeningBars * VOICE_TOKENS_PER_BAR : undefined;
  let finalStart = -1;
  let cadenceKey = opts.cadence?.key;
  const history = [...prompt, ...ids];
  const accept = (id: number): void => {
    ids.push(id);
    history.push(id);
    guard?.push(id);
    if (isVoiceSlot(id)) voiceSlots++;
    logits = stepper.push(id);
  };
  while (ids.length < maxTokens) {
    if (repeatAt !== undefined && voiceSlots === repeatAt) {
      repeatAt = undefined;
      const strain = ids.slice();
      const strainEvents = countEvents(tokenizer, [...prompt, ...strain]) - baseCount;
      // The repeat must leave room for new music (a bar's worth of events at the strain's pace) and the cadence.
      const room = opts.length - 2 * strainEvents;
      if (room >= Math.max(2, Math.ceil(strainEvents / opts.repeatOpeningBars!))) {
        for (const id of strain) {
          counter.push(id);
          accept(id);
        }
      }
    }
    const events = counter.count - baseCount;
    const grammar = tokenizer.nextTokenFilter?.(history);
    let filter = grammar ? (id: number) => allowed(id) && grammar(id) : allowed;
    if (guard) {
      const before = filter;
      filter = (id) => before(id) && guard.allows(id);
    }
    if (opts.cadence && events >= opts.length - 1) {
      cadenceKey ??= guessKey(tokenizer.decode([...prompt, ...ids]));
      const extra = cadenceFilter(tokenizer, cadenceKey, {
        events,
        length: opts.length,
        sinceFinalStart: finalStart < 0 ? [] : ids.slice(finalStart),
        history,
        voiceSlot: voiceSlots % 4,
      });
      if (extra) {
        const before = filter;
        filter = (id) => before(id) && extra(id);
      }
    }
    const id = sampleToken(biased(logits), { temperature: opts.temperature, topP: opts.topP, random: opts.random, allowed: filter, tempered });
    const starts = counter.push(id);
    if (starts && counter.count - baseCount > opts.length) break;
    if (starts && counter.count - baseCount === opts.length) finalStart = ids.length;
    accept(id);
  }
  if (opts.cadence && finalStart >= 0) ids.push(...cadenceCoda(tokenizer, ids, prompt));
  return { ids, events: Math.min(counter.count - baseCount, opts.length) };
}

export interface GenerateOptions {
  length: number;
  temperature?: number;
  topP?: number;
  randomSeed: number;
  /** Key constraint, e.g. "D minor". */
  key?: string;
  /** A piece to continue; the result is the seed followed by `length` new events. */
  seed?: NoteSequence;
  qpm?: number;
  program?: number;
  /**
   * Resample when the output is degenerate (isDegenerate) or not of the asked length. Default 5
   * tries: the piano model at T 1.1 on every token stuck on one chord in about one first try in ten,
   * and with 3 tries one sample in 100 (eval, seed 2) still came out stuck.
   */
  maxAttempts?: number;
  /**
   * Resample, like a degenerate try, one that copies a run of more than `maxRun` notes-or-chords
   * from the pieces the model was trained on (`index`: LoadedModel.copyIndex). A composer should
   * not hand out someone's tune as new: issue 10 allows runs of at most 16.
   */
  copyGuard?: { index: CopyIndex; maxRun: number };
  /** The model's copy cache (LoadedModel.copyCache); undefined = the LSTM alone. */
  copyCache?: CopyCacheConfig;
  /** With a cache: no copying while the current match is this many tokens long (default 96). */
  maxCopyTokens?: number;
  /** The model's ensemble (LoadedModel.ensemble), which then predicts instead of `network` alone. */
  ensemble?: readonly EnsembleMember[];
  /** End on the tonic of `key` (or of the guessed key). Default true. */
  cadence?: boolean;
  /** Meter of a piece from scratch, e.g. "6/8"; default: the model chooses (encodings that name one). */
  meter?: string;
  /** No whole beat of silence (see Tokenizer.createSamplingGuard). Default true. */
  silenceGuard?: boolean;
  /** One note per onset. Default false. */
  monophonic?: boolean;
  /** No voice rests alone; all four may breathe together between phrases. Default false. */
  unbrokenVoices?: boolean;
  /** Temperature and top-p reshape only the choice of pitch. Default false. */
  temperPitchesOnly?: boolean;
  /**
   * A piece from scratch repeats its opening strain (ContinuationOptions.repeatOpeningBars) with this
   * probability, drawn once per piece: the share of the style's pieces that do. Default none.
   */
  repeatOpening?: { probability: number; bars: number };
  /**
   * Without `key`: keep to one key's scale all through (the seed's guessed key, or one chosen at
   * random) and end on its tonic. Default false.
   */
  inOneKey?: boolean;
  /** With a key (given, or from `inOneKey`): out-of-key pitches are this much less likely instead of refused (ContinuationOptions.outOfKeyWeight). */
  outOfKeyWeight?: number;
  /**
   * The style's keys: a piece from scratch with no `key` asked for is moved onto a key signature
   * drawn with these weights, into the octave whose mean pitch is nearest `meanPitch`. A model
   * trained on transposed copies composes in any key; the tunes it learnt from are in a few.
   * Default: as sampled.
   */
  keyPalette?: KeyPalette;
}

/**
 * The sampling rules a style sets (src/jobs/styles.ts) and `npm run eval` measures: the part of
 * GenerateOptions that is chosen by measurement per style rather than per request.
 */
export type StyleRules = Pick<GenerateOptions, 'monophonic' | 'unbrokenVoices' | 'temperPitchesOnly' | 'repeatOpening' | 'inOneKey' | 'outOfKeyWeight' | 'keyPalette'>;

export interface KeyPalette {
  /**
   * [pitch class, weight] pairs of key signatures, each named by its major key (a minor key counts
   * as its relative major: E minor is 7, G); weights need not sum to 1. Key signatures rather than
   * tonics, because which pitch classes a piece uses follows the signature, whatever its mode.
   */
  majorRoots: readonly (readonly [number, number])[];
  meanPitch: number;
}

export interface GeneratedPiece {
  sequence: NoteSequence;
  /** New notes-or-chords (excludes the seed). */
  generatedEvents: number;
  /** Tries made (1 = the first was kept); every try when none was sound and of the asked length. */
  attempts: number;
  tokens: number;
}

/** The longest run a composed piece may copy from the training pieces (GenerateOptions.copyGuard). */
export const MAX_COPIED_RUN = 16;

/** What decides which try to keep when none is sound and of the asked length. */
export interface AttemptSummary {
  generatedEvents: number;
  degenerate: boolean;
  /** Copies a longer run from the training pieces than GenerateOptions.copyGuard allows. */
  copied?: boolean;
}

/**
 * Whether try `a` is a better one to keep than try `b` for a piece of `length` notes-or-chords: a
 * sound try beats an unsound one, then the nearer the length wins. Sound means not degenerate and
 * at least min(length, 4) long, since isDegenerate passes anything under 4 notes (a 3-note try is not
 * a better piece than a full one that is stuck).
 */
export function betterAttempt(a: AttemptSummary, b: AttemptSummary, length: number): boolean {
  const sound = (t: AttemptSummary) => !t.degenerate && t.generatedEvents >= Math.min(length, 4);
  if (sound(a) !== sound(b)) return sound(a);
  if (Boolean(a.copied) !== Boolean(b.copied)) return !a.copied;
  return Math.abs(a.generatedEvents - length) < Math.abs(b.generatedEvents - length);
}

/**
 * Composes a piece with a loaded model.
 * @throws MotifError SEED_OUT_OF_VOCABULARY / MIDI_EMPTY for an unusable seed, OPTION_OUT_OF_RANGE for a bad key.
 */
export function generatePiece(network: Network, tokenizer: Tokenizer, opts: GenerateOptions): GeneratedPiece {
  const qpm = opts.qpm ?? 120;
  const program = opts.program ?? 0;
  const random = createRng(opts.randomSeed);
  const key = opts.key ?? (opts.inOneKey ? pieceKey(opts.seed, random) : undefined);
  const pitchClasses = key ? scalePitchClasses(key) : undefined;
  const prompt = opts.seed ? encodeSeed(tokenizer, opts.seed) : startPrompt(network, tokenizer, random, opts.meter);
  const maxAttempts = opts.maxAttempts ?? 5;
  // Drawn from the piece's own random stream, so a seed composes the same form every time.
  const repeatOpening = opts.repeatOpening !== undefined && !opts.seed && random() < opts.repeatOpening.probability;
  const root = opts.keyPalette && !opts.seed && !opts.key ? drawRoot(opts.keyPalette, random) : undefined;

  let best: (AttemptSummary & { piece: GeneratedPiece }) | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const cache = opts.copyCache && { config: opts.copyCache, maxCopyTokens: opts.maxCopyTokens ?? DEFAULT_MAX_COPY_TOKENS };
    const stepper = createStepper(network, tokenizer, cache, opts.ensemble);
    const { ids } = sampleContinuation(stepper, tokenizer, prompt, {
      length: opts.length,
      temperature: opts.temperature ?? 1,
      topP: opts.topP ?? 1,
      random,
      pitchClasses,
      outOfKeyWeight: opts.outOfKeyWeight,
      // A key the piece was only kept in (inOneKey) is not imposed on the cadence: the cadence guesses
      // from what was composed, which in a minor scale may well be its relative major.
      cadence: opts.cadence === false ? undefined : { key: opts.key ? cadenceKeyOf(opts.key) : undefined },
      silenceGuard: opts.silenceGuard,
      monophonic: opts.monophonic,
      unbrokenVoices: opts.unbrokenVoices,
      temperPitchesOnly: opts.temperPitchesOnly,
      repeatOpeningBars: repeatOpening ? opts.repeatOpening!.bars : undefined,
    });
    const sampled = extractContinuation(tokenizer, prompt, ids, { qpm, program });
    // Onto the palette's key (only a piece from scratch has one) before the try is judged: the copy
    // guard must see the key the piece is returned in, since the training pieces are in their own keys
    // and a passage that copies nothing where it was sampled can copy one once moved. Moved from the
    // key guessed from what was composed, even for a piece kept in one key: the folk style keeps it
    // there loosely, the network's own key can win, and moving from the key it was kept in then left
    // tunes on signatures outside the palette (a B major tune among D, G and A).
    const continuation = root === undefined ? sampled : moveToSignature(sampled, root, opts.keyPalette!.meanPitch);
    const sequence = opts.seed ? appendToSeed(opts.seed, continuation) : continuation;
    const generatedEvents = countNoteEvents(continuation);
    const piece: GeneratedPiece = { sequence, generatedEvents, attempts: attempt, tokens: ids.length };
    const degenerate = isDegenerate(continuation);
    const copied = opts.copyGuard !== undefined && longestCopiedRun(opts.copyGuard.index, continuation) > opts.copyGuard.maxRun;
    if (generatedEvents === opts.length && !degenerate && !copied) return piece;
    const tried = { piece, generatedEvents, degenerate, copied };
    if (!best || betterAttempt(tried, best, opts.length)) best = tried;
  }
  return { ...best!.piece, attempts: maxAttempts };
}

/**
 * The start of a piece from scratch. An encoding whose start names a meter (`event`: BOS METER) lets
 * the model choose the meter it will write in, unless one is asked for: a fixed 4/4 start under a
 * model that then writes jigs made every BAR token jump over a silent beat (bar lines of 16 steps
 * against bars of 12), which is where most of the samples' empty beats came from.
 */
function startPrompt(network: Network, tokenizer: Tokenizer, random: Rng, meter?: string): number[] {
  const fixed = tokenizer.startIds(meter ? { meter } : {});
  if (meter || fixed.length < 2 || !/^METER_/.test(tokenizer.tokenName(fixed[1]!))) return fixed;
  const logits = createNetworkStepper(network, tokenizer).push(fixed[0]!);
  const meterId = sampleToken(logits, { temperature: 1, topP: 1, random, allowed: (id) => /^METER_/.test(tokenizer.tokenName(id)) });
  return [fixed[0]!, meterId];
}

function drawRoot(palette: KeyPalette, random: Rng): number {
  const total = palette.majorRoots.reduce((sum, [, weight]) => sum + weight, 0);
  let r = random() * total;
  for (const [pitchClass, weight] of palette.majorRoots) {
    r -= weight;
    if (r < 0) return pitchClass;
  }
  return palette.majorRoots[palette.majorRoots.length - 1]![0];
}

/** The major key whose signature `key` has (a minor key's relative major). */
function majorRootOf(key: { tonicPitchClass: number; mode: 'major' | 'minor' }): number {
  return key.mode === 'major' ? key.tonicPitchClass : (key.tonicPitchClass + 3) % 12;
}

/** The piece moved so its (guessed) key signature is that of `root` major, in the octave whose mean pitch is nearest `meanPitch`. */
function moveToSignature(seq: NoteSequence, root: number, meanPitch: number): NoteSequence {
  const pitched = seq.notes.filter((n) => !n.isDrum);
  if (pitched.length === 0) return seq;
  const mean = pitched.reduce((sum, n) => sum + n.pitch, 0) / pitched.length;
  const up = (((root - majorRootOf(guessKey(seq))) % 12) + 12) % 12;
  const shift = [up - 24, up - 12, up, up + 12].reduce((best, s) => (Math.abs(mean + s - meanPitch) < Math.abs(mean + best - meanPitch) ? s : best));
  return transpose(seq, shift);
}

/** Tokens a generated passage may copy from the piece's own past before the cache lets go. */
export const DEFAULT_MAX_COPY_TOKENS = 96;

function cadenceKeyOf(key: string): CadenceKey {
  const parsed = parseKey(key);
  return { tonicPitchClass: parsed.tonicPitchClass, mode: parsed.mode };
}

/** The key of a piece kept in one key: its seed's, or for a piece from scratch one chosen at random. */
function pieceKey(seed: NoteSequence | undefined, random: Rng): Key {
  if (seed) return guessKey(seed);
  return makeKey(Math.floor(random() * 12), random() < 0.5 ? 'major' : 'minor');
}

/**
 * The same note or chord struck this many times in a row and more is a stuck sampler, not music:
 * in the corpora the longest run is 6 (folk), 2 (chorales) and 18 (piano, one piece of 228; the
 * next is 13).
 */
export const MAX_REPEATED_ONSETS = 16;

/** Output a listener would call broken: almost no pitches, a single repeated rhythm, or one note struck on and on. */
export function isDegenerate(seq: NoteSequence): boolean {
  const f = computeFeatures(seq);
  if (f.noteCount < 4) return false;
  return f.distinctPitches <= 2 || (f.distinctDurations <= 1 && f.distinctIois <= 1) || longestRepeatedOnsetRun(seq) > MAX_REPEATED_ONSETS;
}

/** Longest run of consecutive onsets striking the same set of pitches. */
export function longestRepeatedOnsetRun(seq: NoteSequence): number {
  const byOnset = new Map<number, number[]>();
  for (const n of seq.notes) if (!n.isDrum) byOnset.set(n.startStep, [...(byOnset.get(n.startStep) ?? []), n.pitch]);
  const chords = [...byOnset.keys()].sort((a, b) => a - b).map((step) => byOnset.get(step)!.sort((a, b) => a - b).join(','));
  let longest = chords.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < chords.length; i++) {
    run = chords[i] === chords[i - 1] ? run + 1 : 1;
    longest = Math.max(longest, run);
  }
  return longest;
}

/**
 * The prompt ids for a seed (what /compose does with an attached MIDI before sampling).
 * @throws MotifError MIDI_EMPTY (no pitched notes), SEED_OUT_OF_VOCABULARY.
 */
export function encodeSeed(tokenizer: Tokenizer, seed: NoteSequence): number[] {
  if (seed.notes.filter((n) => !n.isDrum).length === 0) {
    throw new MotifError('MIDI_EMPTY', 'The seed has no pitched notes to continue.');
  }
  const ids = tokenizer.encode(seed, { eos: false });
  if (ids.length === 0) throw new MotifError('SEED_OUT_OF_VOCABULARY', 'None of the seed’s notes can be expressed by this model.');
  return ids;
}

/**
 * Decodes prompt + new ids and keeps only the notes that start after the prompt's last onset. With a
 * prompt, steps are made relative to that last onset (so the seed's rhythm flows into the
 * continuation); without one, the decoded timeline is kept as is.
 */
function extractContinuation(
  tokenizer: Tokenizer,
  prompt: readonly number[],
  ids: readonly number[],
  opts: { qpm: number; program: number },
): NoteSequence {
  const whole = tokenizer.decode([...prompt, ...ids], opts);
  const lastPromptOnset = tokenizer.decode(prompt, opts).notes.reduce((max, n) => Math.max(max, n.startStep), -1);
  const origin = Math.max(0, lastPromptOnset);
  const notes = whole.notes
    .filter((n) => n.startStep > lastPromptOnset)
    .map((n) => ({ ...n, startStep: n.startStep - origin, endStep: n.endStep - origin }));
  const totalSteps = notes.reduce((max, n) => Math.max(max, n.endStep), 0);
  return { ...whole, notes, totalSteps };
}

/** Seed first; the continuation keeps its timing relative to the seed's last onset, in a track of its own. */
function appendToSeed(seed: NoteSequence, continuation: NoteSequence): NoteSequence {
  const scale = seed.stepsPerQuarter / continuation.stepsPerQuarter;
  const lastSeedOnset = seed.notes.reduce((max, n) => Math.max(max, n.startStep), 0);
  const track = seed.tracks.length;
  const program = continuation.tracks[0]?.program ?? 0;
  const added = continuation.notes.map((n) => {
    const startStep = lastSeedOnset + Math.max(1, Math.round(n.startStep * scale));
    return { ...n, track, program, startStep, endStep: Math.max(startStep + 1, lastSeedOnset + Math.round(n.endStep * scale)) };
  });
  const notes = [...seed.notes, ...added].sort((a, b) => a.startStep - b.startStep || a.pitch - b.pitch);
  return {
    ...seed,
    tracks: [...seed.tracks, { name: 'Motif continuation', program, isDrum: false }],
    notes,
    totalSteps: notes.reduce((max, n) => Math.max(max, n.endStep), seed.totalSteps),
  };
}

