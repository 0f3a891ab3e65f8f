/**
 * The tutorial's encoding (Sigurður Skúli, "How to Generate Music using a LSTM Neural Network in
 * Keras", 2017), kept as the baseline:
 *   - a single note becomes `str(note.pitch)` as music21 spells a MIDI pitch: C, C#, D, E-, E, F, F#,
 *     G, G#, A, B-, B plus the octave (middle C = "C4", MIDI 0 = "C-1");
 *   - a chord (notes sharing an onset) becomes its pitch classes in music21's `normalOrder`, joined
 *     by dots ("4.7.11", "11.2.3.7");
 *   - no timing at all. Decoding places one event every half beat (offset += 0.5), each note one
 *     quarter long (music21's default duration), chord tones at octave 4.
 *
 * Differences from the tutorial, on purpose: it reads only `parts[0]` of each file; we read every
 * non-drum note. Identical pitches at one onset (e.g. doubled across tracks) count once, so a
 * unison is a note, not the chord token "7". When decoding, a pitch struck again while still
 * sounding is cut at the new onset, because overlapping same-pitch notes are ill-defined in MIDI.
 */
import { MotifError } from '../../errors.js';
import { emptySequence, type Note, type NoteSequence } from '../note-sequence.js';
import type { DecodeOptions, EncodeOptions, EventCounter, SeedTokenizerSpec, Tokenizer } from './types.js';
import { createVocabulary, growVocabulary, sortedTokenSet, type Vocabulary } from './vocabulary.js';

/** music21's spelling of MIDI pitch classes (pitch._convertPsToStep): sharps except E- and B-. */
const PITCH_CLASS_NAMES = ['C', 'C#', 'D', 'E-', 'E', 'F', 'F#', 'G', 'G#', 'A', 'B-', 'B'] as const;
const STEP_PITCH_CLASS: Record<string, number> = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };

/** Output grid of decoded seed sequences. */
const DECODE_STEPS_PER_QUARTER = 4;
/** Half a beat between events, as the tutorial's `offset += 0.5`. */
const DECODE_STEPS_PER_EVENT = 2;
/** music21's default note length, one quarter. */
const DECODE_DURATION_STEPS = 4;
/** Chord tones are written at octave 4 (MIDI 60 + pitch class). */
const CHORD_BASE_PITCH = 60;

/** `str(pitch)` in music21 for a MIDI pitch 0–127, e.g. 63 → "E-4", 0 → "C-1". */
export function music21PitchName(pitch: number): string {
  const pc = ((pitch % 12) + 12) % 12;
  return `${PITCH_CLASS_NAMES[pc]}${Math.floor(pitch / 12) - 1}`;
}

const NAME_TO_PITCH = new Map<string, number>(Array.from({ length: 128 }, (_, p) => [music21PitchName(p), p]));

/**
 * MIDI pitch of a music21 pitch name. Our own spellings are looked up first ("C-1" is MIDI 0, not
 * C-flat 1); other spellings ("D-4", "C##3", "Bb2") are parsed generally. music21's notation is
 * itself ambiguous for MIDI 4 and 11 ("E-1", "B-1" also read as E-flat 1 / B-flat 1): like music21,
 * we read the flat, so those two sub-audio pitches do not round-trip.
 * @returns undefined when the name is not a pitch or falls outside 0–127.
 */
export function parseMusic21PitchName(name: string): number | undefined {
  const known = NAME_TO_PITCH.get(name);
  if (known !== undefined) return known;
  const match = /^([A-Ga-g])(#+|-+|b+)?(-?\d+)$/.exec(name);
  if (!match) return undefined;
  const step = STEP_PITCH_CLASS[match[1]!.toUpperCase()]!;
  const accidental = match[2] ?? '';
  const alter = accidental.startsWith('#') ? accidental.length : -accidental.length;
  const pitch = (Number(match[3]) + 1) * 12 + step + alter;
  return pitch >= 0 && pitch <= 127 ? pitch : undefined;
}

/**
 * music21's `Chord.normalOrder` for a set of pitch classes: Forte's normal order (smallest span
 * first-to-last; ties broken by the smallest interval from the first to the second, then third…
 * element, i.e. packed to the left); fully symmetric sets start on their lowest pitch class.
 * Matches music21's documented cases: {0,3,7} → [0,3,7], {2,5,10} → [10,2,5],
 * {2,7,8,9} → [7,8,9,2], {2,3,7,11} → [11,2,3,7].
 */
export function normalOrder(pitchClasses: Iterable<number>): number[] {
  const pcs = [...new Set([...pitchClasses].map((p) => ((p % 12) + 12) % 12))].sort((a, b) => a - b);
  const n = pcs.length;
  if (n <= 1) return pcs;
  let best: number[] = pcs;
  for (let r = 1; r < n; r++) {
    const rotation = [...pcs.slice(r), ...pcs.slice(0, r)];
    if (isMoreCompact(rotation, best)) best = rotation;
  }
  return best;
}

/** Forte's comparison: span first→last, then first→second, first→third, … (strictly smaller wins). */
function isMoreCompact(a: number[], b: number[]): boolean {
  const span = (xs: number[], i: number): number => ((xs[i]! - xs[0]!) % 12 + 12) % 12;
  const last = a.length - 1;
  if (span(a, last) !== span(b, last)) return span(a, last) < span(b, last);
  for (let i = 1; i < last; i++) {
    if (span(a, i) !== span(b, i)) return span(a, i) < span(b, i);
  }
  return false; // identical shape (symmetric set): keep the earlier rotation, i.e. the lowest first pc
}

/** A chord token from pitch classes: normal order joined by dots. */
export function chordToken(pitchClasses: Iterable<number>): string {
  return normalOrder(pitchClasses).join('.');
}

/**
 * The tutorial's token strings for a sequence: one per onset with notes (drums excluded).
 */
export function seedTokens(seq: NoteSequence): string[] {
  const byOnset = new Map<number, Set<number>>();
  for (const note of seq.notes) {
    if (note.isDrum) continue;
    let pitches = byOnset.get(note.startStep);
    if (!pitches) byOnset.set(note.startStep, (pitches = new Set()));
    pitches.add(note.pitch);
  }
  return [...byOnset.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, pitches]) => (pitches.size === 1 ? music21PitchName([...pitches][0]!) : chordToken([...pitches].map((p) => p % 12))));
}

