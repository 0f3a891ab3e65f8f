/**
 * The compose job as a worker runs it: the pipeline (compose.ts) plus getting its files to the bot.
 *
 * With the local blob store (BLOB_URL unset) the worker shares the bot's disk, and the pipeline
 * writes straight into the result's folder, where the bot reads it: nothing else to do. With a
 * remote store (PostgreSQL) the worker may be on another machine: the seed is fetched by key, the
 * pipeline writes into a scratch folder, and every file goes up under the result's key prefix
 * before the bot hears of it (the MIDI and piano roll first, so they can be posted while the audio
 * renders). The paths in the result are then where the bot will put its copies (`outDir`), so the
 * result names the same files either way and the bot fetches them by key (src/guild/compose.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ComposeResult } from './compose-contract.js';
import { composePiece } from './compose.js';
import { jobBlobStore } from './job-blobs.js';
import type { ComposeJobData, ComposeProgress } from './motif-jobs.js';
import type { ProcessorContext } from './processor.js';

/** @throws whatever composePiece throws; MotifError NOT_FOUND / STORAGE_UNAVAILABLE from the blob store. */
export async function composeJob(req: ComposeJobData, ctx: ProcessorContext<ComposeProgress>): Promise<ComposeResult> {
  if (!req.resultKey || !req.blobs?.url) return composePiece(req, ctx);
  const store = await jobBlobStore(req.blobs);
  const resultKey = req.resultKey;
  const workDir = await mkdtemp(join(tmpdir(), 'motif-compose-'));
  const upload = (path: string): Promise<void> => store.putFile(resultKey + basename(path), path);
  const onBot = (path: string): string => join(req.outDir, basename(path));
  try {
    let seedMidiPath: string | undefined;
    if (req.seedMidiKey) {
      seedMidiPath = join(workDir, 'seed.mid');
      await store.getToFile(req.seedMidiKey, seedMidiPath);
    }
    let firstFilesSent: Promise<void> | undefined;
    const result = await composePiece(
      { ...req, outDir: workDir, seedMidiPath },
      {
        signal: ctx.signal,
        reportProgress: (progress) => {
          if (progress.firstFiles) {
            const first = progress.firstFiles;
            // Told only once both files are up: the bot fetches them the moment it hears.
            firstFilesSent = Promise.all([upload(first.midiPath), upload(first.pngPath)]).then(() =>
              ctx.reportProgress({ ...progress, firstFiles: { ...first, midiPath: onBot(first.midiPath), pngPath: onBot(first.pngPath) } }),
            );
          } else if (!firstFilesSent) ctx.reportProgress(progress);
        },
      },
    );
    await firstFilesSent;
    await Promise.all([result.mp3Path, result.opusPath].filter((path): path is string => !!path).map(upload));
    return {
      ...result,
      midiPath: onBot(result.midiPath),
      mp3Path: result.mp3Path ? onBot(result.mp3Path) : '',
      pngPath: onBot(result.pngPath),
      ...(result.opusPath ? { opusPath: onBot(result.opusPath) } : {}),
    };
  } catch (error) {
    // Nothing half-uploaded stays behind for a job that failed (a retry starts clean).
    await store.deletePrefix(resultKey).catch(() => undefined);
    throw error;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
