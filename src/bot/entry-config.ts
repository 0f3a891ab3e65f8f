/**
 * The bot's settings as its entry points (`npm start`, `npm run start:sharded`) read them: a missing
 * token first, with what to do, then every other problem at once; each is one line and exit code 1.
 */
import { loadConfig, readEnvironment, type BotConfig } from '../config.js';
import { exitWithMessage, loadOrExit } from '../util/process-entry.js';

export function loadBotConfigOrExit(): BotConfig {
  const env = readEnvironment();
  if (!env.DISCORD_TOKEN) {
    exitWithMessage('DISCORD_TOKEN is not set: copy .env.example to .env and fill it in (README: "Running the Discord bot"); to compose without Discord: npm run compose -- --length 100');
  }
  return loadOrExit(() => loadConfig(env));
}
