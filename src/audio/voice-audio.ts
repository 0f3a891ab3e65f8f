/**
 * A result's voice audio: the Ogg/Opus file rendered once per result and kept next to its other
 * files, then streamed to Discord as is (no re-encoding, no Opus encoder needed at play time).
 *
 * /compose writes it when voice is enabled (`opusPath`). Results made without it are rendered on
 * first play into a fixed name in the result's folder, so every later play finds the file there.
 */
import { basename, join } from 'node:path';
import { MotifError, isMotifError } from '../errors.js';
import type { NoteSequence } from '../music/note-sequence.js';
import { renderPiece } from './render-piece.js';
import { assertOggOpusFile } from './ogg-opus.js';

/** The part of a stored result that voice playback needs. */
export interface VoiceAudioSource {
  id: string;
  /** The result's folder (its .mid/.mp3/.png live here). */
  dir: string;
  midiPath: string;
  opusPath?: string;
  /** The whole piece, as stored with the result. */
  sequence: NoteSequence;
}

export interface VoiceRenderSettings {
  /** SoundFont name; unset = the bundled default. */
  soundfont?: string;
  soundfontDir?: string;
  ffmpegPath?: string;
}

export interface VoiceAudio {
  oggPath: string;
  /** True when this call rendered the file (the first play of a result composed without it). */
  rendered: boolean;
}

/** Where a result's voice audio goes when it was not rendered with the result. */
export function voiceAudioPath(source: Pick<VoiceAudioSource, 'dir' | 'midiPath'>): string {
  return join(source.dir, `${voiceBaseName(source)}.ogg`);
}

function voiceBaseName(source: Pick<VoiceAudioSource, 'midiPath'>): string {
  return `${basename(source.midiPath).replace(/\.midi?$/i, '')}-voice`;
}

/** One render per file at a time: two plays of the same new result share one ffmpeg run. */
const rendersInFlight = new Map<string, Promise<VoiceAudio>>();

/**
 * The playable Ogg/Opus file of a result, rendering it (once) when it is missing or damaged.
 * @throws MotifError FFMPEG_FAILED (ffmpeg missing or failing), SOUNDFONT_NOT_FOUND,
 *   MIDI_LIMIT_EXCEEDED (piece too long), NOT_FOUND (the stored piece has no notes).
 */
export async function ensureVoiceAudio(source: VoiceAudioSource, settings: VoiceRenderSettings, signal?: AbortSignal): Promise<VoiceAudio> {
  const existing = await findVoiceAudio(source);
  if (existing) return existing;
  const target = voiceAudioPath(source);
  const running = rendersInFlight.get(target);
  if (running) return running;
  const render = renderVoiceAudio(source, settings, signal).finally(() => rendersInFlight.delete(target));
  rendersInFlight.set(target, render);
  return render;
}

/** The result's playable voice audio if it already has one (cheap: no rendering). */
export async function findVoiceAudio(source: Pick<VoiceAudioSource, 'dir' | 'midiPath' | 'opusPath'>): Promise<VoiceAudio | undefined> {
  for (const candidate of [source.opusPath, voiceAudioPath(source)]) {
    if (candidate && (await isPlayable(candidate))) return { oggPath: candidate, rendered: false };
  }
  return undefined;
}

async function renderVoiceAudio(source: VoiceAudioSource, settings: VoiceRenderSettings, signal: AbortSignal | undefined): Promise<VoiceAudio> {
  if (source.sequence.notes.length === 0) {
    throw new MotifError('NOT_FOUND', 'This result has no notes left to play. Compose a new one.', { detail: source.id });
  }
  const baseName = voiceBaseName(source);
  const rendered = await renderPiece(source.sequence, {
    outDir: source.dir,
    baseName,
    audio: false,
    ogg: true,
    pianoRoll: false,
    soundfont: settings.soundfont,
    soundfontDir: settings.soundfontDir,
    ffmpegPath: settings.ffmpegPath,
    signal,
  });
  if (!rendered.oggPath) throw new MotifError('FFMPEG_FAILED', 'The voice audio could not be made.', { detail: 'renderPiece wrote no ogg' });
  return { oggPath: rendered.oggPath, rendered: true };
}

async function isPlayable(path: string): Promise<boolean> {
  try {
    await assertOggOpusFile(path);
    return true;
  } catch (error) {
    if (isMotifError(error)) return false;
    throw error;
  }
}
