/**
 * String ↔ id tables for data-dependent vocabularies (the `seed` encoding). The tutorial builds its
 * vocabulary as `sorted(set(notes))`; fine-tuning must not renumber it, so growth only appends.
 */

export interface Vocabulary {
  readonly tokens: readonly string[];
  /** Id of a token, undefined when absent. */
  idOf(token: string): number | undefined;
}

/**
 * @throws Error on duplicate tokens (a corrupt spec, caught by the model loader).
 */
export function createVocabulary(tokens: readonly string[]): Vocabulary {
  const index = new Map<string, number>();
  tokens.forEach((token, id) => {
    if (index.has(token)) throw new Error(`duplicate token "${token}" in vocabulary`);
    index.set(token, id);
  });
  return { tokens: [...tokens], idOf: (token) => index.get(token) };
}

/** `sorted(set(tokens))` with Python's code-point order (same as JS's default sort for ASCII). */
export function sortedTokenSet(tokens: Iterable<string>): string[] {
  return [...new Set(tokens)].sort();
}

/**
 * Appends tokens not yet in `vocabulary` (sorted among themselves) so every old id keeps its meaning.
 * Returns the grown list and how many tokens were added.
 */
export function growVocabulary(vocabulary: readonly string[], tokens: Iterable<string>): { vocabulary: string[]; added: number } {
  const known = new Set(vocabulary);
  const fresh = sortedTokenSet([...tokens].filter((t) => !known.has(t)));
  return { vocabulary: [...vocabulary, ...fresh], added: fresh.length };
}
