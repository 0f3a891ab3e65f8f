/**
 * Attachments, fetched the way a public bot must: only from Discord's CDN (ATTACHMENT_HOSTS), only
 * after the interaction is acknowledged, refused by declared size before any connection, streamed
 * to a file (never buffered whole) with a byte cap that stops reading at the limit, and under a
 * deadline, so a stalled upload ends with a clear message instead of an incident.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import type { Attachment } from 'discord.js';
import { MotifError } from '../errors.js';
import { formatBytes } from '../music/midi-limits.js';

export type AttachmentKind = 'midi' | 'audio';

export type AttachmentRef = Pick<Attachment, 'url' | 'name' | 'size'>;

const MIDI_EXTENSIONS = ['.mid', '.midi', '.kar', '.smf', '.rmi'];
const AUDIO_EXTENSIONS = ['.mp3', '.wav', '.ogg', '.oga', '.flac'];
/** Plain http is only trusted on this machine (the test suite's local Discord server). */
const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** @throws MotifError FILE_TYPE_UNSUPPORTED when `accept` does not include the file's kind. */
export function attachmentKind(name: string, accept: readonly AttachmentKind[]): AttachmentKind {
  const lower = name.toLowerCase();
  const kind: AttachmentKind | undefined = MIDI_EXTENSIONS.some((e) => lower.endsWith(e))
    ? 'midi'
    : AUDIO_EXTENSIONS.some((e) => lower.endsWith(e))
      ? 'audio'
      : undefined;
  if (!kind || !accept.includes(kind)) {
    const wanted = accept.map((k) => (k === 'midi' ? 'MIDI (.mid)' : 'audio (.mp3, .wav, .ogg, .flac)')).join(' or ');
    throw new MotifError('FILE_TYPE_UNSUPPORTED', `\`${name.slice(0, 80)}\` is not a file I can read: send ${wanted}.`);
  }
  return kind;
}

function tooLarge(attachment: AttachmentRef, kind: AttachmentKind, maxBytes: number): MotifError {
  return new MotifError(
    kind === 'midi' ? 'MIDI_TOO_LARGE' : 'AUDIO_TOO_LARGE',
    `\`${attachment.name.slice(0, 80)}\` is larger than the ${formatBytes(maxBytes)} limit.`,
  );
}

export interface AttachmentPolicy {
  /** Lower-case `host` or `host:port` entries (BotConfig.attachmentHosts). */
  allowedHosts: readonly string[];
  maxBytes: number;
}

/**
 * Everything that can be checked without downloading: the kind by name, the declared size and the
 * host. Cheap, so callers run it before acknowledging and answer a refusal at once.
 * @throws MotifError FILE_TYPE_UNSUPPORTED, MIDI_TOO_LARGE / AUDIO_TOO_LARGE, DOWNLOAD_FAILED (a host that is not Discord's CDN).
 */
export function checkAttachment(attachment: AttachmentRef, accept: readonly AttachmentKind[], policy: (kind: AttachmentKind) => AttachmentPolicy): AttachmentKind {
  const kind = attachmentKind(attachment.name, accept);
  const { allowedHosts, maxBytes } = policy(kind);
  if (attachment.size > maxBytes) throw tooLarge(attachment, kind, maxBytes);
  assertAllowedHost(attachment.url, allowedHosts);
  return kind;
}

/**
 * @throws MotifError DOWNLOAD_FAILED unless `url` is https (or http on a loopback address) on one of `allowedHosts`.
 */
export function assertAllowedHost(url: string, allowedHosts: readonly string[]): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const host = parsed?.host.toLowerCase() ?? '';
  const hostname = parsed?.hostname.toLowerCase() ?? '';
  const listed = parsed !== undefined && (allowedHosts.includes(host) || allowedHosts.includes(hostname));
  const secure = parsed?.protocol === 'https:' || (parsed?.protocol === 'http:' && LOOPBACK_HOSTNAMES.has(hostname));
  if (!listed || !secure) {
    throw new MotifError('DOWNLOAD_FAILED', 'That attachment is not on Discord’s file server, so I will not download it. Upload the file to Discord directly.', {
      detail: `refused host ${host || '(unparsable url)'}`,
    });
  }
}

export interface DownloadOptions extends AttachmentPolicy {
  /** Deadline for the whole download (connection, headers and every byte). */
  timeoutMs: number;
  /** Where the bytes go; the file is removed again when the download fails. */
  destPath: string;
}

/**
 * Streams an attachment into `destPath` and returns its size. Reading stops (the connection is
 * aborted) as soon as the byte count passes `maxBytes`, whatever the declared size said. Redirects
 * are refused, so the host check cannot be bypassed.
 * @throws MotifError from checkAttachment's host/size checks; MIDI_TOO_LARGE / AUDIO_TOO_LARGE past the cap;
 *   DOWNLOAD_FAILED for a stall past the deadline ("the upload did not arrive") or an HTTP/network failure.
 */
export async function downloadAttachmentToFile(attachment: AttachmentRef, kind: AttachmentKind, opts: DownloadOptions): Promise<number> {
  if (attachment.size > opts.maxBytes) throw tooLarge(attachment, kind, opts.maxBytes);
  assertAllowedHost(attachment.url, opts.allowedHosts);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('download deadline passed'));
  }, opts.timeoutMs);
  const out = createWriteStream(opts.destPath, { flags: 'wx' });
  let total = 0;
  try {
    const response = await fetch(attachment.url, { signal: controller.signal, redirect: 'error' });
    if (!response.ok || !response.body) {
      throw new MotifError('DOWNLOAD_FAILED', 'I could not download that attachment from Discord; try sending it again.', { detail: `HTTP ${response.status}` });
    }
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      if (total > opts.maxBytes) {
        controller.abort(new Error('byte cap reached'));
        throw tooLarge(attachment, kind, opts.maxBytes);
      }
      // Respect the file's back-pressure so a fast CDN cannot fill memory with pending writes.
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    return total;
  } catch (error) {
    out.destroy();
    await rm(opts.destPath, { force: true });
    if (timedOut) {
      throw new MotifError('DOWNLOAD_FAILED', 'The upload did not arrive (Discord did not send the file in time); try again.', {
        cause: error,
        detail: `no complete download after ${opts.timeoutMs} ms (${total} bytes)`,
      });
    }
    if (error instanceof MotifError) throw error;
    throw new MotifError('DOWNLOAD_FAILED', 'I could not download that attachment from Discord; try sending it again.', { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
