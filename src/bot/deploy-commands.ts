/**
 * `npm run deploy-commands`: registers the slash commands — in DEV_GUILD_ID only (instant) when
 * set, else globally (may take up to an hour to appear). Settings come from .env; every failure
 * is one line (a rejected token says how to reset it) and exit code 1; a bad option exit code 2.
 *
 * A composition root like main.ts: only its command-line entry knows commands/; `deployCommands`
 * takes the list, so tests register exactly the commands they start the bot with.
 */
import { REST, Routes } from 'discord.js';
import { COMMANDS } from '../../commands/index.js';
import type { Command } from './command.js';
import { defineCli, EXIT_CODES_NOTE } from '../cli/define-cli.js';
import { isEntryPoint, runCliMain } from '../cli/run-cli.js';
import { loadConfig, type BotConfig } from '../config.js';
import { describeDiscordError } from './token-check.js';

export const DEPLOY_COMMANDS_CLI = defineCli({
  name: 'deploy-commands',
  summary: 'Register the slash commands with Discord: in DEV_GUILD_ID only when set (instant), else globally (up to an hour). Reads DISCORD_TOKEN, DISCORD_CLIENT_ID, DEV_GUILD_ID and DISCORD_API_URL from .env.',
  options: {
    json: { type: 'boolean', description: 'print { count, scope } as one JSON object on the last line of stdout' },
  },
  notes: [EXIT_CODES_NOTE],
});

/**
 * @returns how many commands were registered and where.
 * @throws MotifError with one line (rejected token, unreachable server, refused request).
 */
export async function deployCommands(
  config: Pick<BotConfig, 'discordToken' | 'discordClientId' | 'devGuildId' | 'discordApiUrl'>,
  commands: readonly Pick<Command, 'data'>[],
): Promise<{ count: number; scope: string }> {
  const rest = new REST({ ...(config.discordApiUrl ? { api: config.discordApiUrl } : {}), retries: 1 }).setToken(config.discordToken);
  const body = commands.map((c) => c.data.toJSON());
  const route = config.devGuildId
    ? Routes.applicationGuildCommands(config.discordClientId, config.devGuildId)
    : Routes.applicationCommands(config.discordClientId);
  try {
    const registered = (await rest.put(route, { body })) as unknown[];
    return { count: registered.length, scope: config.devGuildId ? `guild ${config.devGuildId}` : 'global' };
  } catch (error) {
    throw describeDiscordError(error, config.discordApiUrl);
  }
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runCliMain(DEPLOY_COMMANDS_CLI, async ({ values }) => {
    const { count, scope } = await deployCommands(loadConfig(), COMMANDS);
    process.stderr.write(`Registered ${count} commands (${scope}).\n`);
    if (values.json) process.stdout.write(`${JSON.stringify({ count, scope })}\n`);
    return 0;
  });
}
