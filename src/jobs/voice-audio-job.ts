/**
 * The voice-audio processor: the first play of a result composed without voice audio renders its
 * Ogg/Opus file here, in a worker thread, so synthesis never competes with the gateway heartbeat.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensureVoiceAudio, type VoiceAudio, type VoiceAudioSource, type VoiceRenderSettings } from '../audio/voice-audio.js';
import { jobBlobStore, type JobBlobSettings } from './job-blobs.js';
import type { ProcessorContext } from './processor.js';

export interface VoiceAudioJobRequest {
  /** The result; rendering needs only its sequence, and writes into its folder (on the bot's disk). */
  source: VoiceAudioSource;
  settings: VoiceRenderSettings;
  /**
   * For a worker that does not share the bot's disk (a remote blob store): the Ogg/Opus file is
   * rendered in a scratch folder and uploaded to `oggKey`; the result names where the bot puts its copy.
   */
  oggKey?: string;
  blobs?: JobBlobSettings;
}

/** @throws MotifError FFMPEG_FAILED, SOUNDFONT_NOT_FOUND, MIDI_LIMIT_EXCEEDED, NOT_FOUND (see ensureVoiceAudio). */
export async function voiceAudioJob(req: VoiceAudioJobRequest, ctx: ProcessorContext<never>): Promise<VoiceAudio> {
  // The signal lets /queue cancel and shutdown stop ffmpeg and remove its temp files.
  if (!req.oggKey || !req.blobs?.url) return ensureVoiceAudio(req.source, req.settings, ctx.signal);
  const store = await jobBlobStore(req.blobs);
  const scratch = await mkdtemp(join(tmpdir(), 'motif-voice-'));
  try {
    const { opusPath: _onTheBotsDisk, ...source } = req.source;
    const rendered = await ensureVoiceAudio({ ...source, dir: scratch }, req.settings, ctx.signal);
    await store.putFile(req.oggKey, rendered.oggPath);
    return { oggPath: join(req.source.dir, basename(rendered.oggPath)), rendered: true };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
