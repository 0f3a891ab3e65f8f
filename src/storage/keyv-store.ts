/**
 * Opens one Keyv per concern (namespace) on the configured backend. Keyv 5 writes the namespace
 * onto its store adapter, so namespaces must not share an adapter: each gets its own.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import KeyvRedis from '@keyv/redis';
import KeyvPostgres from '@keyv/postgres';
import { MotifError } from '../errors.js';
import { tolerantDeserialize } from './validated-read.js';

export type StorageBackend = 'sqlite' | 'redis' | 'postgres';

/** @throws MotifError CONFIG_INVALID for an unknown URL scheme. */
export function storageBackend(url: string): StorageBackend {
  if (url.startsWith('sqlite://')) return 'sqlite';
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return 'redis';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  throw new MotifError('CONFIG_INVALID', 'STORAGE_URL must start with sqlite://, redis:// or postgresql://.');
}

/**
 * A Keyv that throws on store errors (instead of returning undefined) so callers never mistake an
 * outage for "not found", and that reports errors to `onError`.
 */
export function openKeyv(url: string, namespace: string, onError: (error: unknown) => void): Keyv {
  const adapter = createAdapter(url);
  // Damaged values reach the repositories as a marker (validated-read.ts), not as "not found".
  const keyv = new Keyv({ store: adapter, namespace, throwOnErrors: true, useKeyPrefix: true, deserialize: tolerantDeserialize });
  keyv.on('error', onError);
  return keyv;
}

function createAdapter(url: string): KeyvStoreAdapter {
  switch (storageBackend(url)) {
    case 'sqlite': {
      const file = url.slice('sqlite://'.length);
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      // The bot is one process, or one per shard (npm run start:sharded) on the same file; the busy timeout
      // covers them and the CLI reading it. Each shard writes only its own guilds' keys.
      return new KeyvSqlite({ uri: url, busyTimeout: 5000 }) as unknown as KeyvStoreAdapter;
    }
    case 'redis':
      return new KeyvRedis(url, { throwOnConnectError: true, connectionTimeout: 5000 }) as unknown as KeyvStoreAdapter;
    case 'postgres':
      return new KeyvPostgres({ uri: url }) as unknown as KeyvStoreAdapter;
  }
}
