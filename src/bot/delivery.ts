/**
 * Durable delivery, the bot's side (the records are src/storage/delivery-repo.ts; compose and
 * /train keep them): at start-up a bot sweeps the pending deliveries of its guilds. A job that finished while no bot was listening is
 * delivered now, one still waiting or running is followed to its end, and one the queue no longer
 * knows (the in-process queue after a restart, or a job dropped from Redis) is reported lost, so
 * nobody is left looking at "Composing…" forever.
 *
 * The reply is reached again through the stored interaction token (edit @original). Editing is
 * idempotent: a result delivered twice (a crash between the post and the record's removal) replaces
 * the same message instead of adding one. Once the token has expired the member is told by a channel
 * message, as the live flow does.
 */
import { InteractionWebhook, MessageFlags, Routes, type Client } from 'discord.js';
import { MotifError, isMotifError } from '../errors.js';
import { cutOffError } from '../jobs/queue.js';
import { DELIVERY_MAX_AGE_MS, type DeliveryRecord } from '../storage/delivery-repo.js';
import { composePlanSchema, discardComposeFiles } from '../guild/compose.js';
import { followCompose } from './compose-flow.js';
import { trainPlanSchema, type TrainPlan } from '../guild/training.js';
import { followTraining } from './train-flow.js';
import type { BotContext } from './context.js';
import type { ReplyTarget } from './progress-reporter.js';
import { NO_MENTIONS, describeError } from './replies.js';

export interface SweepReport {
  /** Records whose job was found (finished or not) and is now being delivered. */
  resumed: number;
  /** Records whose job the queue no longer knows: their members were told. */
  lost: number;
  /** Records dropped unread: too old, or of a kind or shape this bot cannot finish. */
  dropped: number;
  /** Records that could not be looked at now (the queue or storage away): they stay for the next start. */
  failed: number;
}

/**
 * Resumes every pending delivery of the guilds this client is in that was recorded before
 * `startedAt` (this process's start): what this process recorded itself it is already following.
 * Returns once each record has been looked at; deliveries of jobs still running go on in the
 * background (`inFlight` tracks them). One record that cannot be looked at (Redis or storage away)
 * is logged and left for the next start; the others go on.
 * @throws the storage error when a guild's records cannot even be listed.
 */
export async function sweepDeliveries(client: Client<true>, ctx: BotContext, inFlight: Set<Promise<void>>, startedAt: number): Promise<SweepReport> {
  const report: SweepReport = { resumed: 0, lost: 0, dropped: 0, failed: 0 };
  for (const guildId of client.guilds.cache.keys()) {
    for (const record of await ctx.storage.deliveries.pending(guildId)) {
      if (record.createdAt >= startedAt) continue;
      try {
        report[await resumeDelivery(client, ctx, record, inFlight)]++;
      } catch (error) {
        report.failed++;
        ctx.logger.warn('a pending delivery could not be looked at; it stays for the next start', { jobId: record.jobId, error });
      }
    }
  }
  return report;
}

async function resumeDelivery(client: Client<true>, ctx: BotContext, record: DeliveryRecord, inFlight: Set<Promise<void>>): Promise<keyof SweepReport> {
  const follow = followerFor(client, ctx, record);
  if (!follow) {
    ctx.logger.warn('delivery record dropped', { jobId: record.jobId, kind: record.kind, ageMs: Date.now() - record.createdAt });
    await discardFilesOf(ctx, record);
    await ctx.storage.deliveries.remove(record.guildId, record.jobId);
    return 'dropped';
  }
  const following = await follow();
  if (!following) {
    await tell(client, ctx, record, cutOffError());
    await discardFilesOf(ctx, record);
    await ctx.storage.deliveries.remove(record.guildId, record.jobId);
    return 'lost';
  }
  const settled = following.done.then(
    () => undefined,
    async (error: unknown) => {
      // Stopping again before it ended: the record stays for the next start.
      if (isMotifError(error) && error.code === 'JOB_HANDED_OVER') return;
      await tell(client, ctx, record, error);
    },
  );
  inFlight.add(settled);
  void settled.finally(() => inFlight.delete(settled));
  return 'resumed';
}

/**
 * How to finish a record's conversation: re-attach to its job and follow it with the flow that
 * started it (compose or train). Undefined for a record too old, of an unknown kind, or whose
 * context fails its schema; the follower resolves undefined when the queue no longer knows the job,
 * else with the conversation going on (`done` settles when it has ended).
 */
function followerFor(client: Client<true>, ctx: BotContext, record: DeliveryRecord): (() => Promise<{ done: Promise<unknown> } | undefined>) | undefined {
  if (Date.now() - record.createdAt > DELIVERY_MAX_AGE_MS) return undefined;
  const target = storedReplyTarget(client, record);
  const opts = { guildId: record.guildId, startedAt: record.createdAt };
  if (record.kind === 'compose') {
    const context = composePlanSchema.safeParse(record.context);
    if (!context.success) return undefined;
    return async () => {
      const handle = await ctx.queue.attach('compose', record.jobId);
      return handle && { done: followCompose(target, ctx, handle, context.data, opts) };
    };
  }
  if (record.kind === 'train') {
    const plan = trainPlanSchema.safeParse(record.context);
    if (!plan.success || plan.data.guildId !== record.guildId) return undefined;
    return async () => {
      const handle = await ctx.queue.attach('train', record.jobId);
      return handle && { done: followTraining(target, ctx, handle, plan.data as TrainPlan, opts) };
    };
  }
  return undefined;
}

/** What a compose that will never be delivered may have left: its result folder, stored files and seed. */
async function discardFilesOf(ctx: BotContext, record: DeliveryRecord): Promise<void> {
  const plan = composePlanSchema.safeParse(record.context);
  if (record.kind !== 'compose' || !plan.success) return;
  await discardComposeFiles(ctx, record.guildId, plan.data).catch((error: unknown) => ctx.logger.warn('could not remove a lost compose’s files', { jobId: record.jobId, error }));
}

/** The stored reply as the compose flow edits it. */
export function storedReplyTarget(client: Client<true>, record: DeliveryRecord): ReplyTarget {
  const webhook = new InteractionWebhook(client, record.applicationId, record.interactionToken);
  return {
    editReply: (message) => webhook.editMessage('@original', message),
    client,
    channelId: record.channelId || null,
    user: { id: record.userId },
  };
}

/**
 * Tells the member why their job ended without a result: privately while the token lives (the
 * public progress message is removed first, as for a live interaction), else in the channel.
 * Never throws: a member who cannot be reached is logged.
 */
async function tell(client: Client<true>, ctx: BotContext, record: DeliveryRecord, error: unknown): Promise<void> {
  const text = describeError(error, ctx.logger, { jobId: record.jobId, guildId: record.guildId, restored: true });
  try {
    if (Date.now() < record.tokenExpiresAt - 60_000) {
      await client.rest.delete(Routes.webhookMessage(record.applicationId, record.interactionToken, '@original')).catch(() => undefined);
      await new InteractionWebhook(client, record.applicationId, record.interactionToken).send({ content: text, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      return;
    }
    const channel = record.channelId ? await client.channels.fetch(record.channelId) : null;
    if (!channel?.isSendable()) throw new MotifError('NOT_FOUND', 'the channel cannot be written to');
    await channel.send({ content: `<@${record.userId}> ${text}`, allowedMentions: { users: [record.userId] } });
  } catch (replyError) {
    ctx.logger.warn('could not tell a member about a job that ended during a restart', { jobId: record.jobId, replyError });
  }
}
