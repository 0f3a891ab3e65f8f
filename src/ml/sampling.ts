/**
 * Turning logits into a token id: temperature, nucleus (top-p) and a hard mask. Plain arrays — this
 * runs once per generated token and a tensor round trip would cost more than the arithmetic.
 */
import { assertInRange } from '../errors.js';

export interface SamplingOptions {
  /** > 0; 1 samples the model's distribution, < 1 sharpens it, > 1 flattens it. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables it. */
  topP: number;
  /** Uniform random numbers in [0, 1). */
  random: () => number;
  /** Tokens allowed (true) — masked tokens get zero probability. */
  allowed?: (tokenId: number) => boolean;
  /**
   * The tokens temperature and top-p reshape (default all). The others keep the model's own
   * probability, and the reshaped ones share the model's mass for all of them (masked ones too) in
   * its proportion sharpened by the temperature: e.g. a sharper choice of pitch, or one kept to a
   * key, without changing how often a voice holds.
   */
  tempered?: (tokenId: number) => boolean;
}

export function validateSamplingOptions(opts: { temperature?: number; topP?: number }): void {
  if (opts.temperature !== undefined) assertInRange('temperature', opts.temperature, 0.05, 5);
  if (opts.topP !== undefined) assertInRange('top-p', opts.topP, 0.01, 1);
}

/**
 * Samples one id from `logits` (unnormalised log-probabilities).
 * Falls back to the unmasked argmax when the mask removes every token, so generation never stalls.
 */
export function sampleToken(logits: Float32Array, opts: SamplingOptions): number {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    if (opts.allowed && !opts.allowed(i)) continue;
    if (logits[i]! > max) max = logits[i]!;
  }
  if (max === -Infinity) return argmax(logits);

  const probs = new Float64Array(n);
  if (opts.tempered) temperSome(logits, max, probs, opts as SamplingOptions & { tempered: (id: number) => boolean });
  else {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      if (opts.allowed && !opts.allowed(i)) continue;
      const p = Math.exp((logits[i]! - max) / opts.temperature);
      probs[i] = p;
      sum += p;
    }
    if (opts.topP < 1) applyTopP(probs, sum, opts.topP);
  }

  let total = 0;
  for (let i = 0; i < n; i++) total += probs[i]!;
  let r = opts.random() * total;
  for (let i = 0; i < n; i++) {
    r -= probs[i]!;
    if (r < 0) return i;
  }
  // Rounding left a sliver: the last non-zero token.
  for (let i = n - 1; i >= 0; i--) if (probs[i]! > 0) return i;
  return argmax(logits);
}

/** See SamplingOptions.tempered: fills `probs` (unnormalised) for the allowed tokens. */
function temperSome(logits: Float32Array, max: number, probs: Float64Array, opts: SamplingOptions & { tempered: (id: number) => boolean }): void {
  const shaped = new Float64Array(logits.length);
  let modelMass = 0;
  let shapedMass = 0;
  for (let i = 0; i < logits.length; i++) {
    const allowed = !opts.allowed || opts.allowed(i);
    const p = Math.exp(logits[i]! - max);
    if (!opts.tempered(i)) {
      if (allowed) probs[i] = p;
      continue;
    }
    // The group keeps the model's whole mass, masked members included: a mask changes which of
    // them comes (a pitch outside the key gives way to one inside), not how often the group does.
    modelMass += p;
    if (!allowed) continue;
    shaped[i] = Math.exp((logits[i]! - max) / opts.temperature);
    shapedMass += shaped[i]!;
  }
  if (shapedMass === 0) return;
  if (opts.topP < 1) applyTopP(shaped, shapedMass, opts.topP);
  let kept = 0;
  for (let i = 0; i < shaped.length; i++) kept += shaped[i]!;
  for (let i = 0; i < shaped.length; i++) if (shaped[i]! > 0) probs[i] = (shaped[i]! / kept) * modelMass;
}

/** Zeroes every probability outside the smallest set whose mass reaches topP. */
function applyTopP(probs: Float64Array, sum: number, topP: number): void {
  const order = Array.from(probs.keys()).filter((i) => probs[i]! > 0);
  order.sort((a, b) => probs[b]! - probs[a]!);
  let mass = 0;
  let keep = 0;
  for (const i of order) {
    mass += probs[i]! / sum;
    keep++;
    if (mass >= topP) break;
  }
  for (const i of order.slice(keep)) probs[i] = 0;
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** log-softmax of one row, in float64 for stable NLL sums. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const logZ = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - logZ;
  return out;
}
