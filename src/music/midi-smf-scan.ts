/**
 * Our own strict reader for Standard MIDI Files: one linear pass that validates the chunk structure
 * and every event, enforces the MidiLimits, and pairs notes.
 *
 * Why not let @tonejs/midi parse users' files: measured here, tonejs took 93 s for one track of
 * 200,000 notes (its note pairing splices arrays: O(n²)); and its parser (`midi-file`) reads past
 * the end of a buffer without noticing, turns 5-byte delta times into negative numbers, throws
 * plain strings on unknown chunks and system bytes, and overflows the stack on a huge text event.
 * tonejs still writes our files and serves as the reference our reader is tested against.
 *
 * Semantics chosen here (documented because they change what users hear):
 * - A note-on for a pitch that is already sounding on the same channel ends the sounding note first
 *   (retrigger). A note-off with nothing sounding is dropped.
 * - A note still sounding at the end of its track ends at the track's last event (drum tracks often
 *   send note-ons only); if that is the note's own start, the note is dropped.
 * - Format 2 tracks are independent patterns played one after another, so they are laid end to end.
 * - SMPTE (frames per second) timing is turned into ticks per quarter at a fixed tempo.
 * - System messages that may not appear in files (F1–F6, F8–FE) are skipped; running status survives
 *   meta and SysEx events, as real files assume.
 */
import { MotifError } from '../errors.js';
import { formatBytes, formatDuration, type MidiLimits } from './midi-limits.js';

export interface ScannedNote {
  /** MIDI channel 0–15 (9 is drums). */
  channel: number;
  /** Program in force on the channel at the note-on, 0–127. */
  program: number;
  pitch: number;
  /** 1–127. */
  velocity: number;
  startTick: number;
  /** ≥ startTick (equal for a note-on immediately followed by its note-off). */
  endTick: number;
}

export interface ScannedTrack {
  /** First track-name meta event, control characters removed, at most 64 bytes (latin1 chars). */
  name: string;
  notes: ScannedNote[];
  /** Tick of the track's last event (absolute, after format-2 offsets). */
  endTick: number;
}

export interface ScannedTempo {
  tick: number;
  microsecondsPerQuarter: number;
}

export interface ScannedTimeSignature {
  tick: number;
  numerator: number;
  denominator: number;
}

export interface SmfScan {
  /** Format of the source file (0, 1 or 2). */
  sourceFormat: number;
  /** Ticks per quarter note (SMPTE files are converted, see above). */
  ticksPerQuarter: number;
  tracks: ScannedTrack[];
  /** Tempo changes of all tracks, sorted by tick (stable). */
  tempos: ScannedTempo[];
  /** Time signatures of all tracks, sorted by tick (stable). */
  timeSignatures: ScannedTimeSignature[];
  /** Notes kept, over all tracks. */
  noteCount: number;
  /** Playing time up to the last event of any track, through the tempo map. */
  durationSeconds: number;
  /** Largest endTick over all tracks. */
  endTick: number;
}

const MAX_NAME_BYTES = 64;
const DEFAULT_MICROSECONDS_PER_QUARTER = 500_000;
/** Data bytes that follow each illegal-in-a-file system status byte (F1–FE). */
const SYSTEM_DATA_LENGTH: Readonly<Record<number, number>> = { 0xf1: 1, 0xf2: 2, 0xf3: 1 };
const SMPTE_FRAME_RATES: Readonly<Record<number, number>> = { 24: 24, 25: 25, 29: 29.97, 30: 30 };

function invalid(message: string): MotifError {
  return new MotifError('MIDI_INVALID', message);
}

function readAscii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) * 0x1000000) + (((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0));
}

function readUint16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

function isPrintableId(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 4; i++) {
    const b = bytes[offset + i];
    if (b === undefined || b < 0x20 || b > 0x7e) return false;
  }
  return true;
}

