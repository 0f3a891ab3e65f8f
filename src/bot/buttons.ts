/** What the buttons on result and progress messages do. */
import { MessageFlags, type ButtonInteraction } from 'discord.js';
import { MotifError } from '../errors.js';
import { findResult } from '../guild/results.js';
import { saveSeed } from '../guild/seeds.js';
import { seedPart } from '../guild/compose.js';
import { cancelGuildJob } from '../guild/queue.js';
import { runCompose } from './compose-flow.js';
import type { BotContext } from './context.js';
import { parseCustomId } from './custom-ids.js';
import { actorOf, guildIdOf, requireAllowedChannel } from './permissions.js';
import { NO_MENTIONS } from './replies.js';

/** @throws MotifError NOT_FOUND (unknown button or expired result), or what the action throws. */
export async function handleButton(interaction: ButtonInteraction, ctx: BotContext): Promise<void> {
  const parsed = parseCustomId(interaction.customId);
  const guildId = guildIdOf(interaction);
  if (parsed.type === 'unknown') throw new MotifError('NOT_FOUND', 'This button is no longer supported.');
  if (parsed.type === 'job-cancel') {
    await cancelGuildJob(ctx, actorOf(interaction), parsed.jobId);
    await interaction.reply({ content: `Cancelled job \`${parsed.jobId}\`.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    return;
  }
  requireAllowedChannel(interaction, await ctx.storage.settings.get(guildId));
  const record = await findResult(ctx, guildId, parsed.resultId);
  switch (parsed.action) {
    case 'regen':
      await runCompose(interaction, ctx, { ...record.options, seed: seedPart(record), continuedFrom: record.options.continuedFrom });
      return;
    case 'cont':
      await runCompose(interaction, ctx, { ...record.options, seedName: undefined, seed: record.sequence, continuedFrom: record.id });
      return;
    case 'play':
      if (!ctx.voice) throw new MotifError('VOICE_UNAVAILABLE', 'Voice playback is not available on this bot.');
      await ctx.voice.playResult(interaction, record);
      return;
    case 'seed': {
      const saved = await saveSeed(ctx, { guildId, userId: interaction.user.id }, `result-${record.id}`, { kind: 'result', resultId: record.id });
      await interaction.reply({
        content: `Saved as seed \`${saved.name}\` (${saved.noteCount} notes). Use it with \`/compose seed:${saved.name}\`.`,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_MENTIONS,
      });
      return;
    }
  }
}
