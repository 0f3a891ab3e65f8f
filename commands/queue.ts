import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { Command } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { actorOf } from '../src/bot/permissions.js';
import { NO_MENTIONS } from '../src/bot/replies.js';
import { cancelGuildJob, listGuildJobs } from '../src/guild/queue.js';

export const data = new SlashCommandBuilder()
  .setContexts(InteractionContextType.Guild)
  .setName('queue')
  .setDescription("What this server's jobs are doing")
  .addSubcommand((s) => s.setName('list').setDescription('Jobs waiting and running'))
  .addSubcommand((s) =>
    s.setName('cancel').setDescription('Cancel one of your jobs').addStringOption((o) => o.setName('id').setDescription('Job id from /queue list').setRequired(true).setMaxLength(16)),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const actor = actorOf(interaction);
  if (interaction.options.getSubcommand() === 'cancel') {
    const id = interaction.options.getString('id', true);
    await cancelGuildJob(ctx, actor, id);
    await interaction.reply({ content: `Cancelled job \`${id}\`.`, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    return;
  }
  const jobs = await listGuildJobs(ctx, actor.guildId);
  // The lane says why a compose is not stuck behind a training run: each lane has its own workers.
  const lines = jobs.map((j) => `• \`${j.id}\` ${j.label} — ${j.lane}, ${j.running ? 'running' : `position ${j.position}`}, by <@${j.userId}>`);
  const content = lines.length ? lines.join('\n').slice(0, 1900) : 'Nothing is queued on this server.';
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

export const command: Command = { data, execute };
