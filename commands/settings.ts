import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import { STYLE_NAMES, STYLES } from '../src/jobs/styles.js';
import type { BotContext } from '../src/bot/context.js';
import { INSTRUMENT_CHOICES } from '../src/bot/instruments.js';
import { guildIdOf, requireManageGuild } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { formatSettings, settingsPatchFromOptions } from '../src/bot/settings-view.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('settings')
  .setDescription("This server's Motif defaults")
  .addSubcommand((s) => s.setName('view').setDescription('Show the current settings'))
  .addSubcommand((s) =>
    s.setName('set').setDescription('Change defaults (Manage Server)')
      .addNumberOption((o) => o.setName('temperature').setDescription('Default temperature 0.1–3').setMinValue(0.1).setMaxValue(3))
      .addIntegerOption((o) => o.setName('instrument').setDescription('Default instrument').addChoices(...INSTRUMENT_CHOICES))
      .addIntegerOption((o) => o.setName('tempo').setDescription('Default BPM 20–300').setMinValue(20).setMaxValue(300))
      .addIntegerOption((o) => o.setName('length').setDescription('Default length 1–2000').setMinValue(1).setMaxValue(2000))
      .addStringOption((o) =>
        o.setName('style').setDescription('Default /compose style').addChoices(...STYLE_NAMES.map((name) => ({ name: STYLES[name].label, value: name }))),
      )
      .addStringOption((o) => o.setName('soundfont').setDescription('SoundFont name from the soundfonts folder').setMaxLength(64))
      .addIntegerOption((o) => o.setName('user_queue_limit').setDescription('Jobs one member may queue (1–10)').setMinValue(1).setMaxValue(10))
      .addChannelOption((o) => o.setName('allow_channel').setDescription('Also answer in this channel (limits the bot to listed channels)'))
      .addChannelOption((o) => o.setName('disallow_channel').setDescription('Stop answering in this channel'))
      .addRoleOption((o) => o.setName('corpus_role').setDescription('Role that may manage the corpus'))
      .addBooleanOption((o) => o.setName('reset').setDescription('Reset every setting to its default first')),
  );
// No default_member_permissions: that would hide `/settings view` from members too. `set` checks
// Manage Server in the handler instead (requireManageGuild below).

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  if (interaction.options.getSubcommand() === 'view') {
    const settings = await ctx.storage.settings.get(guildId);
    await interaction.reply({ content: formatSettings(settings, ctx.config), flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    return;
  }
  requireManageGuild(interaction, 'change settings');
  const current = await ctx.storage.settings.get(guildId);
  const updated = await ctx.storage.settings.update(guildId, settingsPatchFromOptions(interaction, current, ctx.config));
  await interaction.reply({ content: `Settings saved.\n${formatSettings(updated, ctx.config)}`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

export const command: Command = { data, execute, anyChannel: true };
