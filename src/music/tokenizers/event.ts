/**
 * The default, rhythm-aware encoding on a sixteenth-note grid (in the spirit of Oore et al.'s
 * performance events and Huang & Yang's REMI, simplified for a small LSTM):
 *
 *   sequence  = BOS METER group* EOS
 *   group     = advance (VEL? NOTE DUR)+        — the notes of one onset, lowest pitch first
 *   advance   = BAR* SHIFT*                      — BAR jumps to the next bar line, SHIFT_n moves n steps
 *
 * Bars are counted from step 0 with the length of the piece's first time signature, so BAR tokens
 * tell the model where the downbeat is and keep TIME_SHIFTs short. Decoding is a tolerant state
 * machine: every id sequence gives a valid NoteSequence (orphan DURs are ignored, a NOTE without DUR
 * gets the default length, PAD/BOS are skipped, nothing after EOS counts, a pitch struck again while
 * sounding is cut at the new onset, a second NOTE of the same pitch at one onset is merged).
 */
import { MotifError } from '../../errors.js';
import { emptySequence, type Note, type NoteSequence } from '../note-sequence.js';
import { pitchName } from '../pitch-name.js';
import type { DecodeOptions, EncodeOptions, EventCounter, EventTokenizerConfig, EventTokenizerSpec, PositionTracker, SamplingGuard, SamplingRules, Tokenizer } from './types.js';

export const DEFAULT_EVENT_CONFIG: Readonly<EventTokenizerConfig> = Object.freeze({
  stepsPerQuarter: 4,
  pitchMin: 21,
  pitchMax: 108,
  maxShiftSteps: 16,
  durationBucketsSteps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 24, 28, 32, 40, 48, 64],
  velocityBins: 0,
  meters: ['4/4', '3/4', '2/4', '6/8', '2/2', '3/8', '9/8', '12/8', '5/4', '3/2'],
  defaultDurationSteps: 4,
  defaultVelocity: 80,
});

export type EventTokenKind = 'pad' | 'bos' | 'eos' | 'bar' | 'meter' | 'shift' | 'note' | 'duration' | 'velocity';

/**
 * A melody (monophonic rule) strikes one pitch at most this many times in a row: the longest run in
 * the folk corpus (1,146 tunes). Without it a sampled tune could stick on one note for bars.
 */
export const MAX_MELODY_REPEATS = 6;

export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const BAR_ID = 3;

interface Layout {
  meter: number;
  shift: number;
  note: number;
  duration: number;
  velocity: number;
  size: number;
}

function layoutOf(c: EventTokenizerConfig): Layout {
  const meter = 4;
  const shift = meter + c.meters.length;
  const note = shift + c.maxShiftSteps;
  const duration = note + (c.pitchMax - c.pitchMin + 1);
  const velocity = duration + c.durationBucketsSteps.length;
  return { meter, shift, note, duration, velocity, size: velocity + c.velocityBins };
}

/**
 * @throws MotifError MODEL_CORRUPT when the config cannot describe a usable vocabulary.
 */
export function validateEventConfig(c: EventTokenizerConfig): void {
  const problems: string[] = [];
  const int = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (!int(c.stepsPerQuarter, 1, 96)) problems.push('stepsPerQuarter');
  if (!int(c.pitchMin, 0, 127) || !int(c.pitchMax, 0, 127) || c.pitchMax - c.pitchMin < 11) problems.push('pitch range (≥ 12 pitches)');
  if (!int(c.maxShiftSteps, 1, 1024)) problems.push('maxShiftSteps');
  const buckets = c.durationBucketsSteps;
  if (!Array.isArray(buckets) || buckets.length === 0 || !buckets.every((b, i) => int(b, 1, 4096) && (i === 0 || b > buckets[i - 1]!))) {
    problems.push('durationBucketsSteps (ascending integers ≥ 1)');
  }
  if (!int(c.velocityBins, 0, 127)) problems.push('velocityBins');
  if (!Array.isArray(c.meters) || c.meters.length === 0 || !c.meters.every((m) => parseMeter(m) !== undefined)) problems.push('meters');
  if (!int(c.defaultDurationSteps, 1, 4096)) problems.push('defaultDurationSteps');
  if (!int(c.defaultVelocity, 1, 127)) problems.push('defaultVelocity');
  if (problems.length > 0) {
    throw new MotifError('MODEL_CORRUPT', 'The model’s tokenizer settings are invalid.', { detail: problems.join(', ') });
  }
}

