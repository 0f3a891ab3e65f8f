import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import { runCompose } from '../src/bot/compose-flow.js';
import type { BotContext } from '../src/bot/context.js';
import { INSTRUMENT_CHOICES } from '../src/bot/instruments.js';
import { resolveSeed, seedAutocomplete } from '../src/bot/seeds.js';
import { downloadUpload, precheckAttachment } from '../src/bot/uploads.js';
import { assertInRange } from '../src/errors.js';
import { guildIdOf } from '../src/bot/permissions.js';
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
  const guildId = guildIdOf(interaction);
  const settings = await ctx.storage.settings.get(guildId);
  const length = interaction.options.getInteger('length') ?? settings.defaultLength ?? 100;
  assertInRange('length', length, 1, ctx.config.maxComposeLength, { integer: true });
  const temperature = interaction.options.getNumber('temperature') ?? undefined;
  if (temperature !== undefined) assertInRange('temperature', temperature, 0.1, 3);
  const qpm = interaction.options.getInteger('tempo') ?? undefined;
  if (qpm !== undefined) assertInRange('tempo', qpm, 20, 300, { integer: true });
  const attachment = interaction.options.getAttachment('midi') ?? undefined;
  const options = {
    length,
    temperature,
    qpm,
    program: interaction.options.getInteger('instrument') ?? undefined,
    style: interaction.options.getString('style') ?? undefined,
    playWhenReady: interaction.options.getBoolean('play') ?? false,
  };
  if (!attachment) {
    const seed = await resolveSeed(interaction, ctx, { seedName: interaction.options.getString('seed') ?? undefined });
    await runCompose(interaction, ctx, { ...options, seed: seed?.sequence, seedName: seed?.name });
    return;
  }
  // An attachment wins over a seed name. Refusals that need no download come at once; then the
  // interaction is acknowledged before a byte is fetched, and the job (a worker) reads the file.
  precheckAttachment(ctx, attachment, ['midi']);
  await interaction.deferReply();
  const upload = await downloadUpload(ctx, guildId, attachment, ['midi']);
  try {
    await runCompose(interaction, ctx, { ...options, seedMidiPath: upload.path });
  } finally {
    await upload.discard();
  }
}

export const autocomplete = seedAutocomplete;

export const command: Command = { data, execute, autocomplete };