/** The tutorial's vocabulary: `sorted(set(notes))` over a corpus. */
export function buildSeedVocabulary(seqs: Iterable<NoteSequence>): string[] {
  const all: string[] = [];
  for (const seq of seqs) all.push(...seedTokens(seq));
  return sortedTokenSet(all);
}

/** Fine-tuning: appends tokens of new data not yet known, keeping old ids. */
export function growSeedVocabulary(vocabulary: readonly string[], seqs: Iterable<NoteSequence>): { vocabulary: string[]; added: number } {
  const all: string[] = [];
  for (const seq of seqs) all.push(...seedTokens(seq));
  return growVocabulary(vocabulary, all);
}

/** MIDI pitches a seed token decodes to, or undefined when the token is not a note or chord. */
export function seedTokenPitches(token: string): number[] | undefined {
  if (/^\d+(\.\d+)*$/.test(token)) {
    const pcs = token.split('.').map(Number);
    return pcs.every((pc) => pc < 12) ? pcs.map((pc) => CHORD_BASE_PITCH + pc) : undefined;
  }
  const pitch = parseMusic21PitchName(token);
  return pitch === undefined ? undefined : [pitch];
}

class SeedTokenizer implements Tokenizer {
  readonly name = 'seed' as const;
  readonly vocabSize: number;
  private readonly vocab: Vocabulary;
  private readonly pitchesById: (number[] | undefined)[];

  constructor(vocabulary: readonly string[]) {
    this.vocab = createVocabulary(vocabulary);
    this.vocabSize = vocabulary.length;
    this.pitchesById = vocabulary.map(seedTokenPitches);
  }

  encode(seq: NoteSequence, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    const unknown: string[] = [];
    for (const token of seedTokens(seq)) {
      const id = this.vocab.idOf(token);
      if (id === undefined) unknown.push(token);
      else ids.push(id);
    }
    if (unknown.length > 0 && (opts.onUnknown ?? 'throw') === 'throw') {
      const examples = [...new Set(unknown)].slice(0, 5).join(', ');
      throw new MotifError(
        'SEED_OUT_OF_VOCABULARY',
        `The seed has ${unknown.length} note(s) or chord(s) this model never saw in training (for example ${examples}). Try another seed, or a model trained with the event encoding.`,
      );
    }
    return ids;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): NoteSequence {
    const program = opts.program ?? 0;
    const seq = emptySequence({ stepsPerQuarter: DECODE_STEPS_PER_QUARTER, qpm: opts.qpm, program });
    const notes: Note[] = [];
    const lastByPitch = new Map<number, Note>();
    let startStep = 0;
    for (const id of ids) {
      const pitches = Number.isInteger(id) ? this.pitchesById[id] : undefined;
      if (!pitches) continue;
      for (const pitch of new Set(pitches)) {
        const previous = lastByPitch.get(pitch);
        if (previous && previous.endStep > startStep) previous.endStep = startStep;
        const note: Note = { pitch, velocity: 100, startStep, endStep: startStep + DECODE_DURATION_STEPS, program, isDrum: false, track: 0 };
        notes.push(note);
        lastByPitch.set(pitch, note);
      }
      startStep += DECODE_STEPS_PER_EVENT;
    }
    notes.sort((a, b) => a.startStep - b.startStep || a.pitch - b.pitch);
    const totalSteps = notes.reduce((max, n) => Math.max(max, n.endStep), 0);
    return { ...seq, notes, totalSteps };
  }

  tokenName(id: number): string {
    return this.vocab.tokens[id] ?? `<unk:${id}>`;
  }

  tokenPitchClasses(id: number): readonly number[] | undefined {
    const pitches = this.pitchesById[id];
    return pitches ? [...new Set(pitches.map((p) => p % 12))] : undefined;
  }

  startIds(): number[] {
    return [];
  }

  createEventCounter(): EventCounter {
    let count = 0;
    const pitchesById = this.pitchesById;
    return {
      push(id: number): boolean {
        if (!Number.isInteger(id) || !pitchesById[id]) return false;
        count++;
        return true;
      },
      get count() {
        return count;
      },
      ended: false,
    };
  }

  toJSON(): SeedTokenizerSpec {
    return { name: 'seed', version: 1, vocabulary: [...this.vocab.tokens] };
  }
}

/**
 * @throws Error on duplicate tokens.
 */
export function createSeedTokenizer(vocabulary: readonly string[]): Tokenizer {
  return new SeedTokenizer(vocabulary);
}
