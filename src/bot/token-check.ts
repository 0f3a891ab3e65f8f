/**
 * One REST call (GET /users/@me) that proves the token before anything slow happens: a wrong token
 * is reported in one line within a second, instead of after the model has loaded, as a stack trace.
 */
import { DiscordAPIError, REST, Routes } from 'discord.js';
import type { BotConfig } from '../config.js';
import { MotifError } from '../errors.js';

/** What to do about a rejected token, shared by `npm start` and `npm run deploy-commands`. */
export const TOKEN_REJECTED_MESSAGE =
  'Discord rejected DISCORD_TOKEN (401 Unauthorized). Reset it in the Discord Developer Portal (your application → Bot → Reset Token) and put the new token in .env.';

export interface TokenOwner {
  id: string;
  username: string;
}

/**
 * @throws MotifError CONFIG_INVALID when Discord rejects the token; CONFIG_INVALID naming the URL
 *   when Discord cannot be reached (both one line).
 */
export async function checkDiscordToken(config: Pick<BotConfig, 'discordToken' | 'discordApiUrl'>, opts: { timeoutMs?: number } = {}): Promise<TokenOwner> {
  const rest = new REST({ ...(config.discordApiUrl ? { api: config.discordApiUrl } : {}), timeout: opts.timeoutMs ?? 15_000, retries: 1 }).setToken(config.discordToken);
  try {
    const me = (await rest.get(Routes.user('@me'))) as TokenOwner;
    return { id: me.id, username: me.username };
  } catch (error) {
    throw describeDiscordError(error, config.discordApiUrl);
  }
}

/** A Discord REST failure as one MotifError line (401 → how to reset the token). */
export function describeDiscordError(error: unknown, apiUrl: string | undefined): MotifError {
  if (error instanceof DiscordAPIError) {
    if (error.status === 401) return new MotifError('CONFIG_INVALID', TOKEN_REJECTED_MESSAGE, { cause: error });
    if (error.status === 403) {
      return new MotifError('PERMISSION_DENIED', `Discord refused the request (403 ${error.message}). Check DISCORD_CLIENT_ID and DEV_GUILD_ID, and that the bot was invited to that server with the applications.commands scope.`, { cause: error });
    }
    return new MotifError('CONFIG_INVALID', `Discord answered ${error.status} (${error.code}: ${error.message.split('\n')[0]}).`, { cause: error });
  }
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message.split('\n')[0] : String(error));
  return new MotifError('CONFIG_INVALID', `Could not reach Discord at ${apiUrl ?? 'https://discord.com/api'} (${reason}). Check the network or DISCORD_API_URL.`, { cause: error });
}
