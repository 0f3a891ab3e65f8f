import { InteractionContextType, MessageFlags, PermissionFlagsBits, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { guildIdOf, requireManageGuild } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { runTraining } from '../src/bot/train-flow.js';
import { MotifError } from '../src/errors.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('train')
  .setDescription("Train this server's own model on its corpus (Manage Server)")
  .addSubcommand((s) =>
    s.setName('start').setDescription('Start training')
      .addIntegerOption((o) => o.setName('epochs').setDescription('Passes over the corpus (1–50, default 5)').setMinValue(1).setMaxValue(50))
      .addStringOption((o) => o.setName('from').setDescription('Start from the shipped model or from scratch').addChoices({ name: 'default', value: 'default' }, { name: 'scratch', value: 'scratch' })),
  )
  .addSubcommand((s) => s.setName('cancel').setDescription('Cancel the running training'))
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild);

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  requireManageGuild(interaction, 'train a model');
  if (interaction.options.getSubcommand() === 'cancel') {
    const job = (await ctx.queue.list({ guildId })).find((j) => j.kind === 'train');
    if (!job) throw new MotifError('NOT_FOUND', 'No training is queued or running on this server.');
    await ctx.queue.cancel(job.id, { guildId, userId: interaction.user.id, isAdmin: true });
    await interaction.reply({ content: `Cancelled training job \`${job.id}\`.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    return;
  }
  const from = interaction.options.getString('from') === 'scratch' ? 'scratch' : 'default';
  await runTraining(interaction, ctx, { epochs: interaction.options.getInteger('epochs') ?? 5, from });
}

export const command: Command = { data, execute };
