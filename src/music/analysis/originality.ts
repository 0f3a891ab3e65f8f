/**
 * Originality: the longest run of consecutive (pitch, duration) events a generated piece shares
 * verbatim with any training piece. Pieces become event strings (by default the top note of each
 * onset with its length on the sixteenth grid); the training strings are joined with a separator
 * into a suffix automaton, and a generated string is run through it (matching statistics), so a
 * query costs O(events) whatever the corpus size.
 *
 * The index is stored in the model directory as the (deflated, base64) event strings only; the
 * automaton is rebuilt on load in well under a second for ~300k events.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { NoteSequence } from '../note-sequence.js';

export type CopyEventMode = 'top' | 'all';

/** Grid of the event strings (sixteenth notes), independent of the sequences' own grids. */
const STEPS_PER_QUARTER = 4;
const MAX_DURATION_STEPS = 127;
const SEPARATOR = 0xffff;

/**
 * (pitch, duration) events of a piece as 16-bit symbols: pitch * 128 + min(duration steps, 127).
 * 'top': the highest note of each onset; 'all': every note, by onset then pitch descending.
 */
export function copyEvents(seq: NoteSequence, mode: CopyEventMode = 'top'): number[] {
  const scale = STEPS_PER_QUARTER / seq.stepsPerQuarter;
  const notes = seq.notes
    .filter((n) => !n.isDrum)
    .map((n) => {
      const startStep = Math.round(n.startStep * scale);
      const duration = Math.min(MAX_DURATION_STEPS, Math.max(1, Math.round(n.endStep * scale) - startStep));
      return { startStep, pitch: n.pitch, duration };
    })
    .sort((a, b) => a.startStep - b.startStep || b.pitch - a.pitch);
  const out: number[] = [];
  let lastStart = -1;
  for (const n of notes) {
    if (mode === 'top' && n.startStep === lastStart) continue;
    lastStart = n.startStep;
    out.push(n.pitch * 128 + n.duration);
  }
  return out;
}

/**
 * Suffix automaton over 16-bit symbols. Transitions live in flat typed arrays as per-state linked
 * lists (a Map per state would cost ~100 bytes each for ~600k states); the root, which has the most
 * transitions and is visited most, gets a dense table.
 */
export class SuffixAutomaton {
  private len: Int32Array;
  private link: Int32Array;
  private head: Int32Array;
  private edgeNext: Int32Array;
  private edgeSymbol: Uint16Array;
  private edgeTarget: Int32Array;
  private readonly rootEdges = new Int32Array(65536).fill(-1);
  private states = 1;
  private edges = 0;
  private last = 0;

  constructor(capacity: number) {
    const states = 2 * capacity + 2;
    this.len = new Int32Array(states);
    this.link = new Int32Array(states).fill(-1);
    this.head = new Int32Array(states).fill(-1);
    const edges = 3 * capacity + 4;
    this.edgeNext = new Int32Array(edges);
    this.edgeSymbol = new Uint16Array(edges);
    this.edgeTarget = new Int32Array(edges);
  }

  get(state: number, symbol: number): number {
    if (state === 0) return this.rootEdges[symbol]!;
    for (let e = this.head[state]!; e !== -1; e = this.edgeNext[e]!) {
      if (this.edgeSymbol[e] === symbol) return this.edgeTarget[e]!;
    }
    return -1;
  }

  private set(state: number, symbol: number, target: number): void {
    if (state === 0) {
      this.rootEdges[symbol] = target;
      return;
    }
    for (let e = this.head[state]!; e !== -1; e = this.edgeNext[e]!) {
      if (this.edgeSymbol[e] === symbol) {
        this.edgeTarget[e] = target;
        return;
      }
    }
    if (this.edges === this.edgeTarget.length) this.growEdges();
    const e = this.edges++;
    this.edgeSymbol[e] = symbol;
    this.edgeTarget[e] = target;
    this.edgeNext[e] = this.head[state]!;
    this.head[state] = e;
  }

  private growEdges(): void {
    const grow = <T extends Int32Array | Uint16Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.edgeNext = grow(this.edgeNext);
    this.edgeSymbol = grow(this.edgeSymbol);
    this.edgeTarget = grow(this.edgeTarget);
  }

  private copyEdges(from: number, to: number): void {
    for (let e = this.head[from]!; e !== -1; e = this.edgeNext[e]!) this.set(to, this.edgeSymbol[e]!, this.edgeTarget[e]!);
  }

