import { InteractionContextType, MessageFlags, PermissionFlagsBits, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { actorOf } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { runTraining } from '../src/bot/train-flow.js';
import { cancelGuildTraining } from '../src/guild/training.js';

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
  if (interaction.options.getSubcommand() === 'cancel') {
    const jobId = await cancelGuildTraining(ctx, actorOf(interaction));
    await interaction.reply({ content: `Cancelled training job \`${jobId}\`.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    return;
  }
  const from = interaction.options.getString('from') === 'scratch' ? 'scratch' : 'default';
  await runTraining(interaction, ctx, { epochs: interaction.options.getInteger('epochs') ?? 5, from });
}

export const command: Command = { data, execute };
