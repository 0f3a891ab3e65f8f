/**
 * The fuzz harness's mutations: each turns one real file into one hostile upload. The MIDI and
 * audio lists are the ones issue 11 names; every mutation is deterministic given the Rng.
 */
import { randomInt, type Rng } from '../music/random.js';
import { chunk, chunkBytes, concat, header, rmid, splitChunks, track, uint32be, vlq, type RmidSizes } from './smf-bytes.js';

/** Which upload path a mutant goes down (decided by its file name, as the bot does). */
export type FuzzTarget = 'midi' | 'audio';

export interface FuzzInput {
  /** Path relative to the datasets folder (or a prepared-input label), for reports. */
  source: string;
  bytes: Uint8Array;
  /** File extension with the dot, lower case: ".mid", ".mp3", ".wav", … */
  ext: string;
}

export interface Mutant {
  mutation: string;
  source: string;
  target: FuzzTarget;
  /** The upload's file name (its extension picks the path, as /corpus add does). */
  fileName: string;
  bytes: Uint8Array;
}

/** What mutations may draw from besides their own input. */
export interface MutationPool {
  midi: readonly FuzzInput[];
  audio: readonly FuzzInput[];
  /** Prepared 10-hour silent audio file (see prepare-inputs.ts). */
  tenHourSilence: FuzzInput;
}

export interface Mutation {
  name: string;
  target: FuzzTarget;
  /** Relative frequency within its target. */
  weight: number;
  apply(rng: Rng, pool: MutationPool): Mutant;
}

const pick = <T>(rng: Rng, items: readonly T[]): T => items[randomInt(rng, items.length)]!;

function midiMutant(mutation: string, input: FuzzInput, bytes: Uint8Array): Mutant {
  return { mutation, source: input.source, target: 'midi', fileName: `fuzz${input.ext === '.midi' ? '.midi' : '.mid'}`, bytes };
}

function audioMutant(mutation: string, input: FuzzInput, bytes: Uint8Array, ext = input.ext): Mutant {
  return { mutation, source: input.source, target: 'audio', fileName: `fuzz${ext}`, bytes };
}

/** Ticks per quarter of an SMF header, or 480 when the file has none / uses SMPTE. */
function ticksPerQuarter(bytes: Uint8Array): number {
  if (bytes.length < 14 || String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!) !== 'MThd') return 480;
  const division = (bytes[12]! << 8) | bytes[13]!;
  return division & 0x8000 || division === 0 ? 480 : division;
}

/** Appends tracks to a file and raises its declared track count (format 1 so they play together). */
function appendTracks(bytes: Uint8Array, tracks: readonly Uint8Array[]): Uint8Array {
  const out = concat([bytes, ...tracks]);
  if (out.length >= 14 && String.fromCharCode(out[0]!, out[1]!, out[2]!, out[3]!) === 'MThd') {
    const count = Math.min(0xffff, ((out[10]! << 8) | out[11]!) + tracks.length);
    out[8] = 0;
    out[9] = 1;
    out[10] = count >> 8;
    out[11] = count & 0xff;
  }
  return out;
}

