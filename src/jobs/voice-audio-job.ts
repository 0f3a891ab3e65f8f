/**
 * The voice-audio processor: the first play of a result composed without voice audio renders its
 * Ogg/Opus file here, in a worker thread, so synthesis never competes with the gateway heartbeat.
 */
import { ensureVoiceAudio, type VoiceAudio, type VoiceAudioSource, type VoiceRenderSettings } from '../audio/voice-audio.js';
import type { ProcessorContext } from './processor.js';

export interface VoiceAudioJobRequest {
  source: VoiceAudioSource;
  settings: VoiceRenderSettings;
}

/** @throws MotifError FFMPEG_FAILED, SOUNDFONT_NOT_FOUND, MIDI_LIMIT_EXCEEDED, NOT_FOUND (see ensureVoiceAudio). */
export async function voiceAudioJob(req: VoiceAudioJobRequest, ctx: ProcessorContext<never>): Promise<VoiceAudio> {
  // The signal lets /queue cancel and shutdown stop ffmpeg and remove its temp files.
  return ensureVoiceAudio(req.source, req.settings, ctx.signal);
}
