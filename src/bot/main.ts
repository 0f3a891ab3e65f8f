/**
 * `npm start` (or `node --import tsx src/bot/main.ts`, what the Dockerfile runs): validate
 * settings, check the token with one REST call, load the model and SoundFont, log in.
 *
 * Every start-up failure is one line on stderr and exit code 1. SIGTERM/SIGINT (from a process
 * manager, Docker, or npm forwarding it) stop gracefully: no new work, running jobs get
 * SHUTDOWN_GRACE_SECONDS to finish and post their results, the rest are told the bot restarted.
 *
 * The composition root: with deploy-commands.ts, the only files in src/bot that import commands/
 * (test/architecture.test.ts checks it). Everything else in src/bot gets the commands passed in.
 *
 * `npm run start:sharded` (sharded.ts) runs this file once per gateway shard; such a process connects as
 * its one shard (config.shard), tags its log lines with it, and stops the same way if its manager is gone.
 */
import { COMMANDS } from '../../commands/index.js';
import { isMotifError } from '../errors.js';
import { createLogger } from '../util/logger.js';
import { exitWithMessage, onStopSignals } from '../util/process-entry.js';
import { loadBotConfigOrExit } from './entry-config.js';
import { checkDiscordToken } from './token-check.js';
import { checkVoiceDependencies } from './voice/dependencies.js';
import { startBot, type BotHandle } from './start.js';

const config = loadBotConfigOrExit();

if (!config.shard) {
  // SHARD_COUNT is start:sharded's setting, and an .env loaded into the environment (systemd's
  // EnvironmentFile, docker --env-file) brings it here too; discord.js's Client would read it as its
  // shard total and refuse "auto". Run on its own, this process is the bot's one shard.
  delete process.env.SHARD_COUNT;
}

const logger = createLogger(config.logLevel, undefined, { redact: [config.discordToken], ...(config.shard ? { fields: { shard: config.shard.id } } : {}) });
process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { reason }));

let bot: BotHandle | undefined;
const onSignal = onStopSignals({
  onFirst: (reason) => {
    logger.info(`${reason}: shutting down`, { graceSeconds: config.shutdownGraceSeconds });
    if (!bot) process.exit(0); // still starting: nothing to finish
    void bot.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  },
});
if (config.shard && process.channel) {
  // A shard whose manager died (even SIGKILLed) must not stay logged in as an orphan: its IPC channel closes.
  process.once('disconnect', () => onSignal('sharding manager gone'));
  // discord.js tells the manager about gateway events with process.send; once the manager is gone, that
  // fails as an 'error' event on process, which must not crash the graceful stop.
  process.on('error', (error) => logger.debug('message to the sharding manager failed', { error }));
}

try {
  // The token first, in seconds: a wrong one is the only line an operator sees, before the voice
  // check's report and the model loading (in startBot's warm-up). Voice is optional: a missing
  // package or ffmpeg turns it off.
  const me = await checkDiscordToken(config);
  logger.info('token accepted', { botUserId: me.id, botName: me.username });
  const voiceCheck = await checkVoiceDependencies({ ffmpegPath: config.ffmpegPath });
  if (voiceCheck.ok) logger.info(voiceCheck.report);
  else logger.warn(`voice is off: ${voiceCheck.report}`);
  const createVoice = voiceCheck.ok ? (await import('./voice/index.js')).createVoiceService : undefined;
  bot = await startBot(config, { commands: COMMANDS, logger, checkToken: false, ...(createVoice ? { createVoice } : {}) });
} catch (error) {
  // An expected problem (a damaged storage file, a bad token, a missing model…) is one line saying what to do.
  if (isMotifError(error)) exitWithMessage(error.userMessage);
  logger.error('start-up failed', { error });
  process.exit(1);
}
