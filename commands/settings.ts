import { InteractionContextType, MessageFlags, SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import { STYLE_NAMES, STYLES } from '../src/jobs/styles.js';
import type { BotContext } from '../src/bot/context.js';
import { INSTRUMENT_CHOICES } from '../src/bot/instruments.js';
import { actorOf, guildIdOf } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { formatSettings, settingsChangeFromOptions } from '../src/bot/settings-view.js';
import { guildSettings, MAX_SOUNDFONT_NAME_LENGTH, SETTINGS_LIMITS, soundfontNames, updateGuildSettings } from '../src/guild/settings.js';

const { temperature, tempo, length, user_queue_limit: userQueueLimit } = SETTINGS_LIMITS;

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('settings')
  .setDescription("This server's Motif defaults")
  .addSubcommand((s) => s.setName('view').setDescription('Show the current settings'))
  .addSubcommand((s) =>
    s.setName('set').setDescription('Change defaults (Manage Server)')
      .addNumberOption((o) => o.setName('temperature').setDescription(`Default temperature ${temperature.min}–${temperature.max}`).setMinValue(temperature.min).setMaxValue(temperature.max))
      .addIntegerOption((o) => o.setName('instrument').setDescription('Default instrument').addChoices(...INSTRUMENT_CHOICES))
      .addIntegerOption((o) => o.setName('tempo').setDescription(`Default BPM ${tempo.min}–${tempo.max}`).setMinValue(tempo.min).setMaxValue(tempo.max))
      .addIntegerOption((o) => o.setName('length').setDescription(`Default length ${length.min}–${length.max}`).setMinValue(length.min).setMaxValue(length.max))
      .addStringOption((o) =>
        o.setName('style').setDescription('Default /compose style').addChoices(...STYLE_NAMES.map((name) => ({ name: STYLES[name].label, value: name }))),
      )
      .addStringOption((o) => o.setName('soundfont').setDescription('SoundFont for rendering (bundled, or from the soundfonts folder)').setAutocomplete(true).setMaxLength(MAX_SOUNDFONT_NAME_LENGTH))
      .addIntegerOption((o) => o.setName('user_queue_limit').setDescription(`Jobs one member may queue (${userQueueLimit.min}–${userQueueLimit.max})`).setMinValue(userQueueLimit.min).setMaxValue(userQueueLimit.max))
      .addChannelOption((o) => o.setName('allow_channel').setDescription('Also answer in this channel (limits the bot to listed channels)'))
      .addChannelOption((o) => o.setName('disallow_channel').setDescription('Stop answering in this channel'))
      .addRoleOption((o) => o.setName('corpus_role').setDescription('Role that may manage the corpus'))
      .addBooleanOption((o) => o.setName('reset').setDescription('Reset every setting to its default first')),
  );
// No default_member_permissions: that would hide `/settings view` from members too. `set` checks
// Manage Server in the use-case instead (the actor's isAdmin).

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (interaction.options.getSubcommand() === 'view') {
    const settings = await guildSettings(ctx, guildIdOf(interaction));
    await interaction.reply({ content: formatSettings(settings, ctx.config), flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    return;
  }
  const updated = await updateGuildSettings(ctx, actorOf(interaction), settingsChangeFromOptions(interaction));
  await interaction.reply({ content: `Settings saved.\n${formatSettings(updated, ctx.config)}`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

/** SoundFont names the renderer loads, matching what was typed. */
export async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const names = soundfontNames(ctx, String(interaction.options.getFocused()));
  await interaction.respond(names.map((name) => ({ name, value: name })));
}

export const command: Command = { data, execute, autocomplete, anyChannel: true };
