/**
 * The single entry point for interactions. It awaits every handler, so no error escapes, and
 * answers failures privately: MotifErrors with their message, anything else with an incident id.
 */
import type { Interaction } from 'discord.js';
import type { Command } from './command.js';
import { handleButton } from './buttons.js';
import type { BotContext } from './context.js';
import { MotifError } from '../errors.js';
import { requireAllowedChannel } from './permissions.js';
import { replyWithError } from './replies.js';

export type CommandMap = ReadonlyMap<string, Command>;

export function commandMap(commands: readonly Command[]): CommandMap {
  return new Map(commands.map((c) => [c.data.name, c]));
}

/** Never throws. */
export async function routeInteraction(interaction: Interaction, ctx: BotContext, commands: CommandMap): Promise<void> {
  const where = { interactionId: interaction.id, guildId: interaction.guildId, userId: interaction.user.id };
  if (interaction.isAutocomplete()) {
    try {
      await commands.get(interaction.commandName)?.autocomplete?.(interaction, ctx);
    } catch (error) {
      ctx.logger.warn('autocomplete failed', { ...where, error });
      await interaction.respond([]).catch(() => undefined);
    }
    return;
  }
  if (!interaction.isRepliable()) return;
  const context = { ...where, what: describe(interaction) };
  try {
    // Before any work, permission check or storage read: a flood costs one map lookup each.
    ctx.rateLimiter?.take(interaction.user.id, interaction.guildId);
    if (interaction.isChatInputCommand()) {
      const command = commands.get(interaction.commandName);
      if (!command) throw new MotifError('NOT_FOUND', 'I do not know that command any more; an admin should run `npm run deploy-commands`.');
      if (!command.anyChannel && interaction.guildId) {
        requireAllowedChannel(interaction, await ctx.storage.settings.get(interaction.guildId));
      }
      ctx.logger.debug('command', context);
      await command.execute(interaction, ctx);
    } else if (interaction.isButton()) {
      await handleButton(interaction, ctx);
    }
  } catch (error) {
    await replyWithError(interaction, error, ctx.logger, context);
  }
}

function describe(interaction: Interaction): string {
  if (interaction.isChatInputCommand()) {
    const sub = interaction.options.getSubcommand(false);
    return `/${interaction.commandName}${sub ? ` ${sub}` : ''}`;
  }
  if (interaction.isButton()) return `button ${interaction.customId}`;
  return `interaction type ${interaction.type}`;
}