  extend(symbol: number): void {
    const cur = this.states++;
    this.len[cur] = this.len[this.last]! + 1;
    let p = this.last;
    while (p !== -1 && this.get(p, symbol) === -1) {
      this.set(p, symbol, cur);
      p = this.link[p]!;
    }
    if (p === -1) {
      this.link[cur] = 0;
    } else {
      const q = this.get(p, symbol);
      if (this.len[p]! + 1 === this.len[q]) {
        this.link[cur] = q;
      } else {
        const clone = this.states++;
        this.len[clone] = this.len[p]! + 1;
        this.link[clone] = this.link[q]!;
        this.copyEdges(q, clone);
        while (p !== -1 && this.get(p, symbol) === q) {
          this.set(p, symbol, clone);
          p = this.link[p]!;
        }
        this.link[q] = clone;
        this.link[cur] = clone;
      }
    }
    this.last = cur;
  }

  /** Length of the longest substring of `symbols` that occurs in the automaton's text. */
  longestMatch(symbols: readonly number[]): number {
    let state = 0;
    let length = 0;
    let best = 0;
    for (const symbol of symbols) {
      while (state !== 0 && this.get(state, symbol) === -1) {
        state = this.link[state]!;
        length = this.len[state]!;
      }
      const next = this.get(state, symbol);
      if (next === -1) {
        state = 0;
        length = 0;
      } else {
        state = next;
        length++;
      }
      if (length > best) best = length;
    }
    return best;
  }
}

export interface CopyIndex {
  readonly mode: CopyEventMode;
  /** Training pieces and events indexed. */
  readonly pieceCount: number;
  readonly eventCount: number;
  /** The joined event text (symbols, separator 0xFFFF between pieces). */
  readonly text: Uint16Array;
  readonly automaton: SuffixAutomaton;
}

export interface CopyIndexJson {
  format: 'motif-copy-index';
  version: 1;
  mode: CopyEventMode;
  pieceCount: number;
  eventCount: number;
  /** base64 of the raw-deflated little-endian Uint16 text. */
  text: string;
}

function indexFromText(text: Uint16Array, mode: CopyEventMode, pieceCount: number, eventCount: number): CopyIndex {
  const automaton = new SuffixAutomaton(text.length);
  for (const symbol of text) automaton.extend(symbol);
  return { mode, pieceCount, eventCount, text, automaton };
}

/** Indexes training pieces. */
export function buildCopyIndex(seqs: Iterable<NoteSequence>, opts: { mode?: CopyEventMode } = {}): CopyIndex {
  const mode = opts.mode ?? 'top';
  const parts: number[][] = [];
  for (const seq of seqs) parts.push(copyEvents(seq, mode));
  const eventCount = parts.reduce((s, p) => s + p.length, 0);
  const text = new Uint16Array(eventCount + parts.length);
  let i = 0;
  for (const part of parts) {
    text.set(part, i);
    i += part.length;
    text[i++] = SEPARATOR;
  }
  return indexFromText(text, mode, parts.length, eventCount);
}

/** Longest run of consecutive events of `seq` found verbatim in the training data (0 = nothing shared). */
export function longestCopiedRun(index: CopyIndex, seq: NoteSequence): number {
  return index.automaton.longestMatch(copyEvents(seq, index.mode));
}

export function copyIndexToJson(index: CopyIndex): CopyIndexJson {
  const bytes = new Uint8Array(index.text.length * 2);
  const view = new DataView(bytes.buffer);
  index.text.forEach((symbol, i) => view.setUint16(i * 2, symbol, true));
  return {
    format: 'motif-copy-index',
    version: 1,
    mode: index.mode,
    pieceCount: index.pieceCount,
    eventCount: index.eventCount,
    text: deflateRawSync(bytes, { level: 9 }).toString('base64'),
  };
}

/**
 * @throws Error when the JSON is not a copy index (the model loader reports it as MODEL_CORRUPT).
 */
export function copyIndexFromJson(json: CopyIndexJson): CopyIndex {
  if (json?.format !== 'motif-copy-index' || json.version !== 1 || (json.mode !== 'top' && json.mode !== 'all')) {
    throw new Error('not a motif copy index');
  }
  const bytes = inflateRawSync(Buffer.from(json.text, 'base64'));
  if (bytes.length % 2 !== 0) throw new Error('copy index text has odd length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < text.length; i++) text[i] = view.getUint16(i * 2, true);
  return indexFromText(text, json.mode, json.pieceCount, json.eventCount);
}
