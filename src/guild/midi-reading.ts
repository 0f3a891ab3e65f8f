/** Reading an uploaded MIDI file in a worker job: how /seed save and /corpus add check what was sent. */
import { randomBytes } from 'node:crypto';
import type { CoreConfig } from '../config.js';
import { parseReadMidiJobResult, type ReadMidiJobResult } from '../jobs/read-midi-job.js';
import type { JobOwner } from '../jobs/queue.js';
import type { JobDeps } from './guild-deps.js';
import { guildKeys } from '../storage/index.js';

/**
 * Reads a downloaded MIDI file in a worker (a queued job, so it counts against the user's limits).
 * @param path the file on this machine's disk (the caller downloaded it).
 * @throws MotifError QUEUE_FULL, MIDI_INVALID, MIDI_LIMIT_EXCEEDED, MIDI_EMPTY, MIDI_TOO_LARGE, JOB_FAILED.
 */
export async function readMidiFile(
  deps: Omit<JobDeps, 'storage'> & { config: Pick<CoreConfig, 'maxMidiBytes'> },
  owner: JobOwner & { label: string; maxPerUser?: number },
  path: string,
  opts: { withSequence: boolean },
): Promise<ReadMidiJobResult> {
  // A worker that may not share this disk reads the bytes from the blob store (removed once read).
  const key = deps.jobBlobs.url ? `${guildKeys.uploadsPrefix(owner.guildId)}read-${randomBytes(6).toString('hex')}.mid` : undefined;
  if (key) await deps.blobs.putFile(key, path);
  try {
    const handle = await deps.queue.enqueue('read-midi', { path, maxBytes: deps.config.maxMidiBytes, withSequence: opts.withSequence, ...(key ? { key, blobs: deps.jobBlobs } : {}) }, owner);
    return parseReadMidiJobResult(await handle.result);
  } finally {
    if (key) await deps.blobs.delete(key).catch(() => undefined);
  }
}
