/**
 * Start-up check of the voice stack, so `npm start` says clearly what is missing instead of the
 * first /play failing. Every module is really loaded (a native binary that does not load for this
 * platform counts as missing).
 *
 * What Motif's voice needs, and why:
 * - `@discordjs/voice` — the voice gateway, UDP and RTP.
 * - `@snazzah/davey` — DAVE end-to-end encryption (imported by @discordjs/voice 0.19 at load time).
 * - `prism-media` — demuxes the stored Ogg/Opus files (StreamType.OggOpus).
 * - transport encryption: Node's own `aes-256-gcm` (aead_aes256_gcm_rtpsize), else one of
 *   sodium-native / sodium / libsodium-wrappers / @stablelib/xchacha20poly1305 / @noble/ciphers.
 * - ffmpeg — only to render voice audio for results composed without it.
 * Not needed: an Opus encoder (@discordjs/opus, opusscript), because audio is never re-encoded.
 */
import { getCiphers } from 'node:crypto';
import { isMotifError } from '../../errors.js';
import { resolveFfmpegPath } from '../../audio/ffmpeg.js';

export interface VoiceDependencyReport {
  /** True when voice playback can work. */
  ok: boolean;
  /** Human-readable, one line per dependency, with what to do about missing ones. */
  report: string;
  missing: string[];
}

const XCHACHA_LIBRARIES = ['sodium-native', 'sodium', 'libsodium-wrappers', '@stablelib/xchacha20poly1305', '@noble/ciphers/chacha.js'] as const;

/** Loads each voice dependency once and reports which are usable. Never throws. */
export async function checkVoiceDependencies(opts: { ffmpegPath?: string } = {}): Promise<VoiceDependencyReport> {
  const lines: string[] = [];
  const missing: string[] = [];
  const need = async (name: string, why: string): Promise<void> => {
    const error = await loadError(name);
    lines.push(`${error ? '✗' : '✓'} ${name} — ${why}${error ? ` (cannot load: ${error})` : ''}`);
    if (error) missing.push(name);
  };
  await need('@snazzah/davey', 'DAVE end-to-end encryption');
  await need('prism-media', 'reads the stored Ogg/Opus audio');
  await need('@discordjs/voice', 'voice connections');

  const nativeAesGcm = getCiphers().includes('aes-256-gcm');
  let xchacha: string | undefined;
  for (const name of XCHACHA_LIBRARIES) {
    if (!(await loadError(name))) {
      xchacha = name;
      break;
    }
  }
  if (nativeAesGcm || xchacha) {
    lines.push(`✓ transport encryption — ${[nativeAesGcm ? "Node's aes-256-gcm" : '', xchacha ?? ''].filter(Boolean).join(', ')}`);
  } else {
    lines.push('✗ transport encryption — this Node has no aes-256-gcm; install libsodium-wrappers or @noble/ciphers');
    missing.push('encryption library');
  }

  try {
    lines.push(`✓ ffmpeg — renders voice audio for older results (${resolveFfmpegPath(opts.ffmpegPath)})`);
  } catch (error) {
    lines.push(`✗ ffmpeg — ${isMotifError(error) ? error.message : String(error)}; set FFMPEG_PATH or reinstall @ffmpeg-installer/ffmpeg`);
    missing.push('ffmpeg');
  }

  const ok = missing.length === 0;
  const header = ok
    ? 'Voice playback: ready.'
    : `Voice playback is OFF: missing ${missing.join(', ')}. Run \`npm install\` (it installs every voice package), then restart.`;
  return { ok, report: [header, ...lines.map((l) => `  ${l}`)].join('\n'), missing };
}

async function loadError(name: string): Promise<string | undefined> {
  try {
    await import(name);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
}
