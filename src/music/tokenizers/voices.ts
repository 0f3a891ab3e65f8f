/**
 * The `voices` encoding: four voices on a sixteenth-note grid, one token per voice per step, in the
 * order soprano, bass, alto, tenor (outer voices first, as TonicNet orders them: the bass is easier
 * to predict once the melody is known, and the inner voices once both are).
 *
 *   sequence = BOS (S B A T)* EOS        each voice token is REST, HOLD or a pitch
 *
 * It is the chorale style's encoding, and the one whose likelihood compares with the JSB Chorales
 * literature: every 16th step costs exactly four predicted tokens, so `totalNll / 16th steps` is a
 * per-step figure like the published piano-roll ones. It carries slightly more than a piano roll
 * (which voice sings which note), so ours is an upper bound on a piano-roll NLL.
 *
 * How a kept note is spelled (`holds`):
 * - `token` (the first chorale model's): HOLD continues the voice's sounding note, and a pitch token
 *   always starts a note, also at the pitch already sounding (a repeated note). Most tokens of a
 *   chorale are holds, and one HOLD class is learnt in the first epoch; but to say what a voice does
 *   after a long note the network must remember a pitch it saw dozens of tokens ago.
 * - `pitch`: the voice's pitch again at every step it sounds (HOLD never occurs), as the published
 *   JSB serialisations (Music Transformer, TonicNet) spell it: what each voice sings is always among
 *   the last four tokens. A pitch equal to the one the voice sounds keeps that note.
 * Like the JSB data, we read a voice that keeps its pitch from one step to the next as holding it, so
 * corpora encode no repeated notes (under `token` the model may still sample one).
 *
 * Voices of an arbitrary piece (a user's seed): a piece with at most four monophonic tracks keeps
 * its tracks as voices (highest mean pitch = soprano); anything else is voiced step by step (the
 * highest sounding pitch is the soprano, the lowest the bass, inner voices follow the nearest
 * pitches), dropping what a fifth voice would sing.
 */
import { MotifError } from '../../errors.js';
import { DEFAULT_QPM, type Note, type NoteSequence } from '../note-sequence.js';
import { pitchName } from '../pitch-name.js';
import type {
  DecodeOptions,
  EncodeOptions,
  EventCounter,
  PositionTracker,
  SamplingGuard,
  SamplingRules,
  Tokenizer,
  VoicesTokenizerConfig,
  VoicesTokenizerSpec,
} from './types.js';

export const VOICE_PAD_ID = 0;
export const VOICE_BOS_ID = 1;
export const VOICE_EOS_ID = 2;
/** First id of the (value, position) tokens; below are PAD, BOS, EOS. */
const FIRST_VALUE_ID = 3;
/** Values: REST, HOLD, then one per pitch. */
const REST_VALUE = 0;
const HOLD_VALUE = 1;
const FIRST_PITCH_VALUE = 2;
const VOICE_COUNT = 4;
/** Token position within a step → voice index (0 soprano … 3 bass). */
const ORDER: readonly number[] = [0, 3, 1, 2];
const VOICE_NAMES = ['Soprano', 'Alto', 'Tenor', 'Bass'] as const;
/**
 * Lowest and highest MIDI pitch each voice sings in the JSB training chorales (soprano, alto,
 * tenor, bass): what the sampling guard keeps new notes within.
 */
const VOICE_RANGES: readonly (readonly [number, number])[] = [
  [60, 81],
  [52, 74],
  [46, 69],
  [36, 66],
];

export const DEFAULT_VOICES_CONFIG: Readonly<VoicesTokenizerConfig> = Object.freeze({
  stepsPerQuarter: 4,
  // JSB's voices span 36–81; ±6 semitones of transposition must still fit.
  pitchMin: 28,
  pitchMax: 96,
  defaultVelocity: 80,
  // 16 positions learned far slower from scratch (validation NLL/token 3.75 vs 1.22 after two epochs
  // of the same run), so the shipped chorale model spells no positions.
  positions: 1,
});