/** Names what the bytes look like, for "This file is not a MIDI file (…)". */
export function describeForeignBytes(bytes: Uint8Array): string {
  const ascii = readAscii(bytes, 0, Math.min(bytes.length, 12));
  if (ascii.startsWith('ID3') || (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0)) return 'it looks like an MP3 audio file';
  if (ascii.startsWith('OggS')) return 'it looks like an Ogg audio file';
  if (ascii.startsWith('fLaC')) return 'it looks like a FLAC audio file';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WAVE') return 'it looks like a WAV audio file';
  if (ascii.startsWith('%PDF')) return 'it looks like a PDF document';
  if (ascii.startsWith('PK')) return 'it looks like a ZIP archive';
  if (ascii.startsWith('\x89PNG')) return 'it looks like a PNG image';
  if (ascii.startsWith('X:') || ascii.startsWith('%abc')) return 'it looks like ABC notation text';
  if (bytes[0] === 0xf0) return 'it looks like a raw SysEx dump';
  const head = bytes.subarray(0, 8);
  let printableLength = 0;
  while (printableLength < head.length && (head[printableLength] ?? 0) >= 0x20 && (head[printableLength] ?? 0) < 0x7f) printableLength++;
  const shown = printableLength >= 4
    ? `"${readAscii(head, 0, printableLength)}"`
    : `the bytes ${Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`;
  return `it starts with ${shown} instead of "MThd"`;
}

/**
 * The whole file's work budget: every loop of the reader charges the bytes it advanced (at least
 * one), and every event counts. A file that would need more work than the limits allow, or a
 * reader bug that stopped a loop from advancing, ends in MIDI_LIMIT_EXCEEDED instead of a hang.
 */
class WorkBudget {
  private scannedBytes = 0;
  private events = 0;

  constructor(private readonly limits: MidiLimits) {}

  /** @throws MotifError MIDI_LIMIT_EXCEEDED past maxScanBytes; a plain Error when `bytes` < 1 (a loop that does not advance is a bug). */
  advance(bytes: number): void {
    if (!(bytes >= 1)) throw new Error(`internal: a MIDI reader loop advanced ${bytes} bytes`);
    this.scannedBytes += bytes;
    if (this.scannedBytes > this.limits.maxScanBytes) {
      throw new MotifError('MIDI_LIMIT_EXCEEDED', 'This MIDI file needs more work to read than any MIDI file of its size should; it cannot be read.');
    }
  }

  /** @throws MotifError MIDI_LIMIT_EXCEEDED past maxEvents. */
  countEvent(): void {
    if (++this.events > this.limits.maxEvents) {
      throw new MotifError('MIDI_LIMIT_EXCEEDED', `This MIDI file has more than ${this.limits.maxEvents.toLocaleString('en-US')} events; that is the limit.`);
    }
  }
}

/** Little-endian unsigned 32-bit (RIFF sizes); `>>> 0` keeps 2^31 and above positive. */
function readUint32LE(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8) | ((bytes[offset + 2] ?? 0) << 16) | ((bytes[offset + 3] ?? 0) << 24)) >>> 0;
}

/**
 * Returns the SMF inside an RMID (RIFF) wrapper, or the bytes unchanged. Sizes are unsigned and a
 * chunk that claims to run past the end of the file ends the walk, so the position only moves
 * forward: at least 8 bytes per chunk.
 */
function unwrapRiff(bytes: Uint8Array, budget: WorkBudget): Uint8Array {
  if (bytes.length < 12 || readAscii(bytes, 0, 4) !== 'RIFF' || readAscii(bytes, 8, 4) !== 'RMID') return bytes;
  let pos = 12;
  budget.advance(12);
  while (pos + 8 <= bytes.length) {
    const id = readAscii(bytes, pos, 4);
    const size = readUint32LE(bytes, pos + 4);
    const end = pos + 8 + size;
    if (id === 'data') {
      if (end > bytes.length) throw invalid('This RMID file is cut off: its MIDI data is incomplete.');
      budget.advance(8);
      return bytes.subarray(pos + 8, end);
    }
    if (end > bytes.length) {
      throw invalid(`This RMID file is broken: a "${id.replace(/[^\x20-\x7e]/g, '?')}" block says it is ${size.toLocaleString('en-US')} bytes long, past the end of the file, before any MIDI data.`);
    }
    const advanced = 8 + size + (size % 2);
    budget.advance(advanced);
    pos += advanced;
  }
  throw invalid('This RMID file holds no MIDI data.');
}

