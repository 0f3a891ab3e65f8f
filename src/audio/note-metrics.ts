/**
 * Note-onset precision / recall / F1, like `mir_eval.transcription.precision_recall_f1_overlap`
 * with `offset_ratio=None`: a reference and an estimated note match when their pitches are equal
 * and their onsets differ by at most the tolerance; each note matches at most once, and the
 * matching is a maximum bipartite matching (so the greedy order cannot cost matches).
 */

export interface TimedNote {
  /** MIDI pitch. */
  pitchMidi: number;
  startSeconds: number;
}

export interface OnsetScore {
  precision: number;
  recall: number;
  f1: number;
  matched: number;
  referenceCount: number;
  estimateCount: number;
}

export interface OnsetScoreOptions {
  /** Largest onset difference that still counts as a hit, seconds (default 0.05, mir_eval's). */
  onsetToleranceSeconds?: number;
}

/** Scores `estimate` against `reference`. Both empty → all 1; one empty → all 0. */
export function scoreNoteOnsets(
  reference: readonly TimedNote[],
  estimate: readonly TimedNote[],
  opts: OnsetScoreOptions = {},
): OnsetScore {
  const tolerance = opts.onsetToleranceSeconds ?? 0.05;
  // Same small epsilon as mir_eval, so a difference of exactly 50 ms still counts.
  const limit = tolerance + 1e-9;
  const candidates: number[][] = reference.map((ref) => {
    const list: number[] = [];
    estimate.forEach((est, j) => {
      if (est.pitchMidi === ref.pitchMidi && Math.abs(est.startSeconds - ref.startSeconds) <= limit) list.push(j);
    });
    return list;
  });
  const matched = maximumMatching(candidates, estimate.length);
  const base = { matched, referenceCount: reference.length, estimateCount: estimate.length };
  if (reference.length === 0 && estimate.length === 0) return { precision: 1, recall: 1, f1: 1, ...base };
  const precision = estimate.length ? matched / estimate.length : 0;
  const recall = reference.length ? matched / reference.length : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, ...base };
}

/** Kuhn's augmenting paths: fine for the few hundred notes a test clip holds. */
function maximumMatching(candidates: readonly number[][], rightCount: number): number {
  const owner = new Int32Array(rightCount).fill(-1);
  const tryAssign = (left: number, seen: Uint8Array): boolean => {
    for (const right of candidates[left] ?? []) {
      if (seen[right]) continue;
      seen[right] = 1;
      const current = owner[right] as number;
      if (current === -1 || tryAssign(current, seen)) {
        owner[right] = left;
        return true;
      }
    }
    return false;
  };
  let count = 0;
  for (let left = 0; left < candidates.length; left++) {
    if (tryAssign(left, new Uint8Array(rightCount))) count++;
  }
  return count;
}
