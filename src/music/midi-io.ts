/**
 * MIDI file ⇄ NoteSequence, the only place where ticks and 0–1 velocities meet Motif's step grid.
 *
 * Reading: our own validating reader (midi-smf-scan.ts; why not tonejs is explained there), then
 * quantisation in ticks, never in seconds, so tempo changes cannot smear the grid.
 * Writing: @tonejs/midi encodes one MIDI track per Track.
 */
import { open, stat } from 'node:fs/promises';
import tonejsMidi from '@tonejs/midi';
import { assertInRange, MotifError } from '../errors.js';
import { resolveMidiLimits, formatBytes, type MidiLimits } from './midi-limits.js';
import { scanSmf, type ScannedNote } from './midi-smf-scan.js';
import {
  DEFAULT_QPM,
  DEFAULT_STEPS_PER_QUARTER,
  type Note,
  type NoteSequence,
  type TempoChange,
  type TimeSignature,
  type Track,
} from './note-sequence.js';
import { quantizeSpan, resolveSamePitchOverlaps, ticksToStep } from './quantize.js';

const { Midi } = tonejsMidi;

export interface ReadMidiOptions {
  /** Grid resolution, steps per quarter note, 1–960 (default 4: sixteenth notes). */
  stepsPerQuarter?: number;
  /** Overrides for DEFAULT_MIDI_LIMITS. */
  limits?: Partial<MidiLimits>;
}

const DRUM_CHANNEL = 9;
/** Ticks per quarter we aim for when writing; rounded to a multiple of the grid. */
const WRITE_TICKS_PER_QUARTER = 480;

/**
 * Parses a Standard MIDI File (format 0, 1 or 2; RMID-wrapped too) into a NoteSequence.
 *
 * All tracks are kept. A source track that mixes channels or programs becomes one Track per
 * (channel, program) — as tonejs does — in order of first note; tracks without notes are dropped.
 * Channel 10 notes are drums. Onsets and offsets are rounded to the nearest step; every note lasts
 * at least one step; same-pitch overlaps are resolved (resolveSamePitchOverlaps); notes are sorted.
 * Tempo changes and time signatures are placed on the grid (first entry always at step 0; 120 qpm
 * and 4/4 when the file has none). totalSteps reaches the file's last event (its end of track).
 * A file with no notes gives a sequence with no notes; use assertHasNotes when notes are required.
 * @throws MotifError MIDI_TOO_LARGE, MIDI_INVALID or MIDI_LIMIT_EXCEEDED, with a message for users;
 *   OPTION_OUT_OF_RANGE for a bad stepsPerQuarter or limit.
 */
export function readMidi(bytes: Uint8Array, opts: ReadMidiOptions = {}): NoteSequence {
  const stepsPerQuarter = opts.stepsPerQuarter ?? DEFAULT_STEPS_PER_QUARTER;
  assertInRange('stepsPerQuarter', stepsPerQuarter, 1, 960, { integer: true });
  const limits = resolveMidiLimits(opts.limits);
  const scan = scanSmf(bytes, limits);
  const tpq = scan.ticksPerQuarter;

  const tracks: Track[] = [];
  const notes: Note[] = [];
  scan.tracks.forEach((source, sourceIndex) => {
    const trackByVoice = new Map<number, number>();
    // Order by onset so that split tracks appear in order of their first note.
    const sorted = [...source.notes].sort((a, b) => a.startTick - b.startTick);
    for (const n of sorted) {
      const voiceKey = n.channel * 128 + n.program;
      let trackIndex = trackByVoice.get(voiceKey);
      if (trackIndex === undefined) {
        trackIndex = tracks.length;
        trackByVoice.set(voiceKey, trackIndex);
        tracks.push({ name: decodeName(source.name) || `Track ${sourceIndex + 1}`, program: n.program, isDrum: n.channel === DRUM_CHANNEL });
        if (tracks.length > limits.maxTracks) {
          throw new MotifError('MIDI_LIMIT_EXCEEDED', `This MIDI file has more than ${limits.maxTracks} instrument tracks; that is the limit.`);
        }
      }
      notes.push(toGridNote(n, trackIndex, tpq, stepsPerQuarter));
    }
  });

  const tempos = placeOnGrid<TempoChange>(
    scan.tempos.map((t) => ({ step: ticksToStep(t.tick, tpq, stepsPerQuarter), qpm: readableQpm(t.microsecondsPerQuarter) })),
    { step: 0, qpm: DEFAULT_QPM },
    (a, b) => a.qpm === b.qpm,
  );
  const timeSignatures = placeOnGrid<TimeSignature>(
    scan.timeSignatures.map((t) => ({ step: ticksToStep(t.tick, tpq, stepsPerQuarter), numerator: t.numerator, denominator: t.denominator })),
    { step: 0, numerator: 4, denominator: 4 },
    (a, b) => a.numerator === b.numerator && a.denominator === b.denominator,
  );

  const resolved = resolveSamePitchOverlaps(notes);
  const lastEnd = resolved.reduce((max, n) => Math.max(max, n.endStep), 0);
  return {
    stepsPerQuarter,
    tempos,
    timeSignatures,
    tracks,
    notes: resolved,
    totalSteps: Math.max(lastEnd, ticksToStep(scan.endTick, tpq, stepsPerQuarter)),
  };
}

