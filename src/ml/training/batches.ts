/**
 * Language-model batches: every piece's token ids are laid end to end in one stream and training
 * windows of T+1 tokens are cut from it at random offsets (a target at every step). Held-out data is
 * cut into non-overlapping windows so each token is scored exactly once.
 */

export interface TokenStream {
  ids: Int32Array;
  /**
   * Each token's position within its own piece (by default its index, 0 at the piece's first token;
   * see Tokenizer.createPositionTracker): a window cut mid-piece still knows where it is.
   */
  positions: Int32Array;
}

/**
 * Lays pieces end to end. Encodings with their own BOS/EOS need no separator; the tutorial's
 * encoding has none and, like the tutorial, simply concatenates. `positionsOf` gives a piece's
 * positions (default: the index within the piece, the separator included).
 */
export function joinStreams(
  pieces: readonly (readonly number[])[],
  opts: { separatorId?: number; positionsOf?: (ids: readonly number[]) => Int32Array } = {},
): TokenStream {
  const { separatorId, positionsOf } = opts;
  const extra = separatorId === undefined ? 0 : 1;
  let total = 0;
  for (const p of pieces) total += p.length + extra;
  const ids = new Int32Array(total);
  const positions = new Int32Array(total);
  let offset = 0;
  for (const p of pieces) {
    const start = offset;
    if (separatorId !== undefined) ids[offset++] = separatorId;
    ids.set(p, offset);
    if (positionsOf) {
      const own = positionsOf(p);
      if (own.length !== p.length) throw new RangeError(`positionsOf gave ${own.length} positions for ${p.length} ids`);
      positions.set(own, offset);
    }
    offset += p.length;
    if (!positionsOf) for (let i = start; i < offset; i++) positions[i] = i - start;
  }
  return { ids, positions };
}

export interface Batch {
  /** [batch × time] row-major input ids. */
  inputs: Int32Array;
  /** [batch × time] ids of the token that follows each input. */
  targets: Int32Array;
  /** [batch × time] each input's index within its piece (TokenStream.positions). */
  positions: Int32Array;
  batch: number;
  time: number;
}

/**
 * One epoch of shuffled windows: about stream.length / time windows, grouped in batches of `batch`
 * (the last partial batch is dropped so every step has the same shape).
 */
export function epochBatches(stream: TokenStream, batch: number, time: number, random: () => number): Batch[] {
  const maxStart = stream.ids.length - time - 1;
  if (maxStart < 0) return [];
  const windows = Math.max(batch, Math.floor(stream.ids.length / time));
  const starts = Array.from({ length: windows }, () => Math.floor(random() * (maxStart + 1)));
  const batches: Batch[] = [];
  for (let b = 0; b + batch <= starts.length; b += batch) {
    batches.push(cutBatch(stream, starts.slice(b, b + batch), time));
  }
  return batches;
}

/** Non-overlapping windows covering the stream once (the tail shorter than `time` is scored in a last, shorter batch). */
export function evaluationBatches(stream: TokenStream, batch: number, time: number): Batch[] {
  const batches: Batch[] = [];
  const usable = stream.ids.length - 1;
  const fullWindows = Math.floor(usable / time);
  const starts = Array.from({ length: fullWindows }, (_, i) => i * time);
  for (let b = 0; b < starts.length; b += batch) batches.push(cutBatch(stream, starts.slice(b, b + batch), time));
  const tail = usable - fullWindows * time;
  if (tail > 0) batches.push(cutBatch(stream, [fullWindows * time], tail));
  return batches;
}

function cutBatch(stream: TokenStream, starts: number[], time: number): Batch {
  const inputs = new Int32Array(starts.length * time);
  const targets = new Int32Array(starts.length * time);
  const positions = new Int32Array(starts.length * time);
  starts.forEach((start, row) => {
    inputs.set(stream.ids.subarray(start, start + time), row * time);
    positions.set(stream.positions.subarray(start, start + time), row * time);
    targets.set(stream.ids.subarray(start + 1, start + time + 1), row * time);
  });
  return { inputs, targets, positions, batch: starts.length, time };
}
