/**
 * Keeping and dropping a conversation's delivery record (src/storage/delivery-repo.ts): stored when a
 * job is queued for an interaction, removed once the conversation has ended, so a bot that restarts
 * meanwhile finishes it (delivery.ts).
 */
import type { RepliableInteraction } from 'discord.js';
import type { BotContext } from './context.js';

/** How long Discord accepts an interaction token, ms. */
export const INTERACTION_TOKEN_MS = 15 * 60 * 1000;

/**
 * Stores who waits for `jobId` and what finishing the conversation needs (`context`, plain data).
 * @param startedAt when the interaction arrived (epoch ms): the token's clock.
 */
export async function recordDelivery(
  ctx: BotContext,
  interaction: RepliableInteraction,
  job: { id: string; kind: string; guildId: string },
  context: unknown,
  startedAt: number,
): Promise<void> {
  await ctx.storage.deliveries.add({
    jobId: job.id,
    kind: job.kind,
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    guildId: job.guildId,
    channelId: interaction.channelId ?? '',
    userId: interaction.user.id,
    createdAt: startedAt,
    tokenExpiresAt: startedAt + INTERACTION_TOKEN_MS,
    context,
  });
}

/** The conversation has ended (delivered or told why not): nobody waits for this job any more. Never throws. */
export async function forgetDelivery(ctx: BotContext, guildId: string, jobId: string): Promise<void> {
  await ctx.storage.deliveries.remove(guildId, jobId).catch((error: unknown) => ctx.logger.warn('could not remove a delivery record', { jobId, error }));
}
