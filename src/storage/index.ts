/**
 * The bot's storage: one Keyv namespace per concern on the backend named by STORAGE_URL, with keys
 * prefixed by guild id, wrapped in typed repositories.
 */
import type Keyv from 'keyv';
import { CorpusRepo } from './corpus-repo.js';
import { GuildModelRepo } from './guild-model-repo.js';
import { GuildSettingsRepo } from './guild-settings-repo.js';
import { openKeyv, storageBackend, type StorageBackend } from './keyv-store.js';
import { ResultRepo } from './result-repo.js';
import { SeedRepo } from './seed-repo.js';
import { RecordReader, type OnCorrupt } from './validated-read.js';

export interface Storage {
  backend: StorageBackend;
  settings: GuildSettingsRepo;
  seeds: SeedRepo;
  corpus: CorpusRepo;
  results: ResultRepo;
  models: GuildModelRepo;
  /** Closes every connection; the repositories are unusable afterwards. */
  close(): Promise<void>;
}

export interface OpenStorageOptions {
  /** Called for every store error (connection loss etc.); the failing call also throws. */
  onError?: (error: unknown, namespace: string) => void;
  /** Prefix for namespaces, e.g. to isolate tests sharing one Redis. Default "motif". */
  namespacePrefix?: string;
  /** Called once per damaged or wrong-shaped value read back (it is kept aside, defaults are used). */
  onCorrupt?: OnCorrupt;
}

/**
 * Opens the stores and checks they answer (one read per namespace), so a wrong URL fails at start-up.
 * @throws the backend's connection error.
 */
export async function openStorage(url: string, opts: OpenStorageOptions = {}): Promise<Storage> {
  const backend = storageBackend(url);
  const prefix = opts.namespacePrefix ?? 'motif';
  const stores: Keyv[] = [];
  const onCorrupt = opts.onCorrupt ?? (() => undefined);
  const open = (concern: string): [Keyv, RecordReader] => {
    const namespace = `${prefix}-${concern}`;
    const keyv = openKeyv(url, namespace, (error) => opts.onError?.(error, namespace));
    stores.push(keyv);
    return [keyv, new RecordReader(keyv, namespace, onCorrupt)];
  };
  const storage: Storage = {
    backend,
    settings: new GuildSettingsRepo(...open('settings')),
    seeds: new SeedRepo(...open('seeds')),
    corpus: new CorpusRepo(...open('corpus')),
    results: new ResultRepo(...open('results')),
    models: new GuildModelRepo(...open('models')),
    close: async () => {
      await Promise.allSettled(stores.map((s) => s.disconnect()));
    },
  };
  try {
    await Promise.all(stores.map((s) => s.get('__ping__')));
  } catch (error) {
    await storage.close();
    throw error;
  }
  return storage;
}

export { CorpusRepo, GuildModelRepo, GuildSettingsRepo, ResultRepo, SeedRepo };
export type { CorpusEntry } from './corpus-repo.js';
export type { GuildModel } from './guild-model-repo.js';
export type { GuildSettings, GuildSettingsPatch } from './guild-settings-repo.js';
export type { ResultOptions, ResultRecord } from './result-repo.js';
export type { Seed, SeedSummary } from './seed-repo.js';
export { DEFAULT_GUILD_SETTINGS } from './guild-settings-repo.js';
export { normalizeSeedName, MAX_SEEDS_PER_GUILD } from './seed-repo.js';
export { guildPaths, assertFileId, type GuildPaths } from './guild-paths.js';
export { storageBackend, type StorageBackend } from './keyv-store.js';
export type { CorruptRecord, OnCorrupt } from './validated-read.js';
