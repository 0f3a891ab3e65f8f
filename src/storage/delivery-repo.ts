/**
 * Durable delivery: who is waiting for which job, kept in storage so the answer survives the process
 * that received the interaction. The process that enqueues a job stores a record (application id,
 * interaction token, guild, channel, user, expiry, and what the flow needs to finish the
 * conversation); whichever bot process sees the job end delivers it and removes the record; at
 * start-up a bot sweeps its guilds' records (results that finished while it was down are delivered,
 * lost jobs are told so).
 *
 * The interaction token lives only here (never in job data, logs or Redis job payloads) and only
 * until its 15 minutes are over plus the time it takes to tell the member by channel message.
 */
import type Keyv from 'keyv';
import { z } from 'zod';
import { assertGuildId } from './guild-paths.js';
import { KeyLock } from './key-lock.js';
import { idListSchema } from './schemas.js';
import type { RecordReader } from './validated-read.js';

export const deliveryRecordSchema = z.object({
  jobId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  kind: z.string().min(1).max(64),
  applicationId: z.string().regex(/^\d{1,25}$/),
  interactionToken: z.string().min(1).max(1000),
  guildId: z.string().regex(/^\d{1,25}$/),
  channelId: z.string().max(25),
  userId: z.string().regex(/^\d{1,25}$/),
  /** Epoch ms the interaction arrived. */
  createdAt: z.number().int().nonnegative(),
  /** Epoch ms after which the token can no longer edit the reply (a channel message is used instead). */
  tokenExpiresAt: z.number().int().nonnegative(),
  /** The flow's own data (validated by the flow that reads it). */
  context: z.unknown(),
});
export type DeliveryRecord = z.infer<typeof deliveryRecordSchema>;

/** A record older than this is dropped by a sweep whatever its job's state: nobody is waiting any more. */
export const DELIVERY_MAX_AGE_MS = 24 * 60 * 60 * 1000;

export class DeliveryRepo {
  private readonly lock = new KeyLock();

  constructor(
    private readonly keyv: Keyv,
    private readonly reader: RecordReader,
  ) {}

  async add(record: DeliveryRecord): Promise<void> {
    assertGuildId(record.guildId);
    await this.lock.run(record.guildId, async () => {
      await this.keyv.set(recordKey(record.guildId, record.jobId), record);
      const ids = await this.ids(record.guildId);
      if (!ids.includes(record.jobId)) await this.keyv.set(indexKey(record.guildId), [...ids, record.jobId]);
    });
  }

  async get(guildId: string, jobId: string): Promise<DeliveryRecord | undefined> {
    assertGuildId(guildId);
    const record = await this.reader.read(recordKey(guildId, jobId), deliveryRecordSchema);
    return record && record.guildId === guildId && record.jobId === jobId ? record : undefined;
  }

  /** Every pending delivery of a guild, oldest first (records that fail their schema are skipped). */
  async pending(guildId: string): Promise<DeliveryRecord[]> {
    const records = await Promise.all((await this.ids(guildId)).map((id) => this.get(guildId, id)));
    return records.filter((r): r is DeliveryRecord => r !== undefined);
  }

  /** Idempotent. */
  async remove(guildId: string, jobId: string): Promise<void> {
    assertGuildId(guildId);
    await this.lock.run(guildId, async () => {
      await this.keyv.delete(recordKey(guildId, jobId));
      await this.keyv.set(indexKey(guildId), (await this.ids(guildId)).filter((id) => id !== jobId));
    });
  }

  private async ids(guildId: string): Promise<string[]> {
    assertGuildId(guildId);
    return (await this.reader.read(indexKey(guildId), idListSchema)) ?? [];
  }
}

const indexKey = (guildId: string): string => `${guildId}:index`;
const recordKey = (guildId: string, jobId: string): string => `${guildId}:delivery:${jobId}`;