const LYING_LENGTHS = [0, 1, 6, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

// ---------------------------------------------------------------- MIDI

const midiMutations: Mutation[] = [
  {
    name: 'byte-flips',
    target: 'midi',
    weight: 4,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const bytes = input.bytes.slice();
      const flips = 1 + randomInt(rng, 16);
      for (let i = 0; i < flips && bytes.length > 0; i++) {
        const at = randomInt(rng, bytes.length);
        bytes[at] = rng() < 0.5 ? bytes[at]! ^ (1 << randomInt(rng, 8)) : randomInt(rng, 256);
      }
      return midiMutant('byte-flips', input, bytes);
    },
  },
  {
    name: 'truncation',
    target: 'midi',
    weight: 2,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      return midiMutant('truncation', input, input.bytes.slice(0, randomInt(rng, input.bytes.length + 1)));
    },
  },
  {
    name: 'lying-chunk-length',
    target: 'midi',
    weight: 3,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const bytes = input.bytes.slice();
      const chunks = splitChunks(bytes);
      if (chunks.length > 0) {
        const target = pick(rng, chunks);
        const lie = rng() < 0.5 ? pick(rng, LYING_LENGTHS) : Math.max(0, target.declaredLength + randomInt(rng, 64) - 32);
        bytes.set(uint32be(lie >>> 0), target.offset + 4);
      }
      return midiMutant('lying-chunk-length', input, bytes);
    },
  },
  {
    name: 'huge-delta-times',
    target: 'midi',
    weight: 2,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const events: number[] = [];
      const notes = 1 + randomInt(rng, 8);
      for (let i = 0; i < notes; i++) {
        const delta = rng() < 0.5 ? 0x0fffffff : randomInt(rng, 0x0fffffff);
        events.push(...vlq(delta), 0x90, 36 + randomInt(rng, 60), 100, ...vlq(rng() < 0.5 ? 0x0fffffff : 480), 0x80, 60, 0);
      }
      return midiMutant('huge-delta-times', input, appendTracks(input.bytes, [track(events)]));
    },
  },
  {
    name: 'running-status-abuse',
    target: 'midi',
    weight: 2,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const variant = randomInt(rng, 5);
      let events: number[];
      if (variant === 0) {
        // Data bytes with no status byte ever sent on this track.
        events = [0x00, 0x3c, 0x40, 0x60, 0x3c, 0x00];
      } else if (variant === 1) {
        // Running status carried across a meta event and a SysEx (both cancel it in the spec).
        events = [0x00, 0x90, 0x3c, 0x40, 0x00, 0xff, 0x01, 0x01, 0x41, 0x00, 0x3e, 0x40, 0x00, 0xf0, 0x02, 0x7e, 0xf7, 0x00, 0x40, 0x40];
      } else if (variant === 2) {
        // A long run of notes under one status byte, then a data byte with its high bit set.
        events = [0x00, 0x90];
        for (let i = 0; i < 2000; i++) events.push(i === 0 ? 0x3c : 0x00, 0x30 + (i % 40), i % 2 === 0 ? 0x40 : 0x00);
        events.push(0x00, 0x80 + randomInt(rng, 0x10), 0x40);
      } else if (variant === 3) {
        // Real-time and undefined status bytes inside a running-status stream.
        events = [0x00, 0x90, 0x3c, 0x40, 0x00, 0xf8, 0x00, 0x3c, 0x00, 0x00, 0xf4, 0x00, 0xfd, 0x3e, 0x40];
      } else {
        // Running status that switches channel voice types mid-stream with short data.
        events = [0x00, 0xc0, 0x05, 0x00, 0x07, 0x00, 0xe0, 0x00, 0x00, 0x10, 0x00, 0x3c];
      }
      return midiMutant('running-status-abuse', input, appendTracks(input.bytes, [track(events)]));
    },
  },
  {
    name: '65535-tracks',
    target: 'midi',
    weight: 1,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const declaredOnly = rng() < 0.5;
      const tracks = declaredOnly ? [] : Array.from({ length: 65_535 }, () => track([0x00, 0x90, 0x3c, 0x40, 0x60, 0x80, 0x3c, 0x00]));
      const bytes = concat([header(1, 65_535, ticksPerQuarter(input.bytes)), ...(declaredOnly ? [chunkBytes(input.bytes, splitChunks(input.bytes)[1] ?? { id: 'MTrk', offset: 0, declaredLength: 0 })] : tracks)]);
      return midiMutant('65535-tracks', input, bytes);
    },
  },
  {
    name: '10000-notes-one-tick',
    target: 'midi',
    weight: 1,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const events: number[] = [];
      // Half the time every MIDI pitch (some outside a model's range), half the time piano range only,
      // so the seed encoder also gets a 10,000-note chord it must accept or refuse cleanly.
      const pitchOf = rng() < 0.5 ? (i: number): number => i % 128 : (i: number): number => 21 + (i % 88);
      for (let i = 0; i < 10_000; i++) events.push(0x00, 0x90 | (i % 16 === 9 ? 0 : i % 16), pitchOf(i), 1 + (i % 127));
      for (let i = 0; i < 10_000; i++) events.push(i === 0 ? 0x60 : 0x00, 0x80 | (i % 16 === 9 ? 0 : i % 16), pitchOf(i), 0);
      return midiMutant('10000-notes-one-tick', input, appendTracks(input.bytes, [track(events)]));
    },
  },
  {
    name: 'three-hour-file',
    target: 'midi',
    weight: 1,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const tpq = 480;
      // 120 qpm: two quarters a second. One note a minute for three hours (plus a little).
      const events: number[] = [0x00, 0xff, 0x51, 0x03, 0x07, 0xa1, 0x20];
      const minutes = 180 + randomInt(rng, 5);
      for (let m = 0; m < minutes; m++) events.push(...vlq(m === 0 ? 0 : 120 * tpq - tpq), 0x90, 60 + (m % 12), 80, ...vlq(tpq), 0x80, 60 + (m % 12), 0);
      const standalone = concat([header(0, 1, tpq), track(events)]);
      return midiMutant('three-hour-file', input, rng() < 0.5 ? standalone : rmid(standalone));
    },
  },
  {
    name: 'duplicated-chunks',
    target: 'midi',
    weight: 2,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const chunks = splitChunks(input.bytes);
      if (chunks.length === 0) return midiMutant('duplicated-chunks', input, concat([input.bytes, input.bytes]));
      const dup = pick(rng, chunks);
      const at = dup.offset + 8 + dup.declaredLength;
      const copies = 1 + randomInt(rng, 3);
      const copy = chunkBytes(input.bytes, dup);
      const bytes = concat([input.bytes.subarray(0, at), ...Array.from({ length: copies }, () => copy), input.bytes.subarray(at)]);
      return midiMutant('duplicated-chunks', input, bytes);
    },
  },
  {
    name: 'valid-header-then-garbage',
    target: 'midi',
    weight: 2,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const garbage = Uint8Array.from({ length: randomInt(rng, 4096) }, () => randomInt(rng, 256));
      // Half the time the garbage poses as a track so the reader gets past the chunk header.
      const body = rng() < 0.5 ? garbage : chunk('MTrk', garbage, rng() < 0.5 ? garbage.length : pick(rng, LYING_LENGTHS));
      return midiMutant('valid-header-then-garbage', input, concat([input.bytes.subarray(0, 14), body]));
    },
  },
  {
    name: 'riff-wrapped-lying-sizes',
    target: 'midi',
    weight: 1,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      const sizes = pick(rng, [
        {},
        { riff: 0x80000000 },
        { riff: 0xffffffff },
        { data: 0x80000000 },
        { data: 0xfffffff0 },
        { data: 0 },
        { riff: 4 },
        { riff: 0x80000000 + randomInt(rng, 0x7fffffff), data: 0x80000000 + randomInt(rng, 0x7fffffff) },
        { before: 4 },
        { before: 0x80000000 + randomInt(rng, 0x7fffffff) },
        { before: pick(rng, [0xfffffff8, 0xfffffff0, 0xffffffec, 0xffffffff]) },
      ] as RmidSizes[]);
      return midiMutant('riff-wrapped-lying-sizes', input, rmid(input.bytes, sizes));
    },
  },
];

