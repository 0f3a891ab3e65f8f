import { InteractionContextType, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { guildIdOf } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { requireVoiceControls } from '../src/bot/voice/controls.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('skip')
  .setDescription('Skip the track playing in voice');

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const voice = requireVoiceControls(ctx.voice);
  const guildId = guildIdOf(interaction);
  voice.assertCanControl(interaction);
  const skipped = voice.skip(guildId);
  const next = voice.queue(guildId)[0];
  const content = skipped
    ? `Skipped **${skipped.title}**.${next ? ` Next: **${next.title}**.` : ' The queue is empty.'}`
    : 'Nothing is playing right now.';
  await interaction.reply({ content, allowedMentions: NO_MENTIONS });
}

export const command: Command = { data, execute };
