/**
 * Byte-level building blocks for hostile Standard MIDI Files: chunks, variable-length quantities
 * and a chunk splitter that tolerates lies. Pure functions over Uint8Array (no parsing library,
 * since the point is to write what a parser would refuse to write).
 */

export interface RawChunk {
  /** Four ASCII characters, e.g. "MThd", "MTrk". */
  id: string;
  /** Offset of the chunk header (id) in the file. */
  offset: number;
  /** The length field as written (may lie). */
  declaredLength: number;
}

/** MIDI variable-length quantity (7 bits per byte, high bit = more follows), 0 … 0x0FFFFFFF. */
export function vlq(value: number): number[] {
  let v = Math.max(0, Math.min(0x0fffffff, Math.floor(value)));
  const bytes = [v & 0x7f];
  v >>>= 7;
  while (v > 0) {
    bytes.unshift((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  return bytes;
}

export function uint32be(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

export function uint32le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0) & 0xff);
}

/** A chunk with an honest length (unless `declaredLength` says otherwise). */
export function chunk(id: string, body: ArrayLike<number>, declaredLength = body.length): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  out.set(ascii(id), 0);
  out.set(uint32be(declaredLength >>> 0), 4);
  out.set(Array.from(body), 8);
  return out;
}

/** An MThd chunk: format 0/1/2, declared track count, ticks per quarter (or raw division word). */
export function header(format: number, trackCount: number, division: number): Uint8Array {
  return chunk('MThd', [format >> 8, format & 0xff, (trackCount >> 8) & 0xff, trackCount & 0xff, (division >> 8) & 0xff, division & 0xff]);
}

/** An MTrk whose events end with End of Track (delta 0). */
export function track(events: ArrayLike<number>): Uint8Array {
  return chunk('MTrk', [...Array.from(events), 0x00, 0xff, 0x2f, 0x00]);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/**
 * The chunks of a file, walking declared lengths and stopping at the first one that runs past the
 * end (or after `max` chunks). Never throws.
 */
export function splitChunks(bytes: Uint8Array, max = 10_000): RawChunk[] {
  const chunks: RawChunk[] = [];
  let pos = 0;
  while (pos + 8 <= bytes.length && chunks.length < max) {
    const id = String.fromCharCode(bytes[pos]!, bytes[pos + 1]!, bytes[pos + 2]!, bytes[pos + 3]!);
    const declaredLength = ((bytes[pos + 4]! << 24) >>> 0) + (bytes[pos + 5]! << 16) + (bytes[pos + 6]! << 8) + bytes[pos + 7]!;
    chunks.push({ id, offset: pos, declaredLength });
    const next = pos + 8 + declaredLength;
    if (next > bytes.length) break;
    pos = next;
  }
  return chunks;
}

/** The bytes of `chunkInfo` including its header (cut at the end of the file). */
export function chunkBytes(bytes: Uint8Array, chunkInfo: RawChunk): Uint8Array {
  return bytes.subarray(chunkInfo.offset, Math.min(bytes.length, chunkInfo.offset + 8 + chunkInfo.declaredLength));
}

export interface RmidSizes {
  riff?: number;
  data?: number;
  /** An extra chunk (e.g. LIST) before `data`, with this declared size (its body is 4 bytes). */
  before?: number;
}

/** Wraps an SMF in a RIFF RMID container, with the sizes given (honest by default). */
export function rmid(smf: Uint8Array, sizes: RmidSizes = {}): Uint8Array {
  const dataSize = sizes.data ?? smf.length;
  const before = sizes.before === undefined ? [] : [...ascii('LIST'), ...uint32le(sizes.before >>> 0), ...ascii('INFO')];
  const riffSize = sizes.riff ?? 4 + before.length + 8 + smf.length;
  return concat([
    Uint8Array.from([...ascii('RIFF'), ...uint32le(riffSize >>> 0), ...ascii('RMID'), ...before, ...ascii('data'), ...uint32le(dataSize >>> 0)]),
    smf,
  ]);
}