function toGridNote(n: ScannedNote, track: number, ticksPerQuarter: number, stepsPerQuarter: number): Note {
  const span = quantizeSpan(n.startTick, n.endTick, ticksPerQuarter, stepsPerQuarter);
  return { pitch: n.pitch, velocity: n.velocity, ...span, program: n.program, isDrum: n.channel === DRUM_CHANNEL, track };
}

/**
 * Sorts grid events by step, keeps the last one per step, drops repeats of the value in force, and
 * makes sure the map starts at step 0 (with `initial` when the file says nothing there).
 */
function placeOnGrid<T extends { step: number }>(events: T[], initial: T, same: (a: T, b: T) => boolean): T[] {
  const byStep = new Map<number, T>();
  for (const e of [...events].sort((a, b) => a.step - b.step)) byStep.set(e.step, e);
  if (!byStep.has(0)) byStep.set(0, initial);
  const result: T[] = [];
  for (const e of [...byStep.values()].sort((a, b) => a.step - b.step)) {
    const last = result[result.length - 1];
    if (last === undefined || !same(last, e)) result.push(e);
  }
  return result;
}

/**
 * MIDI stores microseconds per quarter, so 90 qpm comes back as 89.99996. Round to 3 decimals when
 * that still names the same microsecond value, so tempos survive write → read unchanged.
 */
function readableQpm(micros: number): number {
  const rounded = Math.round(60_000_000_000 / micros) / 1000;
  return Math.round(60_000_000 / rounded) === micros ? rounded : 60_000_000 / micros;
}

/** Track names arrive as latin1; most modern files write UTF-8, so prefer that when it decodes. */
function decodeName(latin1: string): string {
  const utf8 = Buffer.from(latin1, 'latin1').toString('utf8');
  return (utf8.includes('\uFFFD') ? latin1 : utf8).trim();
}

/**
 * Encodes a NoteSequence as a format-1 MIDI file: a conductor track (tempo map, time signatures)
 * and one track per Track, with its name and program. Drum tracks use channel 10; the others take
 * channels 1–9, 11–16 in order (reused past 15 tracks). Note program and drum flags come from
 * their Track. Same-pitch overlaps are resolved as resolveSamePitchOverlaps describes, and the
 * file's end is placed at totalSteps, so readMidi(writeMidi(seq)) returns seq on the same grid.
 * @throws MotifError OPTION_OUT_OF_RANGE when a note, track or tempo is outside MIDI's ranges.
 */