interface Header {
  format: number;
  trackCount: number;
  ticksPerQuarter: number;
  /** Set for SMPTE timing: the fixed tempo that makes ticksPerQuarter ticks last one quarter. */
  smpteMicrosecondsPerQuarter?: number;
  bodyOffset: number;
}

function readHeader(bytes: Uint8Array, limits: MidiLimits): Header {
  if (bytes.length < 14) throw invalid('This MIDI file is cut off inside its header.');
  const headerLength = readUint32(bytes, 4);
  if (headerLength < 6) throw invalid(`This MIDI file's header is broken (it says it is ${headerLength} bytes long; it must be at least 6).`);
  if (8 + headerLength > bytes.length) throw invalid('This MIDI file is cut off inside its header.');
  const format = readUint16(bytes, 8);
  const trackCount = readUint16(bytes, 10);
  const division = readUint16(bytes, 12);
  if (format > 2) throw invalid(`This MIDI file says it is format ${format}, which does not exist (only formats 0, 1 and 2 do).`);
  if (trackCount > limits.maxTracks) {
    throw new MotifError('MIDI_LIMIT_EXCEEDED', `This MIDI file has ${trackCount} tracks; the limit is ${limits.maxTracks}.`);
  }
  const header: Header = { format, trackCount, ticksPerQuarter: division, bodyOffset: 8 + headerLength };
  if (division & 0x8000) {
    // SMPTE: the high byte is minus the frame rate, the low byte the ticks per frame.
    const framesPerSecond = SMPTE_FRAME_RATES[0x100 - (division >> 8)];
    const ticksPerFrame = division & 0xff;
    if (framesPerSecond === undefined || ticksPerFrame === 0) {
      throw invalid('This MIDI file uses a timing mode (SMPTE frames) with an impossible frame rate.');
    }
    const nominalFps = Math.round(framesPerSecond);
    header.ticksPerQuarter = nominalFps * ticksPerFrame;
    header.smpteMicrosecondsPerQuarter = Math.round((1_000_000 * nominalFps) / framesPerSecond);
  } else if (division === 0) {
    throw invalid('This MIDI file is broken: it says a quarter note lasts 0 ticks.');
  }
  return header;
}

/** Mutable per-track decoding state. */
class TrackReader {
  pos: number;
  tick = 0;
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
    private readonly trackNumber: number,
  ) {
    this.pos = start;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  cutOff(): MotifError {
    return invalid(`The MIDI file is cut off in track ${this.trackNumber}.`);
  }

  byte(): number {
    if (this.pos >= this.end) throw this.cutOff();
    return this.bytes[this.pos++] ?? 0;
  }

  dataByte(): number {
    const b = this.byte();
    if (b & 0x80) throw invalid(`Track ${this.trackNumber} of this MIDI file has a broken event (an incomplete message at byte ${this.pos - 1}).`);
    return b;
  }

  /** Variable-length quantity: at most 4 bytes (28 bits), as the SMF spec allows. */
  vlq(): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const b = this.byte();
      value = value * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) return value;
    }
    throw invalid(`Track ${this.trackNumber} of this MIDI file has a broken length or delta time (more than 4 bytes, at byte ${this.pos}).`);
  }

  skip(length: number): void {
    if (this.pos + length > this.end) throw this.cutOff();
    this.pos += length;
  }
}

interface TrackScanState {
  notes: ScannedNote[];
  /** channel*128+pitch → the sounding note (endTick not yet known). */
  sounding: Map<number, ScannedNote>;
  /** channel*128+pitch → tick at which a retrigger ended the previous note. */
  retriggeredAt: Map<number, number>;
  programs: number[];
}

interface ScanCounters {
  notes: number;
  metaEvents: number;
}

interface ScanSink {
  tempos: ScannedTempo[];
  timeSignatures: ScannedTimeSignature[];
}