/**
 * `heldInput` (VoicesTokenizerConfig): how many whole steps the voice to be predicted has kept its
 * pitch, exact up to 8 (a half note), then 9–11, 12–15 and 16 or more. Most of what the network
 * gets wrong is when a voice moves, and an LSTM counts held 16ths only roughly (TonicNet feeds the
 * same count as an input).
 */
export const VOICES_HELD_BUCKETS = 12;
/** The position period a network needs to read `heldInput` positions: 16 slots × VOICES_HELD_BUCKETS. */
export const VOICES_HELD_PERIOD = 16 * VOICES_HELD_BUCKETS;

function heldBucket(steps: number): number {
  if (steps <= 8) return steps;
  if (steps < 12) return 9;
  if (steps < 16) return 10;
  return 11;
}

/** A voice's pitch at one step; 0 = silent. */
type Grid = Int32Array[];

export class VoicesTokenizer implements Tokenizer {
  readonly name = 'voices' as const;
  readonly vocabSize: number;
  /** One token per voice per 16th step, after BOS (see Tokenizer.tokensPerStep). */
  readonly tokensPerStep = VOICE_COUNT;

  /** Values per position: REST, HOLD and the pitches. */
  private readonly values: number;
  /** `holds: 'token'`: a kept note is HOLD; otherwise its pitch again (and HOLD never occurs). */
  private readonly spellsHolds: boolean;

  /** Only with `heldInput`: without it the network reads the index (see Tokenizer.createPositionTracker). */
  readonly createPositionTracker?: () => PositionTracker;

  constructor(readonly config: VoicesTokenizerConfig) {
    validateVoicesConfig(config);
    this.values = FIRST_PITCH_VALUE + (config.pitchMax - config.pitchMin + 1);
    this.vocabSize = FIRST_VALUE_ID + this.values * config.positions;
    this.spellsHolds = config.holds !== 'pitch';
    if (config.heldInput === true) this.createPositionTracker = () => this.heldTracker();
  }

  /**
   * The position an input token gives is about the token that follows it, the one the network
   * predicts: its index mod 16 (which voice, which 16th of the beat: as the index reads it) plus 16 ×
   * the bucket of how many steps that voice has kept its pitch or rest (0 at the first step).
   */
  private heldTracker(): PositionTracker {
    let index = 0;
    let slot = 0;
    const sounding = [0, 0, 0, 0];
    const kept = [0, 0, 0, 0];
    return {
      push: (id: number): number => {
        if (id !== VOICE_PAD_ID && id !== VOICE_BOS_ID && id !== VOICE_EOS_ID) {
          const voice = ORDER[slot % VOICE_COUNT]!;
          const keeps = slot >= VOICE_COUNT && (this.keeps(id, sounding[voice]) || (sounding[voice] === 0 && this.pitchOf(id) === undefined));
          if (!keeps && !this.isHold(id)) sounding[voice] = this.pitchOf(id) ?? 0;
          kept[voice] = keeps || this.isHold(id) ? kept[voice]! + 1 : 1;
          slot++;
        }
        const next = ORDER[slot % VOICE_COUNT]!;
        return (index++ % 16) + 16 * heldBucket(slot < VOICE_COUNT ? 0 : kept[next]!);
      },
    };
  }

  /** REST 0, HOLD 1, pitches from 2; undefined for control and out-of-range ids. */
  private valueOf(id: number): number | undefined {
    if (!Number.isInteger(id) || id < FIRST_VALUE_ID || id >= this.vocabSize) return undefined;
    return (id - FIRST_VALUE_ID) % this.values;
  }

  /** See Tokenizer.transposeId: a pitch token moves within its place; REST, HOLD and control tokens stay. */
  transposeId(id: number, semitones: number): number | undefined {
    const value = this.valueOf(id);
    if (value === undefined || value < FIRST_PITCH_VALUE) return id;
    const moved = value + semitones;
    return moved < FIRST_PITCH_VALUE || moved >= this.values ? undefined : id + semitones;
  }

