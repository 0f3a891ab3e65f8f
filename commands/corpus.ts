import { InteractionContextType, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { addAttachedCorpusFile, corpusActorOf } from '../src/bot/corpus-upload.js';
import { guildIdOf } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { LICENCE_LABELS, listCorpus, removeCorpusFile } from '../src/guild/corpus.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('corpus')
  .setDescription("This server's community uploads, used by /train")
  .addSubcommand((s) =>
    s.setName('add').setDescription('Add a MIDI or audio file (mp3/wav/ogg/flac, transcribed)')
      .addAttachmentOption((o) => o.setName('file').setDescription('MIDI or audio file').setRequired(true))
      .addBooleanOption((o) => o.setName('confirm_rights').setDescription('I may share this for training: my own work, public domain, or a free licence').setRequired(true))
      .addStringOption((o) =>
        o.setName('licence').setDescription('Its licence').setRequired(true)
          .addChoices(...Object.entries(LICENCE_LABELS).map(([value, name]) => ({ name, value }))),
      )
      .addStringOption((o) => o.setName('attribution').setDescription('Composer / author and source (required for CC BY, CC BY-SA)').setMaxLength(200)),
  )
  .addSubcommand((s) => s.setName('list').setDescription('List the corpus'))
  .addSubcommand((s) =>
    s.setName('remove').setDescription('Remove a file').addStringOption((o) => o.setName('id').setDescription('Id from /corpus list').setRequired(true).setMaxLength(16)),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand();
  if (sub === 'list') {
    const entries = await listCorpus(ctx, guildIdOf(interaction));
    const lines = entries.map(
      (e) => `• \`${e.id}\` ${e.name} — ${e.kind}, ${e.noteCount} notes, ${e.licence ? LICENCE_LABELS[e.licence] : 'licence not stated'}${e.attribution ? ` (${e.attribution})` : ''}, by <@${e.addedBy}>`,
    );
    await interaction.reply({ content: lines.length ? `${entries.length} files:\n${lines.join('\n')}`.slice(0, 1900) : 'The corpus is empty. Add files with `/corpus add`.', allowedMentions: NO_MENTIONS });
    return;
  }
  if (sub === 'remove') {
    const { removed, modelTrainedOnIt } = await removeCorpusFile(ctx, corpusActorOf(interaction), interaction.options.getString('id', true));
    const note = modelTrainedOnIt ? '\nThis server’s model was trained on it: its card now says so, and `/train start` makes a model without it.' : '';
    await interaction.reply({ content: `Removed \`${removed.id}\` (${removed.name}) from the corpus.${note}`, allowedMentions: NO_MENTIONS });
    return;
  }
  const entry = await addAttachedCorpusFile(interaction, ctx);
  await interaction.editReply({
    content: `Added \`${entry.id}\` ${entry.name} to the corpus (${entry.noteCount} notes${entry.kind === 'audio' ? ', transcribed' : ''}; ${LICENCE_LABELS[entry.licence]}).`,
    allowedMentions: NO_MENTIONS,
  });
}

export const command: Command = { data, execute };
