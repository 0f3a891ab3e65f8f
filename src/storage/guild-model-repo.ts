/** The guild's own trained model (at most one current model per guild). */
import type Keyv from 'keyv';
import { assertGuildId } from './guild-paths.js';

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
}

export class GuildModelRepo {
  constructor(private readonly keyv: Keyv) {}

  async get(guildId: string): Promise<GuildModel | undefined> {
    assertGuildId(guildId);
    return (await this.keyv.get(guildId)) as GuildModel | undefined;
  }

  /** @returns the model it replaced, so its folder can be deleted. */
  async set(guildId: string, model: GuildModel): Promise<GuildModel | undefined> {
    const previous = await this.get(guildId);
    await this.keyv.set(guildId, model);
    return previous;
  }
}