  /** Pitch of a pitch token, undefined for REST, HOLD and control tokens. */
  pitchOf(id: number): number | undefined {
    const value = this.valueOf(id);
    return value === undefined || value < FIRST_PITCH_VALUE ? undefined : this.config.pitchMin + value - FIRST_PITCH_VALUE;
  }

  isHold(id: number): boolean {
    return this.valueOf(id) === HOLD_VALUE;
  }

  /** Whether `id`, sung by a voice that sounds `sounding` (undefined or 0 = silent), keeps that note rather than starting one. */
  keeps(id: number, sounding: number | undefined): boolean {
    if (this.spellsHolds) return this.isHold(id);
    return sounding !== undefined && sounding > 0 && this.pitchOf(id) === sounding;
  }

  /**
   * The position class of the `slot`-th voice token of a piece (0-based, BOS not counted): with 16
   * positions, which voice (4) × which 16th of the beat (4). Spelling the position into the token
   * tells the network where it is in the beat, which it would otherwise have to count out; the
   * position is fixed by the slot, so sampling is restricted to it (nextTokenFilter).
   */
  positionOfSlot(slot: number): number {
    if (this.config.positions === 1) return 0;
    return (slot % VOICE_COUNT) + VOICE_COUNT * (Math.floor(slot / VOICE_COUNT) % 4);
  }

  private idOf(value: number, slot: number): number {
    return FIRST_VALUE_ID + this.positionOfSlot(slot) * this.values + value;
  }

  /** The token at the given slot that keeps `sounding` (the voice's pitch; 0 = silent, which stays silent). */
  holdIdAt(slot: number, sounding: number): number {
    if (this.spellsHolds) return this.idOf(HOLD_VALUE, slot);
    return this.idOf(sounding > 0 ? this.pitchValue(sounding, 'skip') : REST_VALUE, slot);
  }

  /** Only ids of the position the next voice token must have (control ids pass; the sampler masks them). */
  nextTokenFilter(history: readonly number[]): ((id: number) => boolean) | undefined {
    if (this.config.positions === 1) return undefined;
    let slot = 0;
    for (const id of history) if (id !== VOICE_PAD_ID && id !== VOICE_BOS_ID && id !== VOICE_EOS_ID) slot++;
    const position = this.positionOfSlot(slot);
    return (id) => id < FIRST_VALUE_ID || Math.floor((id - FIRST_VALUE_ID) / this.values) === position;
  }

