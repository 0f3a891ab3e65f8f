/**
 * The guild's own trained model (at most one current model per guild). The record names blobs by
 * key: the model's files live under a version prefix in the blob store, written once by /train.
 */
import type Keyv from 'keyv';
import { assertGuildId } from './guild-paths.js';
import { guildModelSchemaFor } from './schemas.js';
import type { RecordReader } from './validated-read.js';

export interface GuildModel {
  /**
   * Blob prefix of the model version (`guilds/<g>/models/<version>/`: weights, spec JSON, …).
   * Records from before the blob store held an absolute folder inside DATA_DIR; they are converted
   * when read, and one naming a folder outside DATA_DIR is refused.
   */
  modelDir: string;
  /** ISO-8601. */
  trainedAt: string;
  trainedBy: string;
  epochs: number;
  from: 'default' | 'scratch';
  corpusFiles: number;
  metrics: Record<string, number>;
  summary: string;
  /** Blob key of the loss-curve PNG (absent when not stored). */
  lossCurveKey?: string;
  /** The version this one replaced, kept for a rollback until the next /train replaces this one. */
  previousModelDir?: string;
  /** The corpus files it was trained on, with their stated licences (absent on older models). */
  sources?: ModelSource[];
  /** Sources removed from the corpus after training: the model still carries what it learnt from them. */
  removedSources?: { id: string; name: string; removedAt: string }[];
}

export interface ModelSource {
  id: string;
  name: string;
  licence?: string;
  attribution?: string;
  addedBy: string;
}

export class GuildModelRepo {
  private readonly schema: ReturnType<typeof guildModelSchemaFor>;

  /** @param dataDir DATA_DIR, to convert old records' absolute paths into keys (absent: such records are refused). */
  constructor(
    private readonly keyv: Keyv,
    private readonly reader: RecordReader,
    dataDir?: string,
  ) {
    this.schema = guildModelSchemaFor(dataDir);
  }

  async get(guildId: string): Promise<GuildModel | undefined> {
    assertGuildId(guildId);
    return this.reader.read(guildId, this.schema);
  }

  /**
   * Notes on the guild's model that a source it was trained on left the corpus.
   * @returns true when the current model was trained on it.
   */
  async markSourceRemoved(guildId: string, source: { id: string; name: string }): Promise<boolean> {
    const model = await this.get(guildId);
    if (!model?.sources?.some((s) => s.id === source.id)) return false;
    const removedSources = [...(model.removedSources ?? []).filter((r) => r.id !== source.id), { id: source.id, name: source.name, removedAt: new Date().toISOString() }];
    await this.keyv.set(guildId, { ...model, removedSources });
    return true;
  }

  /** @returns the model it replaced, so its blobs can be deleted. */
  async set(guildId: string, model: GuildModel): Promise<GuildModel | undefined> {
    const previous = await this.get(guildId);
    await this.keyv.set(guildId, model);
    return previous;
  }
}
