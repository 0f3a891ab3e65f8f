/**
 * Ending on the tonic: a sampled piece otherwise stops wherever its note count runs out, usually
 * mid-phrase. The guide constrains only the last note-or-chord (and, for `voices`, the approach to
 * it): its lowest note is the tonic, its other notes belong to the tonic triad, and it lasts at least
 * a half note. Everything before it is the model's own choice.
 *
 * Token kinds are read from token names (`NOTE_60`, `DUR_8`, `PITCH_60`, `REST`), so the guide works
 * on any encoding that names its tokens that way; others (the tutorial's chord tokens) get no guide.
 */
import { VOICE_ORDER, VoicesTokenizer, voicesStateAfter, type Tokenizer } from '../music/tokenizers/index.js';

export interface CadenceKey {
  tonicPitchClass: number;
  mode: 'major' | 'minor';
}

/** Steps the final note-or-chord lasts at least (a half note on a 16th grid). */
const FINAL_MIN_STEPS = 8;

export function tonicTriad(key: CadenceKey): Set<number> {
  const third = key.mode === 'major' ? 4 : 3;
  return new Set([0, third, 7].map((interval) => (key.tonicPitchClass + interval) % 12));
}

export interface CadenceState {
  /** Notes-or-chords generated so far (prompt excluded) and how many are wanted. */
  events: number;
  length: number;
  /** Generated ids since the final note-or-chord started (empty before it starts). */
  sinceFinalStart: readonly number[];
  /** The prompt and every generated id so far. */
  history: readonly number[];
  /** Voice slot (0–3, in the encoding's order) the next `voices` token fills. */
  voiceSlot: number;
}

/**
 * An extra filter for the next token, or undefined when the cadence does not apply yet.
 * @param key the piece's key (given by the user or guessed from what was generated).
 */
export function cadenceFilter(tokenizer: Tokenizer, key: CadenceKey, state: CadenceState): ((id: number) => boolean) | undefined {
  const finalStarted = state.events >= state.length;
  if (!finalStarted && state.events < state.length - 1) return undefined;
  const triad = tonicTriad(key);
  const pitchOf = (id: number): number | undefined => {
    const match = /^(?:NOTE|PITCH)_(\d+)$/.exec(tokenizer.tokenName(id));
    return match ? Number(match[1]) : undefined;
  };
  if (tokenizer.name === 'event') {
    const finalPitches = state.sinceFinalStart.map(pitchOf).filter((p): p is number => p !== undefined);
    // Before the final onset a NOTE joins the penultimate chord unless time has moved on since its last note.
    let lastNote = -1;
    let lastAdvance = -1;
    state.history.forEach((id, i) => {
      const name = tokenizer.tokenName(id);
      if (pitchOf(id) !== undefined) lastNote = i;
      else if (name === 'BAR' || name.startsWith('SHIFT_')) lastAdvance = i;
    });
    const noteStartsFinal = !finalStarted && lastAdvance > lastNote;
    const previous = state.history[state.history.length - 1];
    // A note of the final chord gets its length right away (a NOTE with no DUR would get the default).
    const needsDuration = finalStarted && previous !== undefined && pitchOf(previous) !== undefined;
    return (id) => {
      const name = tokenizer.tokenName(id);
      const duration = /^DUR_(\d+)$/.exec(name);
      if (needsDuration) return duration !== null && Number(duration[1]) >= FINAL_MIN_STEPS;
      const pitch = pitchOf(id);
      if (pitch !== undefined) {
        // The final onset's first note is the tonic and stays the lowest; the notes above it form the triad.
        if (noteStartsFinal) return pitch % 12 === key.tonicPitchClass;
        if (!finalStarted) return true;
        return triad.has(pitch % 12) && pitch > (finalPitches[0] ?? -1);
      }
      if (duration && finalStarted) return Number(duration[1]) >= FINAL_MIN_STEPS;
      return true;
    };
  }
  if (tokenizer instanceof VoicesTokenizer) {
    // Order S B A T: the bass (slot 1) sings the tonic, not above the soprano; the others sing the
    // triad, not below the bass, so the bass stays the lowest note. HOLD keeps what a voice sings.
    const { sounding, slot, stepPitches } = voicesStateAfter(tokenizer, state.history);
    const voice = VOICE_ORDER[slot]!;
    const soprano = stepPitches[0];
    const bass = stepPitches[1];
    const fits = (pitch: number): boolean =>
      slot === 1 ? pitch % 12 === key.tonicPitchClass && (soprano === undefined || pitch <= soprano) : triad.has(pitch % 12) && (bass === undefined || pitch >= bass);
    // The final chord has the bass in it: once it has started, no later voice of that step holds
    // (a held bass is not heard as the ending); and an inner voice may not start it on its own
    // after soprano and bass held, since the piece's last onset would then have no bass.
    const thisStep = slot === 0 ? [] : state.history.slice(-slot);
    const before = slot === 0 ? sounding : voicesStateAfter(tokenizer, state.history.slice(0, -slot)).sounding;
    const struckThisStep = thisStep.some((id, i) => pitchOf(id) !== undefined && !tokenizer.keeps(id, before[VOICE_ORDER[i]!]));
    const innerMayStrike = finalStarted || struckThisStep || slot < 2;
    return (id) => {
      const name = tokenizer.tokenName(id);
      if (name === 'REST') return slot !== 1;
      // A held note (HOLD, or under `holds: pitch` the pitch the voice sounds).
      if (name === 'HOLD' || tokenizer.keeps(id, sounding[voice])) return !finalStarted && (sounding[voice]! > 0 ? fits(sounding[voice]!) : slot !== 1);
      const pitch = pitchOf(id);
      return pitch === undefined ? true : innerMayStrike && fits(pitch);
    };
  }
  return undefined;
}

/**
 * `voices`: holds that complete the last step and keep the final chord sounding at least
 * FINAL_MIN_STEPS more steps. Other encodings carry the length in the note's own duration token.
 */
export function cadenceCoda(tokenizer: Tokenizer, generated: readonly number[], prompt: readonly number[]): number[] {
  if (!(tokenizer instanceof VoicesTokenizer)) return [];
  const all = [...prompt, ...generated];
  const slots = all.filter((id) => !['BOS', 'PAD', 'EOS'].includes(tokenizer.tokenName(id))).length;
  const completion = slots % 4 === 0 ? 0 : 4 - (slots % 4);
  const { sounding } = voicesStateAfter(tokenizer, all);
  return Array.from({ length: completion + 4 * (FINAL_MIN_STEPS - 1) }, (_, i) => tokenizer.holdIdAt(slots + i, sounding[VOICE_ORDER[(slots + i) % 4]!]!));
}
