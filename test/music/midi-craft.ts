/** Builds Standard MIDI File bytes by hand, for tests that need files no normal tool would write. */

export function vlq(value: number): number[] {
  const out = [value & 0x7f];
  let rest = Math.floor(value / 128);
  while (rest > 0) {
    out.unshift((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  return out;
}

export function chunk(id: string, body: ArrayLike<number>, declaredLength = body.length): number[] {
  const len = declaredLength;
  const out = [...Array.from(id, (c) => c.charCodeAt(0)), (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff];
  for (let i = 0; i < body.length; i++) out.push(body[i] ?? 0);
  return out;
}

export function header(format: number, trackCount: number, division: number): number[] {
  return chunk('MThd', [0, format, trackCount >> 8, trackCount & 0xff, division >> 8, division & 0xff]);
}

export const END_OF_TRACK = [0, 0xff, 0x2f, 0];

/** One SMF from raw track bodies (each without its End of Track unless you add it). */
export function smf(tracks: number[][], opts: { format?: number; division?: number } = {}): Uint8Array {
  let bytes = header(opts.format ?? 1, tracks.length, opts.division ?? 96);
  for (const body of tracks) bytes = bytes.concat(chunk('MTrk', body));
  return Uint8Array.from(bytes);
}

/** `delta, 0x90|ch, pitch, vel` … as a scale of quarter notes at 96 ticks per quarter. */
export function scaleTrack(pitches: number[], opts: { channel?: number; ticks?: number } = {}): number[] {
  const ch = opts.channel ?? 0;
  const ticks = opts.ticks ?? 96;
  const body: number[] = [];
  for (const p of pitches) body.push(0, 0x90 | ch, p, 100, ...vlq(ticks), 0x80 | ch, p, 0);
  return [...body, ...END_OF_TRACK];
}

export function tempoEvent(microsecondsPerQuarter: number, delta = 0): number[] {
  const m = microsecondsPerQuarter;
  return [...vlq(delta), 0xff, 0x51, 3, (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff];
}

/** Small deterministic PRNG (mulberry32) so random-byte tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