  /**
   * Voices keep to their ranges and their order: a new note of a voice lies in that voice's range
   * (VOICE_RANGES) and does not cross the voices already sung at this step (soprano ≥ alto ≥ tenor ≥
   * bass). A free-running model without positional tokens loses count of which voice comes next
   * (it sang bass notes in the soprano's slot and a soprano line in the tenor's), and every step
   * after that is harmony for the wrong voices. REST is allowed unless the step would be silent in
   * all four voices, HOLD while the voice sounds. With `unbrokenVoices` no voice rests alone; the
   * four may rest together (the soprano, first in the step, decides): left free, the model rested
   * single voices far more than Bach does (polyphony overlap 0.23), while a shared breath between
   * phrases is in 9% of the chorales and the model places it about as often (empty-beat rate 0.0020
   * in the shipped model's samples against 0.0034). A breath lasts at most a beat: 12 of the 14
   * breaths in the 229 training chorales last exactly one, and a sample that rested two beats after
   * its first chord sounded like a dead stop, not a breath. The event encoding's other rule (one
   * note per onset) does not apply here.
   */
  createSamplingGuard(rules?: Partial<SamplingRules>): SamplingGuard {
    const unbroken = rules?.unbrokenVoices === true;
    let slot = 0;
    const sounding: (number | undefined)[] = [undefined, undefined, undefined, undefined];
    // What each voice sings at the current step, once its token is in (a held note counts).
    const stepPitch: (number | undefined)[] = [undefined, undefined, undefined, undefined];
    // Steps in a row the soprano has rested. Under `unbroken` the others rest with it, so after the
    // opening (or a seed's last step) this is the choir's breath.
    let breathSteps = 0;
    const longestBreath = this.config.stepsPerQuarter;
    return {
      push: (id: number): void => {
        if (id === VOICE_PAD_ID || id === VOICE_BOS_ID || id === VOICE_EOS_ID) return;
        const voice = ORDER[slot % VOICE_COUNT]!;
        if (slot % VOICE_COUNT === 0) stepPitch.fill(undefined);
        if (!this.keeps(id, sounding[voice])) sounding[voice] = this.pitchOf(id);
        stepPitch[voice] = sounding[voice];
        if (slot % VOICE_COUNT === 0) breathSteps = sounding[voice] === undefined ? breathSteps + 1 : 0;
        slot++;
      },
      allows: (id: number): boolean => {
        const voice = ORDER[slot % VOICE_COUNT]!;
        // A breath: once the soprano (first in the step) rests, the other three rest with it.
        if (unbroken && slot % VOICE_COUNT !== 0 && stepPitch[0] === undefined) return this.valueOf(id) === REST_VALUE;
        // The grammar: HOLD continues a sounding note; a silent voice's HOLD never occurs in the data.
        if (this.isHold(id)) return this.spellsHolds && sounding[voice] !== undefined;
        // A kept note is not a new one: ranges and order apply to the notes a voice starts.
        if (this.keeps(id, sounding[voice])) return true;
        const pitch = this.pitchOf(id);
        // No step with all four voices silent (real chorales have 3 empty beats in 1,000): the last
        // voice of a step sings if the other three are silent.
        if (pitch === undefined) {
          // Under this rule a voice never rests on its own; all four may breathe together between
          // phrases (the soprano, first in the step, decides), but not at the very start, and for
          // a beat at most.
          if (unbroken) return slot % VOICE_COUNT === 0 && slot > 0 && breathSteps < longestBreath;
          return !(slot % VOICE_COUNT === VOICE_COUNT - 1 && stepPitch.every((p, v) => v === voice || p === undefined));
        }
        const [low, high] = VOICE_RANGES[voice]!;
        if (pitch < low || pitch > high) return false;
        // Voices are numbered top down (0 soprano … 3 bass): those above must not be lower, those below not higher.
        for (let other = 0; other < VOICE_COUNT; other++) {
          const sung = stepPitch[other];
          if (sung === undefined || other === voice) continue;
          if (other < voice ? sung < pitch : sung > pitch) return false;
        }
        return true;
      },
    };
  }

  encode(seq: NoteSequence, opts: EncodeOptions = {}): number[] {
    const grid = voiceGrid(seq, this.config.stepsPerQuarter);
    const steps = grid[0]!.length;
    const ids: number[] = [];
    if (opts.bos !== false) ids.push(VOICE_BOS_ID);
    let slot = 0;
    for (let step = 0; step < steps; step++) {
      for (const voice of ORDER) {
        const pitch = grid[voice]![step]!;
        const held = this.spellsHolds && step > 0 && pitch > 0 && grid[voice]![step - 1] === pitch;
        ids.push(this.idOf(held ? HOLD_VALUE : this.pitchValue(pitch, opts.onUnknown ?? 'throw'), slot++));
      }
    }
    if (opts.eos !== false) ids.push(VOICE_EOS_ID);
    return ids;
  }

