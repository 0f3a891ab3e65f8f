import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import { composeCommand } from '../src/bot/compose-flow.js';
import type { BotContext } from '../src/bot/context.js';
import { INSTRUMENT_CHOICES } from '../src/bot/instruments.js';
import { seedAutocomplete } from '../src/bot/seeds.js';
import type { Command } from '../src/bot/command.js';
import { STYLE_NAMES, STYLES } from '../src/jobs/styles.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('compose')
  .setDescription('Compose a piece (MIDI, MP3 and piano roll)')
  .addStringOption((o) =>
    o.setName('style').setDescription('What to compose (default: this server’s style)').addChoices(...STYLE_NAMES.map((name) => ({ name: STYLES[name].label, value: name }))),
  )
  .addIntegerOption((o) => o.setName('length').setDescription('Notes-or-chords to generate (1–2000, default 100)').setMinValue(1).setMaxValue(2000))
  .addNumberOption((o) => o.setName('temperature').setDescription('Randomness: 0.1 (safe) to 3 (wild), default 1').setMinValue(0.1).setMaxValue(3))
  .addIntegerOption((o) => o.setName('instrument').setDescription('Instrument').addChoices(...INSTRUMENT_CHOICES))
  .addIntegerOption((o) => o.setName('tempo').setDescription('Beats per minute (20–300)').setMinValue(20).setMaxValue(300))
  .addStringOption((o) => o.setName('seed').setDescription('Start from a saved seed').setAutocomplete(true).setMaxLength(32))
  .addAttachmentOption((o) => o.setName('midi').setDescription('A MIDI file to continue'))
  .addBooleanOption((o) => o.setName('play').setDescription('Also play it in your voice channel'));

export async function execute(interaction: Parameters<Command['execute']>[0], ctx: BotContext): Promise<void> {
  await composeCommand(interaction, ctx, {
    length: interaction.options.getInteger('length') ?? undefined,
    temperature: interaction.options.getNumber('temperature') ?? undefined,
    qpm: interaction.options.getInteger('tempo') ?? undefined,
    program: interaction.options.getInteger('instrument') ?? undefined,
    style: interaction.options.getString('style') ?? undefined,
    playWhenReady: interaction.options.getBoolean('play') ?? false,
    seedName: interaction.options.getString('seed') ?? undefined,
    // An attachment wins over a seed name.
    attachment: interaction.options.getAttachment('midi') ?? undefined,
  });
}

export const autocomplete = seedAutocomplete;

export const command: Command = { data, execute, autocomplete };
