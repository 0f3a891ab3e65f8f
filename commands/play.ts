import { InteractionContextType, SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { guildIdOf } from '../src/bot/permissions.js';
import { MotifError } from '../src/errors.js';
import { recentResults, resultToPlay } from '../src/guild/results.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('play')
  .setDescription('Play a result in your voice channel (default: the latest)')
  .addStringOption((o) => o.setName('result').setDescription('One of the recent results').setAutocomplete(true).setMaxLength(32));

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  if (!ctx.voice) throw new MotifError('VOICE_UNAVAILABLE', 'Voice playback is not available on this bot.');
  const record = await resultToPlay(ctx, guildId, interaction.options.getString('result') ?? undefined);
  await ctx.voice.playResult(interaction, record);
}

/** Recent results, newest first, matching what was typed (id, key or date). */
export async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const typed = interaction.options.getFocused().toLowerCase();
  const recent = interaction.guildId ? await recentResults(ctx, interaction.guildId) : [];
  const choices = recent
    .map((r) => ({ name: `${r.id} — ${r.keyGuess}, ${Math.round(r.durationSeconds)} s, ${r.createdAt.slice(0, 16).replace('T', ' ')}`, value: r.id }))
    .filter((c) => c.name.toLowerCase().includes(typed))
    .slice(0, 25);
  await interaction.respond(choices);
}

export const command: Command = { data, execute, autocomplete };