function parseMeter(meter: string): { numerator: number; denominator: number } | undefined {
  const m = /^(\d{1,2})\/(1|2|4|8|16|32)$/.exec(meter);
  if (!m || Number(m[1]) < 1) return undefined;
  return { numerator: Number(m[1]), denominator: Number(m[2]) };
}

/** Nearest bucket index (ties to the shorter). */
function durationBucketIndex(buckets: readonly number[], durationSteps: number): number {
  let best = 0;
  for (let i = 1; i < buckets.length; i++) {
    if (Math.abs(buckets[i]! - durationSteps) < Math.abs(buckets[best]! - durationSteps)) best = i;
  }
  return best;
}

function velocityBin(bins: number, velocity: number): number {
  return Math.min(bins - 1, Math.max(0, Math.floor(((velocity - 1) * bins) / 127)));
}

function velocityOfBin(bins: number, bin: number): number {
  return Math.max(1, Math.min(127, Math.round(1 + ((bin + 0.5) * 127) / bins)));
}

export class EventTokenizer implements Tokenizer {
  readonly name = 'event' as const;
  readonly vocabSize: number;
  readonly config: EventTokenizerConfig;
  private readonly layout: Layout;

  constructor(config: EventTokenizerConfig = DEFAULT_EVENT_CONFIG) {
    validateEventConfig(config);
    this.config = structuredClone({ ...config });
    this.layout = layoutOf(this.config);
    this.vocabSize = this.layout.size;
  }

  // ── ids ────────────────────────────────────────────────────────────────────

  kindOf(id: number): EventTokenKind | undefined {
    const l = this.layout;
    if (!Number.isInteger(id) || id < 0 || id >= l.size) return undefined;
    if (id === PAD_ID) return 'pad';
    if (id === BOS_ID) return 'bos';
    if (id === EOS_ID) return 'eos';
    if (id === BAR_ID) return 'bar';
    if (id < l.shift) return 'meter';
    if (id < l.note) return 'shift';
    if (id < l.duration) return 'note';
    if (id < l.velocity) return 'duration';
    return 'velocity';
  }

  /** MIDI pitch of a NOTE id, else undefined. */
  pitchOf(id: number): number | undefined {
    return this.kindOf(id) === 'note' ? this.config.pitchMin + (id - this.layout.note) : undefined;
  }

  noteId(pitch: number): number {
    return this.layout.note + (pitch - this.config.pitchMin);
  }

  shiftId(steps: number): number {
    return this.layout.shift + steps - 1;
  }

  durationId(bucketIndex: number): number {
    return this.layout.duration + bucketIndex;
  }

  meterId(meter: string): number | undefined {
    const i = this.config.meters.indexOf(meter);
    return i < 0 ? undefined : this.layout.meter + i;
  }

  tokenName(id: number): string {
    const l = this.layout;
    switch (this.kindOf(id)) {
      case 'pad':
        return 'PAD';
      case 'bos':
        return 'BOS';
      case 'eos':
        return 'EOS';
      case 'bar':
        return 'BAR';
      case 'meter':
        return `METER_${this.config.meters[id - l.meter]}`;
      case 'shift':
        return `SHIFT_${id - l.shift + 1}`;
      case 'note':
        return `NOTE_${this.pitchOf(id)}`;
      case 'duration':
        return `DUR_${this.config.durationBucketsSteps[id - l.duration]}`;
      case 'velocity':
        return `VEL_${id - l.velocity}`;
      default:
        return `<unk:${id}>`;
    }
  }

  tokenPitchClasses(id: number): readonly number[] | undefined {
    const pitch = this.pitchOf(id);
    return pitch === undefined ? undefined : [pitch % 12];
  }

  startIds(opts: { meter?: string } = {}): number[] {
    return [BOS_ID, this.meterId(opts.meter ?? this.config.meters[0]!) ?? this.layout.meter];
  }

  // ── encode ─────────────────────────────────────────────────────────────────

  /**
   * The sequence exactly as this encoding sees it: one track on this grid, drums dropped, pitches
   * folded into range by octaves, durations snapped to buckets, duplicates merged, same-pitch
   * overlaps cut, velocities binned. `decode(encode(x))` reproduces `canonicalize(x)`'s notes.
   */
  canonicalize(seq: NoteSequence, program = 0): NoteSequence {
    const c = this.config;
    const notes = cutSamePitchOverlaps(this.snapNotes(seq, program));
    const meter = this.meterOf(seq);
    const parsed = parseMeter(meter)!;
    return {
      stepsPerQuarter: c.stepsPerQuarter,
      tempos: [{ step: 0, qpm: seq.tempos[0]?.qpm ?? 120 }],
      timeSignatures: [{ step: 0, ...parsed }],
      tracks: [{ name: 'Motif', program, isDrum: false }],
      notes,
      totalSteps: notes.reduce((max, n) => Math.max(max, n.endStep), 0),
    };
  }

