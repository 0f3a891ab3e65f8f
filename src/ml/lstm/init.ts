/**
 * Seeded weight initialisers in plain JS (Keras's defaults), so that a model built with the same
 * seed is bit-identical on any backend: tf's own initialisers draw from backend-specific kernels.
 */
import type { Rng } from '../../music/random.js';

/** Glorot/Xavier uniform: U(±√(6 / (fanIn + fanOut))), Keras's default kernel initialiser. */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, count = fanIn * fanOut): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * rng() - 1) * limit;
  return out;
}

/** Standard normal draws (Box–Muller). */
export function standardNormal(rng: Rng, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = Math.max(rng(), 1e-12);
    const u2 = rng();
    const radius = Math.sqrt(-2 * Math.log(u1));
    out[i] = radius * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * A [rows, cols] matrix with orthonormal rows (rows ≤ cols), Keras's default recurrent initialiser:
 * it keeps the recurrent map norm-preserving at the start so gradients neither explode nor vanish.
 */
export function orthogonalRows(rng: Rng, rows: number, cols: number): Float32Array {
  if (rows > cols) throw new RangeError(`orthogonalRows needs rows ≤ cols (got ${rows}×${cols})`);
  const m = standardNormal(rng, rows * cols);
  const work = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) work[c] = m[r * cols + c]!;
    // Modified Gram–Schmidt, twice for float stability.
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < r; p++) {
        let dot = 0;
        for (let c = 0; c < cols; c++) dot += work[c]! * m[p * cols + c]!;
        for (let c = 0; c < cols; c++) work[c]! -= dot * m[p * cols + c]!;
      }
    }
    let norm = 0;
    for (let c = 0; c < cols; c++) norm += work[c]! * work[c]!;
    const scale = 1 / Math.sqrt(norm);
    for (let c = 0; c < cols; c++) m[r * cols + c] = work[c]! * scale;
  }
  return m;
}

/** LSTM bias [4H] with the forget-gate quarter at 1 (Keras's unit_forget_bias). */
export function lstmBias(hidden: number): Float32Array {
  const bias = new Float32Array(4 * hidden);
  bias.fill(1, hidden, 2 * hidden);
  return bias;
}
