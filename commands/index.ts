/** Every slash command, listed explicitly (checked at compile time; no folder scanning). */
import type { Command } from '../src/bot/command.js';
import { command as compose } from './compose.js';
import { command as corpus } from './corpus.js';
import { command as leave } from './leave.js';
import { command as model } from './model.js';
import { command as play } from './play.js';
import { command as queue } from './queue.js';
import { command as seed } from './seed.js';
import { command as settings } from './settings.js';
import { command as skip } from './skip.js';
import { command as stop } from './stop.js';
import { command as train } from './train.js';

export const COMMANDS: readonly Command[] = Object.freeze([
  compose,
  seed,
  settings,
  corpus,
  train,
  model,
  queue,
  play,
  skip,
  stop,
  leave,
]);
