/**
 * `npm start`: validate settings, load the model and SoundFont, log in. Exits 1 with a readable
 * message when something is missing; logs (never swallows) unhandled rejections.
 */
import { loadConfig, readEnvironment } from '../config.js';
import { isMotifError } from '../errors.js';
import { createLogger } from './logger.js';
import { checkVoiceDependencies } from './voice/dependencies.js';
import { startBot } from './start.js';

const env = readEnvironment();
if (!env.DISCORD_TOKEN) {
  console.error(
    [
      'DISCORD_TOKEN is not set, so the bot cannot log in.',
      '  • Copy .env.example to .env and fill in DISCORD_TOKEN (README: "Discord setup").',
      '  • To compose without Discord: npm run compose -- --length 100',
    ].join('\n'),
  );
  process.exit(1);
}

let config;
try {
  config = loadConfig(env);
} catch (error) {
  console.error(isMotifError(error) ? error.userMessage : error);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { reason }));

try {
  // Start-up preloading (model + SoundFont in every worker) happens inside startBot (warmUp).
  // Voice is optional: a missing voice package or ffmpeg turns it off with a clear report.
  const voiceCheck = await checkVoiceDependencies({ ffmpegPath: config.ffmpegPath });
  if (voiceCheck.ok) logger.info(voiceCheck.report);
  else logger.warn(`voice is off: ${voiceCheck.report}`);
  const createVoice = voiceCheck.ok ? (await import('./voice/index.js')).createVoiceService : undefined;
  const bot = await startBot(config, { logger, ...(createVoice ? { createVoice } : {}) });
  const shutdown = (signal: string): void => {
    logger.info(`${signal}: shutting down`);
    void bot.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  // An expected problem (a damaged storage file, a missing model…) is one line saying what to do.
  if (isMotifError(error)) logger.error(error.userMessage);
  else logger.error('start-up failed', { error });
  process.exit(1);
}
