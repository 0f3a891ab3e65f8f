/**
 * Downloads a Discord attachment with a hard byte limit: the declared size is checked first, then
 * the body is counted while it streams, so a lying size never makes us buffer more than the limit.
 */
import type { Attachment } from 'discord.js';
import { MotifError } from '../errors.js';
import { formatBytes } from '../music/midi-limits.js';

export type AttachmentKind = 'midi' | 'audio';

const MIDI_EXTENSIONS = ['.mid', '.midi', '.kar', '.smf'];
const AUDIO_EXTENSIONS = ['.mp3', '.wav', '.ogg', '.oga', '.flac'];

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

/**
 * @param maxBytes largest accepted size.
 * @throws MotifError MIDI_TOO_LARGE / AUDIO_TOO_LARGE over the limit; NOT_FOUND when the download fails.
 */
export async function downloadAttachment(attachment: Pick<Attachment, 'url' | 'name' | 'size'>, kind: AttachmentKind, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (): MotifError =>
    new MotifError(
      kind === 'midi' ? 'MIDI_TOO_LARGE' : 'AUDIO_TOO_LARGE',
      `\`${attachment.name.slice(0, 80)}\` is larger than the ${formatBytes(maxBytes)} limit.`,
    );
  if (attachment.size > maxBytes) throw tooLarge();
  let response: Response;
  try {
    response = await fetch(attachment.url, { signal: AbortSignal.timeout(60_000) });
  } catch (cause) {
    throw new MotifError('NOT_FOUND', 'I could not download that attachment; try sending it again.', { cause });
  }
  if (!response.ok || !response.body) {
    throw new MotifError('NOT_FOUND', 'I could not download that attachment; try sending it again.', { detail: `HTTP ${response.status}` });
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