  private pitchValue(pitch: number, onUnknown: 'throw' | 'skip'): number {
    if (pitch === 0) return REST_VALUE;
    const { pitchMin, pitchMax } = this.config;
    let p = pitch;
    if (p < pitchMin || p > pitchMax) {
      if (onUnknown === 'throw') {
        throw new MotifError(
          'SEED_OUT_OF_VOCABULARY',
          `The seed has a note (${pitchName(pitch)}) outside this model’s range ${pitchName(pitchMin)}–${pitchName(pitchMax)}.`,
        );
      }
      while (p < pitchMin) p += 12;
      while (p > pitchMax) p -= 12;
    }
    return FIRST_PITCH_VALUE + p - pitchMin;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): NoteSequence {
    const program = opts.program ?? 0;
    const velocity = this.config.defaultVelocity;
    const notes: Note[] = [];
    const open: ({ pitch: number; startStep: number } | undefined)[] = new Array(VOICE_COUNT).fill(undefined);
    const close = (voice: number, endStep: number): void => {
      const held = open[voice];
      if (held) notes.push({ pitch: held.pitch, velocity, startStep: held.startStep, endStep, program, isDrum: false, track: voice });
      open[voice] = undefined;
    };
    // BOS and PAD are not voice tokens (a prompt starts with BOS); every other id fills the next
    // voice slot, out-of-range ids as rests. Nothing after EOS counts. A last, incomplete step
    // keeps what it has; the voices it lacks end there.
    let slot = 0;
    for (const id of ids) {
      if (id === VOICE_EOS_ID) break;
      if (id === VOICE_BOS_ID || id === VOICE_PAD_ID) continue;
      const step = Math.floor(slot / VOICE_COUNT);
      const voice = ORDER[slot % VOICE_COUNT]!;
      slot++;
      if (this.isHold(id)) continue; // holds what sounds; over silence it is a rest
      if (this.keeps(id, open[voice]?.pitch)) continue;
      const pitch = this.pitchOf(id) ?? 0;
      close(voice, step);
      if (pitch > 0) open[voice] = { pitch, startStep: step };
    }
    const steps = Math.ceil(slot / VOICE_COUNT);
    const filledInLastStep = slot % VOICE_COUNT;
    if (filledInLastStep > 0) for (const voice of ORDER.slice(filledInLastStep)) close(voice, steps - 1);
    for (let voice = 0; voice < VOICE_COUNT; voice++) close(voice, steps);
    notes.sort((a, b) => a.startStep - b.startStep || a.pitch - b.pitch || a.track - b.track);
    return {
      stepsPerQuarter: this.config.stepsPerQuarter,
      tempos: [{ step: 0, qpm: opts.qpm ?? DEFAULT_QPM }],
      timeSignatures: [{ step: 0, numerator: 4, denominator: 4 }],
      tracks: VOICE_NAMES.map((name) => ({ name, program, isDrum: false })),
      notes,
      totalSteps: steps,
    };
  }

  tokenName(id: number): string {
    if (id === VOICE_PAD_ID) return 'PAD';
    if (id === VOICE_BOS_ID) return 'BOS';
    if (id === VOICE_EOS_ID) return 'EOS';
    const value = this.valueOf(id);
    if (value === REST_VALUE) return 'REST';
    if (value === HOLD_VALUE) return 'HOLD';
    const pitch = this.pitchOf(id);
    return pitch === undefined ? `UNKNOWN_${id}` : `PITCH_${pitch}`;
  }

  tokenPitchClasses(id: number): readonly number[] | undefined {
    const pitch = this.pitchOf(id);
    return pitch === undefined ? undefined : [pitch % 12];
  }

  startIds(): number[] {
    return [VOICE_BOS_ID];
  }

  createEventCounter(): EventCounter {
    return new VoiceEventCounter(this);
  }

  toJSON(): VoicesTokenizerSpec {
    return { name: 'voices', version: 1, config: { ...this.config } };
  }
}

/**
 * A note-or-chord starts at a step where some voice starts a new pitch; the first voice token of
 * the step that does so is the one `push` reports.
 */
class VoiceEventCounter implements EventCounter {
  count = 0;
  ended = false;
  private position = 0;
  private stepCounted = false;

  /** Each voice's sounding pitch (0 = silent), to tell a kept note from a new one. */
  private readonly sounding = [0, 0, 0, 0];

  constructor(private readonly tokenizer: VoicesTokenizer) {}