// ---------------------------------------------------------------- audio

const MAGICS: readonly number[][] = [
  [0x49, 0x44, 0x33, 0x04], // ID3
  [0xff, 0xfb, 0x90, 0x64], // MPEG frame sync
  [0x66, 0x4c, 0x61, 0x43], // fLaC
  [0x4f, 0x67, 0x67, 0x53], // OggS
  [0x52, 0x49, 0x46, 0x46], // RIFF
  [0x4d, 0x54, 0x68, 0x64], // MThd
  [0x00, 0x00, 0x00, 0x00],
];

const audioMutations: Mutation[] = [
  {
    name: 'truncated-frames',
    target: 'audio',
    weight: 3,
    apply(rng, pool) {
      const input = pick(rng, pool.audio);
      const { bytes } = input;
      let out: Uint8Array;
      if (rng() < 0.5) {
        out = bytes.slice(0, randomInt(rng, bytes.length + 1));
      } else {
        // Cut a range out of the middle: frames end mid-way and the next one starts anywhere.
        const from = randomInt(rng, bytes.length);
        const to = Math.min(bytes.length, from + 1 + randomInt(rng, Math.max(1, bytes.length - from)));
        out = concat([bytes.subarray(0, from), bytes.subarray(to)]);
      }
      return audioMutant('truncated-frames', input, out);
    },
  },
  {
    name: 'wrong-header',
    target: 'audio',
    weight: 3,
    apply(rng, pool) {
      const input = pick(rng, pool.audio);
      const bytes = input.bytes.slice();
      if (rng() < 0.5) {
        bytes.set(pick(rng, MAGICS).slice(0, bytes.length), 0);
      } else {
        const n = Math.min(bytes.length, 1 + randomInt(rng, 64));
        for (let i = 0; i < n; i++) if (rng() < 0.3) bytes[i] = randomInt(rng, 256);
      }
      return audioMutant('wrong-header', input, bytes);
    },
  },
  {
    name: 'huge-declared-size',
    target: 'audio',
    weight: 2,
    apply(rng, pool) {
      const candidates = pool.audio.filter((a) => a.ext === '.wav' || a.ext === '.flac');
      const input = pick(rng, candidates.length > 0 ? candidates : pool.audio);
      const bytes = input.bytes.slice();
      const huge = pick(rng, [0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0]);
      if (input.ext === '.wav') {
        // RIFF size and the data chunk's size both claim gigabytes.
        if (rng() < 0.7) bytes.set([huge & 0xff, (huge >>> 8) & 0xff, (huge >>> 16) & 0xff, huge >>> 24], 4);
        const dataAt = findAscii(bytes, 'data');
        if (dataAt >= 0 && dataAt + 8 <= bytes.length) bytes.set([huge & 0xff, (huge >>> 8) & 0xff, (huge >>> 16) & 0xff, huge >>> 24], dataAt + 4);
      } else if (input.ext === '.flac' && bytes.length > 26) {
        // STREAMINFO total samples (36 bits from the low nibble of byte 21) = 2^36 - 1.
        bytes[21] = bytes[21]! | 0x0f;
        bytes.set([0xff, 0xff, 0xff, 0xff], 22);
      } else if (bytes.length > 8) {
        bytes.set(uint32be(huge), 4);
      }
      return audioMutant('huge-declared-size', input, bytes);
    },
  },
  {
    name: 'ten-hour-silent',
    target: 'audio',
    weight: 0.25,
    apply(_rng, pool) {
      return audioMutant('ten-hour-silent', pool.tenHourSilence, pool.tenHourSilence.bytes);
    },
  },
  {
    name: 'midi-renamed-mp3',
    target: 'audio',
    weight: 1,
    apply(rng, pool) {
      const input = pick(rng, pool.midi);
      return audioMutant('midi-renamed-mp3', input, input.bytes, '.mp3');
    },
  },
];

function findAscii(bytes: Uint8Array, text: string): number {
  outer: for (let i = 0; i + text.length <= Math.min(bytes.length, 4096); i++) {
    for (let j = 0; j < text.length; j++) if (bytes[i + j] !== text.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
}

export const MUTATIONS: readonly Mutation[] = Object.freeze([...midiMutations, ...audioMutations]);

/** Picks a mutation for `target` by weight. */
export function pickMutation(rng: Rng, target: FuzzTarget): Mutation {
  const candidates = MUTATIONS.filter((m) => m.target === target);
  const total = candidates.reduce((sum, m) => sum + m.weight, 0);
  let r = rng() * total;
  for (const m of candidates) {
    r -= m.weight;
    if (r < 0) return m;
  }
  return candidates[candidates.length - 1]!;
}