export function writeMidi(seq: NoteSequence): Uint8Array {
  assertInRange('stepsPerQuarter', seq.stepsPerQuarter, 1, 960, { integer: true });
  const spq = seq.stepsPerQuarter;
  const ticksPerStep = Math.max(1, Math.round(WRITE_TICKS_PER_QUARTER / spq));
  const ppq = ticksPerStep * spq;

  const midi = new Midi();
  const lastEvent = seq.notes.reduce((max, n) => Math.max(max, n.endStep), seq.totalSteps);
  midi.header.fromJSON({
    name: '',
    ppq,
    tempos: seq.tempos.map((t) => {
      assertInRange('qpm', t.qpm, 4, 60_000_000);
      // tonejs writes floor(60e6 / bpm); aim half a microsecond up so that floor gives the nearest value.
      const micros = Math.round(60_000_000 / t.qpm);
      return { ticks: t.step * ticksPerStep, bpm: 60_000_000 / (micros + 0.5) };
    }),
    timeSignatures: seq.timeSignatures.map((t) => {
      assertInRange('numerator', t.numerator, 1, 255, { integer: true });
      if (![1, 2, 4, 8, 16, 32, 64].includes(t.denominator)) {
        throw new MotifError('OPTION_OUT_OF_RANGE', `A time signature's lower number must be 1, 2, 4, 8, 16, 32 or 64 (got ${t.denominator}).`);
      }
      return { ticks: t.step * ticksPerStep, timeSignature: [t.numerator, t.denominator] };
    }),
    keySignatures: [],
    // An empty text event at totalSteps keeps trailing silence through a round trip.
    meta: [{ type: 'text', text: '', ticks: lastEvent * ticksPerStep }],
  });

  let nextChannel = 0;
  const tracks = seq.tracks.map((t) => {
    const track = midi.addTrack();
    // tonejs writes one byte per char; hand it UTF-8 bytes as latin1 chars so any name survives.
    track.name = Buffer.from(t.name, 'utf8').toString('latin1');
    assertInRange('program', t.program, 0, 127, { integer: true });
    track.instrument.number = t.program;
    if (t.isDrum) {
      track.channel = DRUM_CHANNEL;
    } else {
      track.channel = nextChannel;
      nextChannel = nextChannel === 15 ? 0 : nextChannel + 1;
      if (nextChannel === DRUM_CHANNEL) nextChannel++;
    }
    return track;
  });

  for (const note of resolveSamePitchOverlaps(seq.notes)) {
    const track = tracks[note.track];
    if (!track) throw new MotifError('OPTION_OUT_OF_RANGE', `A note refers to track ${note.track}, which does not exist.`);
    assertInRange('pitch', note.pitch, 0, 127, { integer: true });
    assertInRange('velocity', note.velocity, 1, 127, { integer: true });
    track.addNote({
      midi: note.pitch,
      ticks: note.startStep * ticksPerStep,
      durationTicks: (note.endStep - note.startStep) * ticksPerStep,
      // tonejs writes floor(velocity * 127): aim at the middle of the integer to survive rounding.
      velocity: (note.velocity + 0.5) / 127,
    });
  }
  return midi.toArray();
}

/**
 * Reads a MIDI file from disk, refusing it by size before loading it into memory.
 * @throws MotifError MIDI_TOO_LARGE, NOT_FOUND, or anything readMidi throws.
 */
export async function readMidiFile(path: string, opts: ReadMidiOptions = {}): Promise<NoteSequence> {
  const limits = resolveMidiLimits(opts.limits);
  let sizeBytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    sizeBytes = info.size;
  } catch (cause) {
    throw new MotifError('NOT_FOUND', 'That MIDI file could not be found.', { cause, detail: path });
  }
  if (sizeBytes > limits.maxBytes) {
    throw new MotifError('MIDI_TOO_LARGE', `This MIDI file is ${formatBytes(sizeBytes)}; the limit is ${formatBytes(limits.maxBytes)}.`);
  }
  // Read at most maxBytes + 1 even if the file grows between stat and read.
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(Math.min(sizeBytes, limits.maxBytes) + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buffer.length) break;
    }
    return readMidi(buffer.subarray(0, filled), opts);
  } finally {
    await handle.close();
  }
}

/**
 * For callers that need music: refuses a sequence without notes.
 * @throws MotifError MIDI_EMPTY.
 */
export function assertHasNotes(seq: NoteSequence): void {
  if (seq.notes.length === 0) throw new MotifError('MIDI_EMPTY', 'This MIDI file has no notes in it.');
}