function scanTrack(
  bytes: Uint8Array,
  start: number,
  end: number,
  trackNumber: number,
  tickOffset: number,
  counters: ScanCounters,
  sink: ScanSink,
  limits: MidiLimits,
  budget: WorkBudget,
): ScannedTrack {
  const reader = new TrackReader(bytes, start, end, trackNumber);
  const state: TrackScanState = { notes: [], sounding: new Map(), retriggeredAt: new Map(), programs: new Array<number>(16).fill(0) };
  // Tempo and time-signature events are capped too: a file of tiny meta events could otherwise fill memory.
  const countMeta = (): void => {
    if (++counters.metaEvents > limits.maxNotes) {
      throw new MotifError('MIDI_LIMIT_EXCEEDED', `This MIDI file has more than ${limits.maxNotes.toLocaleString('en-US')} tempo and time-signature changes; it cannot be read.`);
    }
  };
  let runningStatus = 0;
  let name: string | undefined;

  let eventStart: number | undefined;
  while (!reader.atEnd) {
    // The previous event is charged here because the body below has many exits; every event reads
    // at least its delta time and status byte, so an event that advanced nothing would be a bug.
    if (eventStart !== undefined) budget.advance(reader.pos - eventStart);
    eventStart = reader.pos;
    budget.countEvent();
    reader.tick += reader.vlq();
    const tick = reader.tick + tickOffset;
    let status = reader.byte();
    let firstData: number | undefined;
    if (status < 0x80) {
      if (runningStatus === 0) {
        throw invalid(`Track ${trackNumber} of this MIDI file is broken: it has data where an event should start (byte ${reader.pos - 1}).`);
      }
      firstData = status;
      status = runningStatus;
    }

    if (status === 0xff) {
      const type = reader.byte();
      const length = reader.vlq();
      const dataStart = reader.pos;
      reader.skip(length);
      if (type === 0x2f) break; // End of Track: whatever follows in the chunk is ignored.
      if (type === 0x51 && length === 3) {
        const micros = ((bytes[dataStart] ?? 0) << 16) | ((bytes[dataStart + 1] ?? 0) << 8) | (bytes[dataStart + 2] ?? 0);
        checkTempo(micros, limits);
        countMeta();
        sink.tempos.push({ tick, microsecondsPerQuarter: micros });
      } else if (type === 0x58 && length >= 2) {
        const numerator = bytes[dataStart] ?? 0;
        const denominatorPower = bytes[dataStart + 1] ?? 0;
        // Nonsense signatures (0/x, x/2^200) are skipped rather than fatal: they do not change timing.
        if (numerator >= 1 && denominatorPower <= 6) {
          countMeta();
          sink.timeSignatures.push({ tick, numerator, denominator: 2 ** denominatorPower });
        }
      } else if (type === 0x03 && name === undefined) {
        let nameLength = Math.min(length, MAX_NAME_BYTES);
        // Do not cut a UTF-8 character in half.
        if (nameLength < length) while (nameLength > 0 && ((bytes[dataStart + nameLength] ?? 0) & 0xc0) === 0x80) nameLength--;
        name = readAscii(bytes, dataStart, nameLength).replace(/[\x00-\x1f\x7f]/g, ' ').trim();
      }
      continue;
    }
    if (status === 0xf0 || status === 0xf7) {
      reader.skip(reader.vlq());
      continue;
    }
    if (status > 0xf0) {
      // Real-time and system-common bytes do not belong in a file; skip them and their data.
      reader.skip(SYSTEM_DATA_LENGTH[status] ?? 0);
      continue;
    }

    runningStatus = status;
    const channel = status & 0x0f;
    const kind = status & 0xf0;
    const data1 = firstData ?? reader.dataByte();
    if (kind === 0xc0 || kind === 0xd0) {
      if (kind === 0xc0) state.programs[channel] = data1;
      continue;
    }
    const data2 = reader.dataByte();
    if (kind === 0x90 && data2 > 0) {
      if (++counters.notes > limits.maxNotes) {
        throw new MotifError('MIDI_LIMIT_EXCEEDED', `This MIDI file has more than ${limits.maxNotes.toLocaleString('en-US')} notes; that is the limit.`);
      }
      noteOn(state, tick, channel, data1, data2);
    } else if (kind === 0x80 || kind === 0x90) {
      noteOff(state, tick, channel, data1);
    }
  }

  if (eventStart !== undefined) budget.advance(reader.pos - eventStart);
  const endTick = reader.tick + tickOffset;
  for (const note of state.sounding.values()) {
    if (note.startTick < endTick) {
      note.endTick = endTick;
      state.notes.push(note);
    } else {
      counters.notes--;
    }
  }
  return { name: name ?? '', notes: state.notes, endTick };
}

