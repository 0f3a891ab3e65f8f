/** A guild layer on real storage: an SQLite file in a temporary DATA_DIR, with its own folders. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CorpusDeps, GuildDeps, TrainingDeps } from '../../src/guild/guild-deps.js';
import { InProcessQueue } from '../../src/jobs/in-process-queue.js';
import { MOTIF_LANES, MOTIF_PROCESSORS, type MotifJobs } from '../../src/jobs/motif-jobs.js';
import type { ProcessorRef } from '../../src/jobs/processor.js';
import { LocalBlobStore } from '../../src/storage/blobs/local-blob-store.js';
import { emptySequence, type NoteSequence } from '../../src/music/note-sequence.js';
import { openStorage, type GuildModel, type ResultRecord } from '../../src/storage/index.js';

export const GUILD_A = '100000000000000001';
export const GUILD_B = '100000000000000002';
export const ADMIN = { guildId: GUILD_A, userId: '200000000000000001', isAdmin: true };
export const MEMBER = { guildId: GUILD_A, userId: '200000000000000002', isAdmin: false };

export interface GuildFixture {
  deps: GuildDeps;
  dataDir: string;
  close(): Promise<void>;
}

export async function openGuildFixture(): Promise<GuildFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'motif-guild-'));
  const soundfontsDir = join(dataDir, 'soundfonts');
  mkdirSync(soundfontsDir);
  const storage = await openStorage(`sqlite://${join(dataDir, 'motif.sqlite')}`, { dataDir });
  return {
    deps: { storage, config: { dataDir, modelsDir: join(dataDir, 'models'), soundfontsDir } },
    dataDir,
    close: async () => {
      await storage.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type JobsDeps = CorpusDeps & TrainingDeps & { queue: InProcessQueue<MotifJobs>; warnings: string[] };

/**
 * The job side on the same DATA_DIR: a local blob store, the real in-process queue running the
 * production processors in worker threads (or `processors` in their place), and a logger that keeps
 * its warnings. Close the queue after each test (`deps.queue.close()`).
 */
export function withJobs(
  f: GuildFixture,
  opts: { defaultModelDir?: string; trainMaxMinutes?: number; processors?: Partial<Record<keyof MotifJobs, ProcessorRef>> } = {},
): JobsDeps {
  const queue = new InProcessQueue<MotifJobs>({
    processors: { ...MOTIF_PROCESSORS, ...opts.processors },
    lanes: MOTIF_LANES,
    limits: { concurrency: { interactive: 1, batch: 1 }, maxPending: 10, maxPerUser: 5, maxPerGuild: 10 },
  });
  const warnings: string[] = [];
  return {
    storage: f.deps.storage,
    queue,
    blobs: new LocalBlobStore(f.dataDir),
    jobBlobs: { dataDir: f.dataDir },
    config: {
      dataDir: f.dataDir,
      maxMidiBytes: 1024 * 1024,
      maxAudioBytes: 10 * 1024 * 1024,
      maxAudioSeconds: 60,
      defaultModelDir: opts.defaultModelDir ?? join(f.dataDir, 'models', 'default'),
      trainMaxMinutes: opts.trainMaxMinutes ?? 60,
    },
    logger: { warn: (message) => warnings.push(message) },
    warnings,
  };
}

/** A short scale starting at `pitch`, so pieces can be told apart. */
export function scale(pitch = 60, notes = 4): NoteSequence {
  const seq = emptySequence();
  seq.notes = Array.from({ length: notes }, (_, i) => ({ pitch: pitch + i, velocity: 80, startStep: i * 4, endStep: i * 4 + 4, program: 0, isDrum: false, track: 0 }));
  seq.totalSteps = notes * 4;
  return seq;
}

export function resultRecord(guildId: string, id: string, userId: string, sequence = scale()): ResultRecord {
  const dir = `/results/${id}`;
  return {
    id,
    guildId,
    channelId: '300000000000000001',
    userId,
    createdAt: new Date().toISOString(),
    options: { length: sequence.notes.length },
    dir,
    midiPath: `${dir}/motif-${id}.mid`,
    mp3Path: `${dir}/motif-${id}.mp3`,
    pngPath: `${dir}/motif-${id}.png`,
    durationSeconds: 2,
    qpm: 120,
    program: 0,
    keyGuess: 'C major',
    modelName: 'test',
    randomSeed: 1,
    sequence,
  };
}

/** @param modelDir the version's blob prefix, or (as records from before blobs held) a folder inside DATA_DIR. */
export function guildModel(modelDir: string): GuildModel {
  return {
    modelDir,
    trainedAt: new Date().toISOString(),
    trainedBy: ADMIN.userId,
    epochs: 2,
    from: 'default',
    corpusFiles: 4,
    metrics: {},
    summary: 'test model',
  };
}
