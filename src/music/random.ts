/**
 * Small deterministic PRNG (mulberry32) so that `--random-seed N` reproduces a run bit for bit on any
 * machine: Math.random cannot be seeded, and tf's own RNG is not used outside src/ml.
 */

/** Uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * Creates a seeded generator.
 * @param seed any finite number (integers, large integers and fractions are all mixed into 32 bits,
 *   so `seed * 1_000_003 + epoch` style derivations stay distinct).
 */
export function createRng(seed: number): Rng {
  let state = mixSeed(seed);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [0, n) (n ≥ 1). */
export function randomInt(rng: Rng, n: number): number {
  return Math.min(n - 1, Math.floor(rng() * n));
}

/** Fisher–Yates shuffle; returns a new array. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}

/** Folds a finite number (possibly ≥ 2^32 or fractional) into a 32-bit state with splitmix-style mixing. */
function mixSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`random seed must be finite (got ${seed})`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  const frac = Math.floor((seed - Math.floor(seed)) * 4294967296) >>> 0;
  let h = lo ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(frac, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