  /**
   * A user's file must fit the pitch range as it is: folding its notes by octaves would quietly
   * change their music (training data may fold: onUnknown 'skip').
   * @throws MotifError SEED_OUT_OF_VOCABULARY
   */
  private assertInRange(seq: NoteSequence): void {
    const c = this.config;
    const outside = seq.notes.filter((n) => !n.isDrum && (n.pitch < c.pitchMin || n.pitch > c.pitchMax)).length;
    if (outside === 0) return;
    throw new MotifError(
      'SEED_OUT_OF_VOCABULARY',
      `${outside} of the seed’s notes lie outside the pitches the model knows (MIDI ${c.pitchMin}–${c.pitchMax}, ` +
        `${pitchName(c.pitchMin)}–${pitchName(c.pitchMax)}). Transpose them into that range or remove them.`,
    );
  }

  /** Grid, range, bucket and velocity snapping plus duplicate merging — before same-pitch cuts. */
  private snapNotes(seq: NoteSequence, program: number): Note[] {
    const c = this.config;
    const scale = c.stepsPerQuarter / seq.stepsPerQuarter;
    const byKey = new Map<string, Note>();
    for (const n of seq.notes) {
      if (n.isDrum) continue;
      const startStep = Math.max(0, Math.round(n.startStep * scale));
      const rawDuration = Math.max(1, Math.round(n.endStep * scale) - startStep);
      const durationSteps = c.durationBucketsSteps[durationBucketIndex(c.durationBucketsSteps, rawDuration)]!;
      let pitch = n.pitch;
      while (pitch < c.pitchMin) pitch += 12;
      while (pitch > c.pitchMax) pitch -= 12;
      const velocity = c.velocityBins > 0 ? velocityOfBin(c.velocityBins, velocityBin(c.velocityBins, n.velocity)) : c.defaultVelocity;
      const key = `${startStep}:${pitch}`;
      const existing = byKey.get(key);
      if (!existing || existing.endStep - existing.startStep < durationSteps) {
        byKey.set(key, { pitch, velocity, startStep, endStep: startStep + durationSteps, program, isDrum: false, track: 0 });
      }
    }
    return [...byKey.values()].sort((a, b) => a.startStep - b.startStep || a.pitch - b.pitch);
  }

  /** The meter token used for a sequence: its first time signature if it has a token, else the default. */
  meterOf(seq: NoteSequence): string {
    const ts = seq.timeSignatures[0];
    const name = ts ? `${ts.numerator}/${ts.denominator}` : '';
    return this.config.meters.includes(name) ? name : this.config.meters[0]!;
  }

  encode(seq: NoteSequence, opts: EncodeOptions = {}): number[] {
    const c = this.config;
    if ((opts.onUnknown ?? 'throw') === 'throw') this.assertInRange(seq);
    const notes = this.snapNotes(seq, 0);
    const meter = this.meterOf(seq);
    const barSteps = barLengthSteps(meter, c.stepsPerQuarter);
    const ids: number[] = [];
    if (opts.bos ?? true) ids.push(BOS_ID, this.meterId(meter)!);
    let time = 0;
    let currentVelocityBin = -1;
    let groupTime = -1;
    for (const note of notes) {
      if (note.startStep !== groupTime) {
        groupTime = note.startStep;
        for (let bar = nextBarLine(time, barSteps); bar <= groupTime; bar = nextBarLine(time, barSteps)) {
          ids.push(BAR_ID);
          time = bar;
        }
        while (groupTime - time > 0) {
          const shift = Math.min(c.maxShiftSteps, groupTime - time);
          ids.push(this.shiftId(shift));
          time += shift;
        }
      }
      if (c.velocityBins > 0) {
        const bin = velocityBin(c.velocityBins, note.velocity);
        if (bin !== currentVelocityBin) {
          ids.push(this.layout.velocity + bin);
          currentVelocityBin = bin;
        }
      }
      ids.push(this.noteId(note.pitch));
      ids.push(this.durationId(durationBucketIndex(c.durationBucketsSteps, note.endStep - note.startStep)));
    }
    if (opts.eos ?? true) ids.push(EOS_ID);
    return ids;
  }

