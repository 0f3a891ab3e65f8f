/**
 * The bot's storage: one Keyv namespace per concern on the backend named by STORAGE_URL, with keys
 * prefixed by guild id, wrapped in typed repositories.
 */
import type Keyv from 'keyv';
import { MotifError } from '../errors.js';
import { CorpusRepo } from './corpus-repo.js';
import { DeliveryRepo } from './delivery-repo.js';
import { GuildModelRepo } from './guild-model-repo.js';
import { GuildSettingsRepo } from './guild-settings-repo.js';
import { openKeyv, storageBackend, type StorageBackend } from './keyv-store.js';
import { ResultRepo } from './result-repo.js';
import { SeedRepo } from './seed-repo.js';
import { checkSqliteFileBeforeOpen, checkSqliteIntegrity, sqliteFileOf } from './sqlite-file-check.js';
import { RecordReader, type OnCorrupt } from './validated-read.js';

export interface Storage {
  backend: StorageBackend;
  settings: GuildSettingsRepo;
  seeds: SeedRepo;
  corpus: CorpusRepo;
  results: ResultRepo;
  models: GuildModelRepo;
  /** Who waits for which job (durable delivery). */
  deliveries: DeliveryRepo;
  /** Closes every connection; the repositories are unusable afterwards. */
  close(): Promise<void>;
  /**
   * One read from every store (the health check, /healthz).
   * @throws the backend's error when a store does not answer.
   */
  ping(): Promise<void>;
}

export interface OpenStorageOptions {
  /** Called for every store error (connection loss etc.); the failing call also throws. */
  onError?: (error: unknown, namespace: string) => void;
  /** Prefix for namespaces, e.g. to isolate tests sharing one Redis. Default "motif". */
  namespacePrefix?: string;
  /**
   * DATA_DIR: with an SQLite file, guild folders here mean a database existed before, so a missing
   * or 0-byte file is refused (STORAGE_MISSING) instead of silently starting empty.
   */
  dataDir?: string;
  /** Called once per damaged or wrong-shaped value read back (it is kept aside, defaults are used). */
  onCorrupt?: OnCorrupt;
}

/**
 * Opens the stores and checks they answer (one read per namespace), so a wrong URL fails at start-up.
 * An SQLite file is checked first (see sqlite-file-check.ts); errors while opening are held back so
 * a damaged file gives one line, not a log of adapter errors.
 * @throws MotifError STORAGE_CORRUPT / STORAGE_MISSING for the SQLite file; the backend's connection error otherwise.
 */
export async function openStorage(url: string, opts: OpenStorageOptions = {}): Promise<Storage> {
  const backend = storageBackend(url);
  const sqliteFile = sqliteFileOf(url);
  if (sqliteFile) await checkSqliteFileBeforeOpen(sqliteFile, opts.dataDir);
  const prefix = opts.namespacePrefix ?? 'motif';
  const stores: Keyv[] = [];
  let opening = true;
  const onCorrupt = opts.onCorrupt ?? (() => undefined);
  const open = (concern: string): [Keyv, RecordReader] => {
    const namespace = `${prefix}-${concern}`;
    const keyv = openKeyv(url, namespace, (error) => {
      if (!opening) opts.onError?.(error, namespace);
    });
    stores.push(keyv);
    return [keyv, new RecordReader(keyv, namespace, onCorrupt)];
  };
  const storage: Storage = {
    backend,
    settings: new GuildSettingsRepo(...open('settings')),
    seeds: new SeedRepo(...open('seeds')),
    corpus: new CorpusRepo(...open('corpus')),
    results: new ResultRepo(...open('results')),
    models: new GuildModelRepo(...open('models'), opts.dataDir),
    deliveries: new DeliveryRepo(...open('deliveries')),
    close: async () => {
      await Promise.allSettled(stores.map((s) => s.disconnect()));
    },
    ping: async () => {
      await Promise.all(stores.map((s) => s.get('__ping__')));
    },
  };
  try {
    if (sqliteFile) {
      const adapter = stores[0]?.store as { query?: (sql: string) => Promise<unknown> } | undefined;
      if (adapter?.query) await checkSqliteIntegrity(sqliteFile, (sql) => adapter.query!(sql));
    }
    await storage.ping();
  } catch (error) {
    await storage.close();
    if (sqliteFile && !(error instanceof MotifError)) {
      throw new MotifError('STORAGE_CORRUPT', `The storage file ${sqliteFile} cannot be read (${describe(error)}). Restore it from a backup, or move it away (mv "${sqliteFile}" "${sqliteFile}.damaged") to start with empty storage.`, { cause: error });
    }
    throw error;
  }
  opening = false;
  return storage;
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 120);
}

export { CorpusRepo, DeliveryRepo, GuildModelRepo, GuildSettingsRepo, ResultRepo, SeedRepo };
export type { DeliveryRecord } from './delivery-repo.js';
export type { CorpusEntry } from './corpus-repo.js';
export type { GuildModel } from './guild-model-repo.js';
export type { GuildSettings, GuildSettingsPatch } from './guild-settings-repo.js';
export type { ResultOptions, ResultRecord } from './result-repo.js';
export type { Seed, SeedSummary } from './seed-repo.js';
export { DEFAULT_GUILD_SETTINGS } from './guild-settings-repo.js';
export { normalizeSeedName, MAX_SEEDS_PER_GUILD } from './seed-repo.js';
export { guildPaths, guildKeys, assertFileId, isModelVersionPrefix, type GuildPaths } from './guild-paths.js';
export { storageBackend, type StorageBackend } from './keyv-store.js';
export type { CorruptRecord, OnCorrupt } from './validated-read.js';
