/**
 * Mixing distributions held as log-probabilities (ensembles, transposed views), stably: each sum of
 * exponentials is taken relative to its largest term.
 */

/** log Σ exp(values); −∞ when every value is. */
export function logSumExp(values: readonly number[]): number {
  const max = Math.max(...values);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/**
 * Per entry i, log Σₖ exp(rows[k][i] + offsets[k]): the log of a weighted sum of distributions
 * (offsets = log weights). Written out without per-entry arrays: it runs for every token composed.
 */
export function logSumExpColumns(rows: readonly ArrayLike<number>[], offsets: readonly number[]): Float32Array {
  const out = new Float32Array(rows[0]?.length ?? 0);
  for (let i = 0; i < out.length; i++) {
    let max = -Infinity;
    for (let k = 0; k < rows.length; k++) max = Math.max(max, rows[k]![i]! + offsets[k]!);
    if (max === -Infinity) {
      out[i] = -Infinity;
      continue;
    }
    let sum = 0;
    for (let k = 0; k < rows.length; k++) sum += Math.exp(rows[k]![i]! + offsets[k]! - max);
    out[i] = max + Math.log(sum);
  }
  return out;
}
