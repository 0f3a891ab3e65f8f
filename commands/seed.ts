import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { guildIdOf } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { readMidiAttachment, seedAutocomplete } from '../src/bot/seeds.js';
import { precheckAttachment } from '../src/bot/uploads.js';
import { deleteSeed, listSeeds, saveSeed, type SeedSource } from '../src/guild/seeds.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('seed')
  .setDescription("This server's saved seeds")
  .addSubcommand((s) =>
    s.setName('save').setDescription('Save a MIDI file (or your latest result) as a seed')
      .addStringOption((o) => o.setName('name').setDescription('Seed name (1–32 letters, digits, - or _)').setRequired(true).setMaxLength(32))
      .addAttachmentOption((o) => o.setName('midi').setDescription('MIDI file; without it, your latest result')),
  )
  .addSubcommand((s) => s.setName('list').setDescription('List the saved seeds'))
  .addSubcommand((s) =>
    s.setName('delete').setDescription('Delete a seed')
      .addStringOption((o) => o.setName('name').setDescription('Seed name').setRequired(true).setAutocomplete(true).setMaxLength(32)),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  const sub = interaction.options.getSubcommand();
  let content: string;
  if (sub === 'save') {
    const attachment = interaction.options.getAttachment('midi');
    let from: SeedSource = { kind: 'latest-result' };
    if (attachment) {
      // Refuse what needs no download at once; acknowledge before downloading and reading in a worker.
      precheckAttachment(ctx, attachment, ['midi']);
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const owner = { guildId, userId: interaction.user.id, channelId: interaction.channelId };
      from = { kind: 'file', fileName: attachment.name, read: () => readMidiAttachment(ctx, owner, attachment) };
    }
    const saved = await saveSeed(ctx, { guildId, userId: interaction.user.id }, interaction.options.getString('name', true), from);
    content = `Saved seed \`${saved.name}\` (${saved.noteCount} notes).`;
  } else if (sub === 'list') {
    const seeds = await listSeeds(ctx, guildId);
    content = seeds.length === 0 ? 'No seeds yet. Save one with `/seed save`.' : seeds.map((s) => `• \`${s.name}\` — ${s.noteCount} notes, from ${s.source}`).join('\n').slice(0, 1900);
  } else {
    content = `Deleted seed \`${await deleteSeed(ctx, guildId, interaction.options.getString('name', true))}\`.`;
  }
  if (interaction.deferred) await interaction.editReply({ content, allowedMentions: NO_MENTIONS });
  else await interaction.reply({ content, flags: sub === 'list' ? undefined : MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

export const command: Command = { data, execute, autocomplete: seedAutocomplete };
