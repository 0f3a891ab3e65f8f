/** `JSON.parse` for text read back from a store: undefined instead of a throw, for a schema to refuse. */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
