/**
 * `npm run deploy-commands`: registers the slash commands — in DEV_GUILD_ID only (instant) when
 * set, else globally (may take up to an hour to appear).
 */
import { REST, Routes } from 'discord.js';
import { pathToFileURL } from 'node:url';
import { COMMANDS } from '../../commands/index.js';
import { loadConfig, type BotConfig } from '../config.js';
import { isMotifError } from '../errors.js';

/** @returns how many commands were registered and where. */
export async function deployCommands(
  config: Pick<BotConfig, 'discordToken' | 'discordClientId' | 'devGuildId' | 'discordApiUrl'>,
): Promise<{ count: number; scope: string }> {
  const rest = new REST(config.discordApiUrl ? { api: config.discordApiUrl } : {}).setToken(config.discordToken);
  const body = COMMANDS.map((c) => c.data.toJSON());
  const route = config.devGuildId
    ? Routes.applicationGuildCommands(config.discordClientId, config.devGuildId)
    : Routes.applicationCommands(config.discordClientId);
  const registered = (await rest.put(route, { body })) as unknown[];
  return { count: registered.length, scope: config.devGuildId ? `guild ${config.devGuildId}` : 'global' };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { count, scope } = await deployCommands(loadConfig());
    console.log(`Registered ${count} commands (${scope}).`);
  } catch (error) {
    console.error(isMotifError(error) ? error.userMessage : error);
    process.exitCode = 1;
  }
}
