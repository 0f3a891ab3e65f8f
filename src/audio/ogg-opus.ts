/**
 * Reading the stored Ogg/Opus voice files: a cheap header check before playing, and a full demux
 * (prism-media's OggDemuxer, the same one @discordjs/voice uses for StreamType.OggOpus) for checks
 * and tests. Nothing here decodes audio: Opus packets go to Discord as they are.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import prism from 'prism-media';
import { MotifError } from '../errors.js';

/** Opus frame lengths (ms) by TOC configuration number (RFC 6716 §3.1). */
const SILK_FRAME_MS = [10, 20, 40, 60] as const;
const HYBRID_FRAME_MS = [10, 20] as const;
const CELT_FRAME_MS = [2.5, 5, 10, 20] as const;

/**
 * Audio length of one Opus packet, milliseconds, from its TOC byte (RFC 6716 §3.1).
 * @throws MotifError AUDIO_INVALID for an empty or malformed packet.
 */
export function opusPacketDurationMs(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) throw new MotifError('AUDIO_INVALID', 'The voice audio is damaged.', { detail: 'empty Opus packet' });
  const config = toc >> 3;
  const frameMs = config < 12 ? SILK_FRAME_MS[config % 4]! : config < 16 ? HYBRID_FRAME_MS[config % 2]! : CELT_FRAME_MS[config % 4]!;
  const code = toc & 0x03;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    const countByte = packet[1];
    if (countByte === undefined) throw new MotifError('AUDIO_INVALID', 'The voice audio is damaged.', { detail: 'Opus code-3 packet without frame count' });
    frames = countByte & 0x3f;
  }
  return frames * frameMs;
}

export interface OggOpusSummary {
  /** Audio packets in file order (the OpusHead/OpusTags headers are not included). */
  packets: Buffer[];
  /** Sum of the packets' durations, seconds. */
  durationSeconds: number;
}

/**
 * Demuxes a whole Ogg/Opus file into its Opus packets. Holds every packet in memory (≈ 12 kB per
 * second at 96 kb/s), so use it for checks and tests, not for playback.
 * @throws MotifError NOT_FOUND when the file is missing, AUDIO_INVALID when it is not Ogg/Opus.
 */
export async function readOggOpusPackets(path: string): Promise<OggOpusSummary> {
  await assertOggOpusFile(path);
  const packets: Buffer[] = [];
  const demuxer = createReadStream(path).pipe(new prism.opus.OggDemuxer());
  for await (const packet of demuxer as AsyncIterable<Buffer>) packets.push(packet);
  const totalMs = packets.reduce((sum, p) => sum + opusPacketDurationMs(p), 0);
  return { packets, durationSeconds: totalMs / 1000 };
}

/**
 * Checks that `path` starts like an Ogg/Opus stream (an `OggS` page holding `OpusHead`): reads 36 bytes.
 * @throws MotifError NOT_FOUND when the file is missing, AUDIO_INVALID when it is something else.
 */
export async function assertOggOpusFile(path: string): Promise<void> {
  let head: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(36);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new MotifError('NOT_FOUND', 'The voice audio for this result is missing.', { cause: error, detail: path });
  }
  // The first Ogg page is 27 bytes + a one-entry segment table, then the OpusHead packet.
  if (head.toString('latin1', 0, 4) !== 'OggS' || head.toString('latin1', 28, 36) !== 'OpusHead') {
    throw new MotifError('AUDIO_INVALID', 'The voice audio for this result is damaged.', { detail: `${path} is not Ogg/Opus` });
  }
}