  push(id: number): boolean {
    if (this.ended) return false;
    if (id === VOICE_EOS_ID) {
      this.ended = true;
      return false;
    }
    if (id === VOICE_BOS_ID || id === VOICE_PAD_ID) return false;
    const voice = ORDER[this.position]!;
    const pitch = this.tokenizer.pitchOf(id);
    const onset = pitch !== undefined && !this.tokenizer.keeps(id, this.sounding[voice]);
    if (!this.tokenizer.isHold(id)) this.sounding[voice] = pitch ?? 0;
    this.position = (this.position + 1) % VOICE_COUNT;
    let starts = false;
    if (onset && !this.stepCounted) {
      this.stepCounted = true;
      this.count++;
      starts = true;
    }
    if (this.position === 0) this.stepCounted = false;
    return starts;
  }
}

/**
 * What sounds after `ids`: each voice's pitch (0 = silent) and the slot (0–3, in token order) the
 * next voice token fills. For guides that constrain the next token by what the voices sing.
 */
export function voicesStateAfter(tokenizer: VoicesTokenizer, ids: readonly number[]): { sounding: number[]; slot: number; stepPitches: (number | undefined)[] } {
  const sounding = [0, 0, 0, 0];
  let slot = 0;
  let stepPitches: (number | undefined)[] = [];
  for (const id of ids) {
    if (id === VOICE_EOS_ID) break;
    if (id === VOICE_BOS_ID || id === VOICE_PAD_ID) continue;
    const voice = ORDER[slot % VOICE_COUNT]!;
    if (slot % VOICE_COUNT === 0) stepPitches = [];
    if (!tokenizer.keeps(id, sounding[voice])) sounding[voice] = tokenizer.pitchOf(id) ?? 0;
    stepPitches.push(sounding[voice] || undefined);
    slot++;
  }
  return { sounding, slot: slot % VOICE_COUNT, stepPitches: slot % VOICE_COUNT === 0 ? [] : stepPitches };
}

/** Token position within a step → voice index (0 soprano … 3 bass), for guides. */
export const VOICE_ORDER: readonly number[] = ORDER;

/**
 * Four voices (soprano first) × steps of the piece on a grid of `stepsPerQuarter`.
 * Exported for tests.
 */
export function voiceGrid(seq: NoteSequence, stepsPerQuarter: number): Grid {
  const scale = stepsPerQuarter / seq.stepsPerQuarter;
  const pitched = seq.notes
    .filter((n) => !n.isDrum)
    .map((n) => {
      const startStep = Math.round(n.startStep * scale);
      return { ...n, startStep, endStep: Math.max(startStep + 1, Math.round(n.endStep * scale)) };
    });
  const steps = Math.max(Math.round(seq.totalSteps * scale), pitched.reduce((max, n) => Math.max(max, n.endStep), 0));
  const grid: Grid = Array.from({ length: VOICE_COUNT }, () => new Int32Array(steps));
  const byTrack = tracksAsVoices(pitched);
  if (byTrack) {
    byTrack.forEach((notes, voice) => {
      for (const n of notes) grid[voice]!.fill(n.pitch, n.startStep, n.endStep);
    });
    return grid;
  }
  voiceStepByStep(pitched, steps, grid);
  return grid;
}

/** At most four tracks, each one note at a time: voices ordered by mean pitch, highest first. */
function tracksAsVoices(notes: Note[]): Note[][] | undefined {
  const tracks = new Map<number, Note[]>();
  for (const n of notes) {
    const list = tracks.get(n.track) ?? [];
    list.push(n);
    tracks.set(n.track, list);
  }
  if (tracks.size === 0 || tracks.size > VOICE_COUNT) return undefined;
  for (const list of tracks.values()) {
    list.sort((a, b) => a.startStep - b.startStep);
    for (let i = 1; i < list.length; i++) if (list[i]!.startStep < list[i - 1]!.endStep) return undefined;
  }
  const mean = (list: Note[]): number => list.reduce((s, n) => s + n.pitch, 0) / list.length;
  const ordered = [...tracks.values()].sort((a, b) => mean(b) - mean(a));
  // Fewer than four tracks: the outer voices come first (a melody and a bass are soprano and bass).
  const slots: Note[][] = [[], [], [], []];
  const placement = [[0], [0, 3], [0, 1, 3], [0, 1, 2, 3]][ordered.length - 1]!;
  ordered.forEach((list, i) => (slots[placement[i]!] = list));
  return slots;
}

