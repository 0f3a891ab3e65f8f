import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { actorOf, guildIdOf } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { modelCardText } from '../src/bot/model-card.js';
import { guildModelInfo, useGuildModel } from '../src/guild/model.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('model')
  .setDescription('Which model this server composes with')
  .addSubcommand((s) => s.setName('info').setDescription('Show the model in use'))
  .addSubcommand((s) =>
    s.setName('use').setDescription('Switch models (Manage Server)')
      .addStringOption((o) => o.setName('model').setDescription('Which model').setRequired(true).addChoices({ name: 'default', value: 'default' }, { name: 'guild', value: 'guild' })),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (interaction.options.getSubcommand() === 'info') {
    const { inUse, own } = await guildModelInfo(ctx, guildIdOf(interaction));
    const ownText = own
      ? `This server's model: trained ${own.trainedAt.slice(0, 10)}, ${own.epochs} epochs from ${own.from}, ${own.corpusFiles} corpus files.\n${modelCardText(own)}\n${own.summary.slice(0, 600)}`
      : 'This server has no model of its own yet (/train).';
    await interaction.reply({ content: `In use: **${inUse}**.\n${ownText}`.slice(0, 1990), allowedMentions: NO_MENTIONS });
    return;
  }
  const choice = interaction.options.getString('model', true) === 'guild' ? 'guild' : 'default';
  await useGuildModel(ctx, actorOf(interaction), choice);
  await interaction.reply({ content: `Now composing with the **${choice}** model.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

export const command: Command = { data, execute };
