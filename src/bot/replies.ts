/** Replies that never ping anyone; errors are ephemeral. */
import { MessageFlags, type InteractionReplyOptions, type RepliableInteraction } from 'discord.js';
import { isMotifError } from '../errors.js';
import { newIncidentId } from './incident.js';
import type { Logger } from '../util/logger.js';

export const NO_MENTIONS = Object.freeze({ parse: [] as never[] });

/** An ephemeral reply (or follow-up when already answered). */
export async function replyPrivately(interaction: RepliableInteraction, content: string, extra: Omit<InteractionReplyOptions, 'content' | 'flags'> = {}): Promise<void> {
  const payload = { ...extra, content, flags: MessageFlags.Ephemeral as const, allowedMentions: NO_MENTIONS };
  if (interaction.deferred && interaction.ephemeral && !interaction.replied) {
    await interaction.editReply({ content, components: [], files: [], allowedMentions: NO_MENTIONS });
  } else if (interaction.deferred || interaction.replied) {
    // A public "thinking…" or progress message must not stay behind next to the private error.
    if (interaction.deferred && !interaction.ephemeral) await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp(payload);
  } else {
    await interaction.reply(payload);
  }
}

/**
 * The text a user sees for an error: the MotifError's message, or for anything else only an
 * incident id (the error itself goes to the log under that id).
 */
export function describeError(error: unknown, logger: Logger, context: object): string {
  if (isMotifError(error)) {
    logger.debug(`user error ${error.code}`, { ...context, message: error.message });
    return error.userMessage;
  }
  const incidentId = newIncidentId();
  logger.error(`incident ${incidentId}`, { ...context, error });
  return `Something went wrong on my side (incident \`${incidentId}\`). The bot is still running; please try again.`;
}

/** Answers `interaction` with the error, privately; never throws (the interaction may be gone). */
export async function replyWithError(interaction: RepliableInteraction, error: unknown, logger: Logger, context: object): Promise<void> {
  const text = describeError(error, logger, context);
  try {
    // A restart replaces the visible progress ("Composing 40%") in place, so nobody is left waiting on
    // it; a job handed over says in place that its result will come here.
    if (isMotifError(error) && (error.code === 'BOT_RESTARTED' || error.code === 'JOB_HANDED_OVER') && interaction.deferred) {
      await interaction.editReply({ content: text, components: [], files: [], allowedMentions: NO_MENTIONS });
      return;
    }
    await replyPrivately(interaction, text);
  } catch (replyError) {
    logger.warn('could not send an error reply', { ...context, replyError });
  }
}
