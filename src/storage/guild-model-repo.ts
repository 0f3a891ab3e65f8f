/** The guild's own trained model (at most one current model per guild). */
import type Keyv from 'keyv';
import { assertGuildId } from './guild-paths.js';
import { guildModelSchema } from './schemas.js';
import type { RecordReader } from './validated-read.js';

export interface GuildModel {
  /** Absolute model directory (weights + spec JSON). */
  modelDir: string;
  /** ISO-8601. */
  trainedAt: string;
  trainedBy: string;
  epochs: number;
  from: 'default' | 'scratch';
  corpusFiles: number;
  metrics: Record<string, number>;
  summary: string;
  lossCurvePngPath: string;
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
  constructor(
    private readonly keyv: Keyv,
    private readonly reader: RecordReader,
  ) {}

  async get(guildId: string): Promise<GuildModel | undefined> {
    assertGuildId(guildId);
    return this.reader.read(guildId, guildModelSchema);
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

  /** @returns the model it replaced, so its folder can be deleted. */
  async set(guildId: string, model: GuildModel): Promise<GuildModel | undefined> {
    const previous = await this.get(guildId);
    await this.keyv.set(guildId, model);
    return previous;
  }
}
