import { InteractionContextType, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { guildIdOf } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { requireVoiceControls } from '../src/bot/voice/controls.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('leave')
  .setDescription('Leave the voice channel');

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const voice = requireVoiceControls(ctx.voice);
  const guildId = guildIdOf(interaction);
  voice.assertCanControl(interaction);
  voice.leave(guildId);
  await interaction.reply({ content: 'Left the voice channel.', allowedMentions: NO_MENTIONS });
}

export const command: Command = { data, execute };