  // ── decode ─────────────────────────────────────────────────────────────────

  decode(ids: readonly number[], opts: DecodeOptions = {}): NoteSequence {
    const c = this.config;
    const program = opts.program ?? 0;
    const machine = new EventMachine(this);
    const notes: Note[] = [];
    let pending: { pitch: number; startStep: number; velocity: number } | undefined;
    const flush = (durationSteps: number): void => {
      if (!pending) return;
      notes.push({ ...pending, endStep: pending.startStep + durationSteps, program, isDrum: false, track: 0 });
      pending = undefined;
    };
    for (const id of ids) {
      const step = machine.push(id);
      if (step.kind === 'duration' && pending) flush(step.durationSteps);
      else if (step.kind === 'note') {
        flush(c.defaultDurationSteps);
        pending = { pitch: step.pitch, startStep: machine.time, velocity: machine.velocity };
      } else if (step.kind !== 'ignored' && step.kind !== 'velocity') flush(c.defaultDurationSteps);
      if (machine.ended) break;
    }
    flush(c.defaultDurationSteps);

    const merged = new Map<string, Note>();
    for (const n of notes) {
      const key = `${n.startStep}:${n.pitch}`;
      const existing = merged.get(key);
      if (!existing || existing.endStep < n.endStep) merged.set(key, n);
    }
    const finalNotes = cutSamePitchOverlaps([...merged.values()]);
    const base = emptySequence({ stepsPerQuarter: c.stepsPerQuarter, qpm: opts.qpm, program });
    const meter = parseMeter(machine.meter)!;
    return {
      ...base,
      timeSignatures: [{ step: 0, ...meter }],
      notes: finalNotes,
      totalSteps: finalNotes.reduce((max, n) => Math.max(max, n.endStep), 0),
    };
  }

  /**
   * Silence is what the time tokens (BAR, SHIFT) make: one that moves the clock so far past the end
   * of every sounding note that a whole quarter-note beat lies in between is refused. A melody
   * (`monophonic`) refuses a second NOTE at an onset that already has one, and a pitch struck
   * MAX_MELODY_REPEATS times in a row. NOTE tokens never advance time and some NOTE is always
   * allowed, so sampling always has a choice.
   */
  createSamplingGuard(rules: SamplingRules): SamplingGuard {
    const machine = new EventMachine(this);
    const spq = this.config.stepsPerQuarter;
    let soundingUntil = 0;
    let pendingStart: number | undefined;
    let lastOnset = -1;
    // A melody's run of one pitch struck again and again.
    let runPitch = -1;
    let runLength = 0;
    return {
      push(id: number): void {
        const step = machine.push(id);
        if (step.kind === 'note') {
          pendingStart = machine.time;
          lastOnset = machine.time;
          runLength = step.pitch === runPitch ? runLength + 1 : 1;
          runPitch = step.pitch;
        } else if (step.kind === 'duration' && pendingStart !== undefined) {
          soundingUntil = Math.max(soundingUntil, pendingStart + step.durationSteps);
          pendingStart = undefined;
        }
      },
      allows: (id: number): boolean => {
        // The grammar first (NOTE DUR pairs): the decoder tolerates an orphan DUR, but a sampler that
        // may not place the note it wanted (monophonic) would otherwise emit DURs forever.
        const kind = this.kindOf(id);
        if ((kind === 'duration') !== (pendingStart !== undefined)) return false;
        if (rules.monophonic && kind === 'note') {
          if (machine.time === lastOnset) return false;
          if (runLength >= MAX_MELODY_REPEATS && this.pitchOf(id) === runPitch) return false;
        }
        if (!rules.noSilentBeats) return true;
        const to = machine.timeAfter(id);
        if (to === undefined) return true;
        const silentFrom = pendingStart !== undefined ? Math.max(soundingUntil, pendingStart + 1) : soundingUntil;
        const firstWholeBeat = Math.ceil(Math.max(silentFrom, 0) / spq) * spq;
        return firstWholeBeat + spq > to;
      },
    };
  }

  /**
   * The 16th within the bar after each token (0 on the bar line), so the network knows how much of
   * the bar is left: without it the models wrote bars a beat short and jumped over the rest with a
   * BAR token, the empty beats the silence guard had to refuse.
   */
  createPositionTracker(): PositionTracker {
    const machine = new EventMachine(this);
    return {
      push(id: number): number {
        machine.push(id);
        return machine.stepInBar;
      },
    };
  }