function noteOn(state: TrackScanState, tick: number, channel: number, pitch: number, velocity: number): void {
  const key = channel * 128 + pitch;
  const sounding = state.sounding.get(key);
  if (sounding) {
    sounding.endTick = tick;
    state.notes.push(sounding);
    state.retriggeredAt.set(key, tick);
  }
  state.sounding.set(key, { channel, program: state.programs[channel] ?? 0, pitch, velocity, startTick: tick, endTick: tick });
}

function noteOff(state: TrackScanState, tick: number, channel: number, pitch: number): void {
  const key = channel * 128 + pitch;
  const sounding = state.sounding.get(key);
  if (sounding === undefined) return; // nothing sounding: a stray note-off
  // "on(t) off(t)" right after a retrigger at t: the off belonged to the note the retrigger ended.
  if (sounding.startTick === tick && state.retriggeredAt.get(key) === tick) return;
  state.sounding.delete(key);
  sounding.endTick = tick;
  state.notes.push(sounding);
}

function checkTempo(microsecondsPerQuarter: number, limits: MidiLimits): void {
  if (microsecondsPerQuarter === 0) throw invalid('This MIDI file is broken: it sets a tempo of zero microseconds per beat.');
  const qpm = 60_000_000 / microsecondsPerQuarter;
  if (qpm > limits.maxTempoQpm || qpm < limits.minTempoQpm) {
    throw new MotifError(
      'MIDI_LIMIT_EXCEEDED',
      `This MIDI file sets a tempo of ${Math.round(qpm).toLocaleString('en-US')} beats per minute; tempos must be from ${limits.minTempoQpm} to ${limits.maxTempoQpm.toLocaleString('en-US')}.`,
    );
  }
}

/** Seconds from tick 0 to `endTick` through the tempo changes of all tracks. */
function secondsThroughTempoMap(sorted: ScannedTempo[], ticksPerQuarter: number, endTick: number): number {
  let micros = 0;
  let cursor = 0;
  let current = DEFAULT_MICROSECONDS_PER_QUARTER;
  for (const t of sorted) {
    if (t.tick >= endTick) break;
    micros += ((t.tick - cursor) * current) / ticksPerQuarter;
    cursor = t.tick;
    current = t.microsecondsPerQuarter;
  }
  micros += ((endTick - cursor) * current) / ticksPerQuarter;
  return micros / 1_000_000;
}

/**
 * Validates a Standard MIDI File and extracts the events Motif uses, enforcing `limits`.
 * Linear in the file size, and bounded by a work budget (limits.maxScanBytes, maxEvents, maxNotes);
 * allocates at most O(maxNotes) events.
 * @throws MotifError MIDI_TOO_LARGE, MIDI_INVALID (not an SMF, broken or cut-off chunks/events,
 *   broken RMID wrappers, MIDI 2.0 clip files) or MIDI_LIMIT_EXCEEDED (tracks, notes, events, work
 *   budget, tempo, duration).
 */