function voiceStepByStep(notes: Note[], steps: number, grid: Grid): void {
  const sounding: number[][] = Array.from({ length: steps }, () => []);
  for (const n of notes) for (let s = n.startStep; s < n.endStep; s++) sounding[s]!.push(n.pitch);
  const previous = [0, 0, 0, 0];
  for (let step = 0; step < steps; step++) {
    const pitches = [...new Set(sounding[step]!)].sort((a, b) => b - a);
    const voiced = assignVoices(pitches, previous);
    for (let voice = 0; voice < VOICE_COUNT; voice++) {
      grid[voice]![step] = voiced[voice]!;
      if (voiced[voice]! > 0) previous[voice] = voiced[voice]!;
    }
  }
}

/** Pitches (descending) onto four voices: outer voices take the extremes, inner ones the nearest of the rest. */
function assignVoices(pitches: number[], previous: readonly number[]): number[] {
  const out = [0, 0, 0, 0];
  if (pitches.length === 0) return out;
  if (pitches.length === 1) {
    // One pitch: the voice that last sang nearest to it (soprano when nothing has sounded yet).
    let best = 0;
    for (let v = 1; v < VOICE_COUNT; v++) {
      if (previous[v]! > 0 && Math.abs(previous[v]! - pitches[0]!) < Math.abs(previous[best]! - pitches[0]!)) best = v;
    }
    out[best] = pitches[0]!;
    return out;
  }
  out[0] = pitches[0]!;
  out[3] = pitches[pitches.length - 1]!;
  const inner = pitches.slice(1, -1);
  if (inner.length <= 2) {
    if (inner.length === 2) [out[1], out[2]] = [inner[0]!, inner[1]!];
    else if (inner.length === 1) {
      const nearAlto = Math.abs((previous[1] || inner[0]!) - inner[0]!) <= Math.abs((previous[2] || inner[0]!) - inner[0]!);
      out[nearAlto ? 1 : 2] = inner[0]!;
    }
    return out;
  }
  // More than four: alto and tenor keep the inner pitches nearest to where they were.
  const nearest = (target: number, pool: number[]): number =>
    pool.reduce((best, p) => (Math.abs(p - target) < Math.abs(best - target) ? p : best), pool[0]!);
  out[1] = nearest(previous[1] || inner[0]!, inner);
  out[2] = nearest(previous[2] || inner[inner.length - 1]!, inner.filter((p) => p < out[1]!).length > 0 ? inner.filter((p) => p < out[1]!) : inner);
  return out;
}

/**
 * @throws MotifError MODEL_CORRUPT when the config cannot describe a usable vocabulary.
 */
export function validateVoicesConfig(c: VoicesTokenizerConfig): void {
  const int = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  const ok =
    int(c.stepsPerQuarter, 1, 96) &&
    int(c.pitchMin, 1, 127) &&
    int(c.pitchMax, 1, 127) &&
    c.pitchMax - c.pitchMin >= 11 &&
    int(c.defaultVelocity, 1, 127) &&
    (c.positions === 1 || c.positions === 16) &&
    (c.holds === undefined || c.holds === 'token' || c.holds === 'pitch') &&
    (c.heldInput === undefined || typeof c.heldInput === 'boolean');
  if (!ok) throw new MotifError('MODEL_CORRUPT', 'The model’s tokenizer settings are invalid.', { detail: JSON.stringify(c).slice(0, 200) });
}

export function createVoicesTokenizer(config: Partial<VoicesTokenizerConfig> = {}): VoicesTokenizer {
  return new VoicesTokenizer({ ...DEFAULT_VOICES_CONFIG, ...config });
}