  createEventCounter(): EventCounter {
    const machine = new EventMachine(this);
    let count = 0;
    let lastOnset = -1;
    return {
      push(id: number): boolean {
        const step = machine.push(id);
        if (step.kind !== 'note' || machine.time === lastOnset) return false;
        lastOnset = machine.time;
        count++;
        return true;
      },
      get count() {
        return count;
      },
      get ended() {
        return machine.ended;
      },
    };
  }

  toJSON(): EventTokenizerSpec {
    return { name: 'event', version: 1, config: structuredClone(this.config) };
  }

  /** @internal used by EventMachine */
  get idLayout(): Readonly<Layout> {
    return this.layout;
  }
}

type MachineStep =
  | { kind: 'ignored' }
  | { kind: 'note'; pitch: number }
  | { kind: 'duration'; durationSteps: number }
  | { kind: 'time' }
  | { kind: 'velocity' }
  | { kind: 'end' };

/** Shared by decode and the event counter so they can never disagree about time or onsets. */
class EventMachine {
  time = 0;
  ended = false;
  meter: string;
  velocity: number;
  private barSteps: number;
  private sawNote = false;

  constructor(private readonly tokenizer: EventTokenizer) {
    const c = tokenizer.config;
    this.meter = c.meters[0]!;
    this.barSteps = barLengthSteps(this.meter, c.stepsPerQuarter);
    this.velocity = c.defaultVelocity;
  }

  /** Steps since the last bar line. */
  get stepInBar(): number {
    return this.time % this.barSteps;
  }

  /** Where the clock would be after `id`, for a token that moves it (BAR, SHIFT); else undefined. */
  timeAfter(id: number): number | undefined {
    if (this.ended) return undefined;
    const kind = this.tokenizer.kindOf(id);
    if (kind === 'bar') return nextBarLine(this.time, this.barSteps);
    if (kind === 'shift') return this.time + id - this.tokenizer.idLayout.shift + 1;
    return undefined;
  }

  push(id: number): MachineStep {
    if (this.ended) return { kind: 'ignored' };
    const t = this.tokenizer;
    const c = t.config;
    const l = t.idLayout;
    switch (t.kindOf(id)) {
      case 'eos':
        this.ended = true;
        return { kind: 'end' };
      case 'bar':
        this.time = nextBarLine(this.time, this.barSteps);
        return { kind: 'time' };
      case 'shift':
        this.time += id - l.shift + 1;
        return { kind: 'time' };
      case 'meter':
        // A meter only means something before the music starts; mid-piece it is noise from the sampler.
        if (this.sawNote) return { kind: 'ignored' };
        this.meter = c.meters[id - l.meter]!;
        this.barSteps = barLengthSteps(this.meter, c.stepsPerQuarter);
        return { kind: 'ignored' };
      case 'note':
        this.sawNote = true;
        return { kind: 'note', pitch: t.pitchOf(id)! };
      case 'duration':
        return { kind: 'duration', durationSteps: c.durationBucketsSteps[id - l.duration]! };
      case 'velocity':
        this.velocity = velocityOfBin(c.velocityBins, id - l.velocity);
        return { kind: 'velocity' };
      default:
        return { kind: 'ignored' }; // PAD, BOS, out-of-range or non-integer ids
    }
  }
}

function barLengthSteps(meter: string, stepsPerQuarter: number): number {
  const m = parseMeter(meter) ?? { numerator: 4, denominator: 4 };
  return Math.max(1, Math.round((stepsPerQuarter * 4 * m.numerator) / m.denominator));
}

function nextBarLine(time: number, barSteps: number): number {
  return (Math.floor(time / barSteps) + 1) * barSteps;
}

/** Sorts by (start, pitch) and cuts a note at the next onset of the same pitch. */
function cutSamePitchOverlaps(notes: Note[]): Note[] {
  notes.sort((a, b) => a.startStep - b.startStep || a.pitch - b.pitch);
  const lastByPitch = new Map<number, Note>();
  for (const n of notes) {
    const previous = lastByPitch.get(n.pitch);
    if (previous && previous.endStep > n.startStep) previous.endStep = n.startStep;
    lastByPitch.set(n.pitch, n);
  }
  return notes;
}

export function createEventTokenizer(config: Partial<EventTokenizerConfig> = {}): EventTokenizer {
  return new EventTokenizer({ ...DEFAULT_EVENT_CONFIG, ...config });
}
