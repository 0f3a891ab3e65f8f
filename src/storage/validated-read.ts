/**
 * Reading records back with their schema. A value that is not JSON, or JSON of the wrong shape, is
 * never cast and never dropped silently: its raw text is kept aside in the same namespace under
 * `quarantine:<key>:<hash>`, a warning names the key and where the copy is, and the caller falls
 * back to its default (no record / the valid part of a list).
 */
import { createHash } from 'node:crypto';
import { defaultDeserialize } from '@keyv/serialize';
import type Keyv from 'keyv';
import type { z } from 'zod';

/** Marks a stored value Keyv could not deserialize (bad JSON, not a Keyv envelope). */
interface UnreadableValue {
  __motifUnreadable: string;
}

export interface CorruptRecord {
  namespace: string;
  key: string;
  /** Why it was refused: "not JSON" or the schema's first complaints. */
  reason: string;
  /** Where the raw value was copied (same namespace). */
  keptAs: string;
}

export type OnCorrupt = (info: CorruptRecord) => void;

function isUnreadable(value: unknown): value is UnreadableValue {
  return typeof value === 'object' && value !== null && typeof (value as UnreadableValue).__motifUnreadable === 'string';
}

/**
 * Keyv's JSON deserializer, except that damage comes back as a marker instead of an exception
 * (which Keyv would turn into "not found") or a missing `value` (which Keyv would also hide).
 */
export function tolerantDeserialize<Value>(data: string): { value?: Value; expires?: number } {
  try {
    const parsed = defaultDeserialize(data) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'value' in parsed) return parsed as { value?: Value; expires?: number };
  } catch {
    // fall through: kept as unreadable
  }
  return { value: { __motifUnreadable: data } as Value };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

export class RecordReader {
  /** Hashes already reported, so one bad value warns once per process, not on every read. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly keyv: Keyv,
    private readonly namespace: string,
    private readonly onCorrupt: OnCorrupt,
  ) {}

  /** The record at `key` if it is valid; undefined when missing or refused (kept aside). */
  async read<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    const value: unknown = await this.keyv.get(key);
    if (value === undefined || value === null) return undefined;
    if (isUnreadable(value)) {
      await this.quarantine(key, value.__motifUnreadable, 'not JSON');
      return undefined;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    await this.quarantine(key, JSON.stringify(value), describeIssues(parsed.error));
    return undefined;
  }

  /**
   * A list record: the valid items, in order. A value that is not a list is refused whole; bad
   * items are refused one by one (kept aside together) and the good ones still count.
   */
  async readList<T>(key: string, itemSchema: z.ZodType<T>): Promise<T[]> {
    const value: unknown = await this.keyv.get(key);
    if (value === undefined || value === null) return [];
    if (isUnreadable(value)) {
      await this.quarantine(key, value.__motifUnreadable, 'not JSON');
      return [];
    }
    if (!Array.isArray(value)) {
      await this.quarantine(key, JSON.stringify(value), 'not a list');
      return [];
    }
    const good: T[] = [];
    const bad: unknown[] = [];
    let reason = '';
    for (const item of value) {
      const parsed = itemSchema.safeParse(item);
      if (parsed.success) good.push(parsed.data);
      else {
        bad.push(item);
        reason ||= describeIssues(parsed.error);
      }
    }
    if (bad.length > 0) await this.quarantine(key, JSON.stringify(bad), `${bad.length} of ${value.length} items refused (${reason})`);
    return good;
  }

  private async quarantine(key: string, raw: string, reason: string): Promise<void> {
    const hash = createHash('sha256').update(key).update('\0').update(raw).digest('hex').slice(0, 12);
    const keptAs = `quarantine:${key}:${hash}`;
    if (this.reported.has(keptAs)) return;
    this.reported.add(keptAs);
    await this.keyv.set(keptAs, { raw, reason, key, foundAt: new Date().toISOString() });
    this.onCorrupt({ namespace: this.namespace, key, reason, keptAs });
  }
}