export function scanSmf(input: Uint8Array, limits: MidiLimits): SmfScan {
  if (input.length > limits.maxBytes) {
    throw new MotifError('MIDI_TOO_LARGE', `This MIDI file is ${formatBytes(input.length)}; the limit is ${formatBytes(limits.maxBytes)}.`);
  }
  if (input.length === 0) throw invalid('This file is empty (0 bytes), so it is not a MIDI file.');
  const budget = new WorkBudget(limits);
  const bytes = unwrapRiff(input, budget);
  if (readAscii(bytes, 0, 8) === 'SMF2CLIP') {
    throw invalid('This is a MIDI 2.0 clip file; only standard MIDI 1.0 files (.mid) can be read.');
  }
  if (bytes.length < 4 || readAscii(bytes, 0, 4) !== 'MThd') {
    throw invalid(`This file is not a MIDI file (${describeForeignBytes(bytes)}).`);
  }
  const header = readHeader(bytes, limits);
  budget.advance(header.bodyOffset);

  const counters: ScanCounters = { notes: 0, metaEvents: 0 };
  const sink: ScanSink = { tempos: [], timeSignatures: [] };
  const tracks: ScannedTrack[] = [];
  let pos = header.bodyOffset;
  let tickOffset = 0;
  while (tracks.length < header.trackCount) {
    if (pos >= bytes.length) {
      const says = `${header.trackCount} track${header.trackCount === 1 ? '' : 's'}`;
      const found = tracks.length === 0 ? 'none is there' : `only ${tracks.length} ${tracks.length === 1 ? 'is' : 'are'} there`;
      throw invalid(`The MIDI file is cut off or broken: it says it has ${says} but ${found}.`);
    }
    if (pos + 8 > bytes.length) throw invalid(`The MIDI file is cut off in track ${tracks.length + 1}.`);
    if (!isPrintableId(bytes, pos)) {
      throw invalid(`This MIDI file is broken: where track ${tracks.length + 1} should start (byte ${pos}) there is no track.`);
    }
    const id = readAscii(bytes, pos, 4);
    const length = readUint32(bytes, pos + 4);
    const dataStart = pos + 8;
    if (id !== 'MTrk' && id.toUpperCase() === 'MTRK') {
      throw invalid(`Track ${tracks.length + 1} of this MIDI file has a broken header ("${id}" instead of "MTrk").`);
    }
    if (id !== 'MTrk') {
      // Unknown chunks are allowed by the spec and must be skipped.
      if (dataStart + length > bytes.length) {
        throw invalid(`This MIDI file is broken: a "${id}" block runs past the end of the file where track ${tracks.length + 1} should be.`);
      }
      budget.advance(8 + length);
      pos = dataStart + length;
      continue;
    }
    if (dataStart + length > bytes.length) throw invalid(`The MIDI file is cut off in track ${tracks.length + 1}.`);
    // The chunk header here; its body is charged event by event inside scanTrack.
    budget.advance(8);
    const track = scanTrack(bytes, dataStart, dataStart + length, tracks.length + 1, tickOffset, counters, sink, limits, budget);
    tracks.push(track);
    if (header.format === 2) tickOffset = track.endTick;
    pos = dataStart + length;
  }

  // Tempo events mean nothing under SMPTE timing: one fixed tempo replaces them.
  const tempos = header.smpteMicrosecondsPerQuarter !== undefined
    ? [{ tick: 0, microsecondsPerQuarter: header.smpteMicrosecondsPerQuarter }]
    : sink.tempos.sort((a, b) => a.tick - b.tick);
  const timeSignatures = sink.timeSignatures.sort((a, b) => a.tick - b.tick);
  const endTick = tracks.reduce((max, t) => Math.max(max, t.endTick), 0);
  const durationSeconds = secondsThroughTempoMap(tempos, header.ticksPerQuarter, endTick);
  if (durationSeconds > limits.maxDurationSeconds) {
    throw new MotifError(
      'MIDI_LIMIT_EXCEEDED',
      `This MIDI file lasts ${formatDuration(durationSeconds)}; the limit is ${formatDuration(limits.maxDurationSeconds)}.`,
    );
  }
  return {
    sourceFormat: header.format,
    ticksPerQuarter: header.ticksPerQuarter,
    tracks,
    tempos,
    timeSignatures,
    noteCount: counters.notes,
    durationSeconds,
    endTick,
  };
}
