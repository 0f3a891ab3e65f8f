/** How commands reach the player controls through the bot context's voice hook. */
import type { VoiceService as BotVoiceService } from '../context.js';
import { MotifError } from '../../errors.js';
import type { VoiceControls } from './voice-service.js';

/**
 * The context's voice service with its player controls.
 * @throws MotifError VOICE_UNAVAILABLE when the bot runs without voice.
 */
export function requireVoiceControls(voice: BotVoiceService | undefined): VoiceControls {
  if (voice && isVoiceControls(voice)) return voice;
  throw new MotifError('VOICE_UNAVAILABLE', 'Voice playback is not available on this bot.');
}

function isVoiceControls(voice: BotVoiceService): voice is VoiceControls {
  const v = voice as Partial<VoiceControls>;
  return typeof v.skip === 'function' && typeof v.stop === 'function' && typeof v.leave === 'function' && typeof v.assertCanControl === 'function';
}
