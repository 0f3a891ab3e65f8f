/**
 * Composing for a guild: which model and settings a request composes with, the checks and the job
 * (weighted by its size), and the record keeping around the caller's post of the result. The caller
 * (src/bot/compose-flow.ts) shows progress and posts; this layer knows nothing of Discord.
 *
 * The order matters and is the caller's to keep: {@link keepComposeResult} records the result just
 * before its buttons are posted (so a press finds it), {@link dropComposeResult} removes it again if
 * the post fails (no record whose files are gone, and no older result pushed out for it),
 * {@link settleComposeResult} makes room only after a successful post, and
 * {@link discardComposeFiles} leaves nothing behind of a job that failed or was cancelled.
 *
 * With a remote blob store (BLOB_URL) the worker may be on another machine: the seed goes to it, and
 * the files come back, by key.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { BotConfig, CoreConfig } from '../config.js';
import { assertInRange } from '../errors.js';
import type { ComposeResult } from '../jobs/compose-contract.js';
import { checkComposeRequest, estimateCompose } from '../jobs/compose-limits.js';
import type { ComposeJobData, ComposeProgress } from '../jobs/motif-jobs.js';
import type { JobHandle } from '../jobs/queue.js';
import { styleRequestFields } from '../jobs/styles.js';
import type { NoteSequence } from '../music/note-sequence.js';
import { guildKeys, guildPaths, type ResultRecord } from '../storage/index.js';
import { enforceResultsBudget } from '../storage/results-budget.js';
import { composerFor } from './composer.js';
import type { GuildActor, GuildConfig, JobDeps } from './guild-deps.js';
import { soundfontFor } from './settings.js';

/** Composing: where models, soundfonts and results live, and the limits a request must fit. */
export type ComposeConfig = GuildConfig &
  Pick<CoreConfig, 'maxMidiBytes' | 'ffmpegPath' | 'maxComposeLength'> &
  Pick<BotConfig, 'resultsMaxBytesPerGuild'>;

export interface ComposeDeps extends JobDeps {
  config: ComposeConfig;
  /** Where a clean-up that failed is reported (the compose's own outcome is the caller's to show). */
  logger: { warn(message: string, fields?: object): void };
}

export interface ComposeRequest {
  /** Notes-or-chords to generate, already checked with {@link composeLengthFor}. */
  length: number;
  /** Sampling temperature, 0.1–3; unset = the guild's setting, else the style's. */
  temperature?: number;
  /** General MIDI program, 0–127; unset = the guild's setting, else the seed's or the style's. */
  program?: number;
  /** Beats per minute, 20–300; unset = the guild's setting, else the seed's or the style's. */
  qpm?: number;
  seed?: NoteSequence;
  /** A downloaded MIDI upload to continue (this machine's path); the compose job reads it in its worker. */
  seedMidiPath?: string;
  seedName?: string;
  /** The result this one continues (Continue button). */
  continuedFrom?: string;
  /** A style asked for (a name from styles.ts); otherwise the guild's own model (when chosen) or the guild's default style. */
  style?: string;
  /** The largest audio file the post may carry, in bytes (the interaction's attachment limit). */
  maxAudioBytes: number;
  /** Also render the voice audio (Ogg/Opus) now: playing it is already asked for. */
  withOpus: boolean;
  /** Where the member asked, for the job's record. */
  channelId?: string;
}

/**
 * A compose as it is queued: all the record keeping needs besides the job's result. Plain data,
 * stored with the compose's delivery record (its shape must keep reading records written before),
 * so a bot that restarts while the job runs can still deliver it (src/bot/delivery.ts).
 */
export const composePlanSchema = z.object({
  resultId: z.string().regex(/^[0-9a-f]{8}$/),
  outDir: z.string().min(1),
  maxAudioBytes: z.number().int().positive(),
  options: z.object({
    length: z.number().int().positive(),
    temperature: z.number().optional(),
    qpm: z.number().optional(),
    seedName: z.string().optional(),
    seedSteps: z.number().int().nonnegative().optional(),
    continuedFrom: z.string().optional(),
    style: z.string().optional(),
  }),
});
export type ComposePlan = z.infer<typeof composePlanSchema>;

export type ComposeHandle = JobHandle<ComposeResult, ComposeProgress>;

/**
 * The length to compose, checked with the other options a member typed, before anything else is
 * looked at (a seed, an upload).
 * @param requested.length notes-or-chords asked for; unset = the guild's default length, else 100.
 * @throws MotifError OPTION_OUT_OF_RANGE for a length past MAX_COMPOSE_LENGTH, a temperature outside 0.1–3 or a tempo outside 20–300.
 */
export async function composeLengthFor(
  deps: Pick<ComposeDeps, 'storage'> & { config: Pick<ComposeConfig, 'maxComposeLength'> },
  guildId: string,
  requested: { length?: number; temperature?: number; qpm?: number },
): Promise<number> {
  const settings = await deps.storage.settings.get(guildId);
  const length = requested.length ?? settings.defaultLength ?? 100;
  assertInRange('length', length, 1, deps.config.maxComposeLength, { integer: true });
  if (requested.temperature !== undefined) assertInRange('temperature', requested.temperature, 0.1, 3);
  if (requested.qpm !== undefined) assertInRange('tempo', requested.qpm, 20, 300, { integer: true });
  return length;
}

/**
 * Checks a compose request against the limits and queues it, weighted by its size: an over-limit
 * seed or a full queue is refused here, before the caller answers. With a remote blob store an
 * uploaded seed is stored under a key first, since a worker elsewhere cannot read this machine's path.
 * @throws MotifError OPTION_OUT_OF_RANGE (unknown style), MIDI_LIMIT_EXCEEDED (seed or length too long),
 *   QUEUE_FULL / the queue's per-user limits, STORAGE_UNAVAILABLE (seed upload).
 */
export async function startGuildCompose(deps: ComposeDeps, actor: Pick<GuildActor, 'guildId' | 'userId'>, req: ComposeRequest): Promise<{ handle: ComposeHandle; plan: ComposePlan }> {
  const { guildId } = actor;
  const settings = await deps.storage.settings.get(guildId);
  const resultId = randomBytes(4).toString('hex');
  const outDir = join(guildPaths(deps.config.dataDir, guildId).resultsDir, resultId);
  const composer = await composerFor(deps, guildId, settings, req.style);
  const style = composer.style;
  const asked = { temperature: req.temperature ?? settings.temperature, program: req.program ?? settings.program, qpm: req.qpm ?? settings.qpm };
  const request: ComposeJobData = {
    length: req.length,
    ...styleRequestFields(style, asked, Boolean(req.seed || req.seedMidiPath)),
    style: style?.name,
    seed: req.seed,
    seedMidiPath: req.seedMidiPath,
    maxSeedBytes: deps.config.maxMidiBytes,
    modelDir: composer.modelDir,
    soundfont: soundfontFor(settings, deps.config),
    randomSeed: randomInt(2 ** 31),
    outDir,
    baseName: `motif-${resultId}`,
    // Voice audio is rendered when someone plays the result, except when playing is already asked for.
    withOpus: req.withOpus,
    maxAudioBytes: req.maxAudioBytes,
    soundfontDir: deps.config.soundfontsDir,
    ffmpegPath: deps.config.ffmpegPath,
    maxLength: deps.config.maxComposeLength,
    blobs: deps.jobBlobs,
  };
  // Refused here, before the queue or a reply: a seed that cannot fit never waits for a worker.
  // An uploaded seed (seedMidiPath) is not read on this thread: the job checks it in its worker
  // right after reading, before the model loads, and the refusal reaches the user privately.
  checkComposeRequest(request);
  const seedBytes = req.seedMidiPath ? (await stat(req.seedMidiPath)).size : undefined;
  if (remoteBlobs(deps)) {
    // The worker may be on another machine: the files travel by key (compose-job.ts).
    request.resultKey = guildKeys.resultPrefix(guildId, resultId);
    if (req.seedMidiPath) {
      // Not under the result's prefix: a failed try clears that, and the retry still needs the seed.
      request.seedMidiKey = seedBlobKey(guildId, resultId);
      await deps.blobs.putFile(request.seedMidiKey, req.seedMidiPath);
      // Only the key travels: a path on this machine means nothing to a worker on another.
      delete request.seedMidiPath;
    }
  }
  const handle = await deps.queue
    .enqueue('compose', request, {
      cost: estimateCompose({ ...request, seedBytes }).workSeconds,
      guildId,
      userId: actor.userId,
      channelId: req.channelId,
      label: `compose length ${req.length}`,
      maxPerUser: settings.maxPerUser,
    })
    .catch(async (error: unknown) => {
      // Refused (queue full, Redis away): the seed put up for the worker goes again.
      if (request.seedMidiKey) await deps.blobs.delete(request.seedMidiKey).catch(() => undefined);
      throw error;
    });
  const plan: ComposePlan = {
    resultId,
    outDir,
    maxAudioBytes: req.maxAudioBytes,
    options: {
      length: req.length,
      temperature: request.temperature,
      qpm: request.qpm,
      seedName: req.seedName,
      seedSteps: req.seed?.totalSteps,
      continuedFrom: req.continuedFrom,
      ...(style ? { style: style.name } : {}),
    },
  };
  return { handle, plan };
}

/**
 * Makes the worker's files local: each path the result names (inside this bot's result folder) is
 * fetched from its key. Nothing to do when the worker wrote to this disk.
 * @throws MotifError NOT_FOUND / STORAGE_UNAVAILABLE from the blob store.
 */
export async function fetchResultFiles(deps: Pick<JobDeps, 'blobs' | 'jobBlobs'>, guildId: string, plan: Pick<ComposePlan, 'resultId'>, paths: readonly (string | undefined)[]): Promise<void> {
  if (!remoteBlobs(deps)) return;
  const prefix = guildKeys.resultPrefix(guildId, plan.resultId);
  await Promise.all(paths.filter((path): path is string => !!path).map((path) => deps.blobs.getToFile(prefix + basename(path), path)));
}

/**
 * Fetches a finished job's files and records the result, without making room for it yet: call just
 * before the post that carries its buttons, so a press right after finds it.
 * @param who the member who asked and where, as the result's record keeps them.
 * @throws MotifError from the blob store or the results store.
 */
export async function keepComposeResult(
  deps: Pick<ComposeDeps, 'storage' | 'blobs' | 'jobBlobs'>,
  guildId: string,
  plan: ComposePlan,
  result: ComposeResult,
  who: { userId: string; channelId: string },
  /** Files already fetched for the first post (the MIDI and piano roll): not fetched again. */
  fetched: ReadonlySet<string> = new Set(),
): Promise<ResultRecord> {
  const missing = [result.midiPath, result.mp3Path, result.pngPath, result.opusPath].filter((path) => path === undefined || !fetched.has(path));
  await fetchResultFiles(deps, guildId, plan, missing);
  const record: ResultRecord = {
    id: plan.resultId,
    guildId,
    channelId: who.channelId,
    userId: who.userId,
    createdAt: new Date().toISOString(),
    options: {
      ...plan.options,
      program: result.program,
      seedSteps: result.seedSteps ?? plan.options.seedSteps,
    },
    dir: plan.outDir,
    midiPath: result.midiPath,
    mp3Path: result.mp3Path,
    pngPath: result.pngPath,
    opusPath: result.opusPath,
    durationSeconds: result.durationSeconds,
    qpm: result.qpm,
    program: result.program,
    keyGuess: result.keyGuess,
    modelName: result.modelName,
    randomSeed: result.randomSeed,
    sequence: result.sequence,
  };
  // Older results make room only once the post has succeeded (settleComposeResult).
  await deps.storage.results.add(record, { evict: false });
  return record;
}

/** Forgets a result whose post failed: no record, so /seed save and the buttons cannot use a result whose files are going. */
export async function dropComposeResult(deps: Pick<ComposeDeps, 'storage'>, guildId: string, plan: Pick<ComposePlan, 'resultId'>): Promise<void> {
  await deps.storage.results.remove(guildId, [plan.resultId]);
}

/**
 * After a successful post: older results beyond the guild's count and RESULTS_MAX_BYTES_PER_GUILD
 * go, with their files, and the stored seed this compose no longer needs.
 * @throws MotifError from the results store.
 */
export async function settleComposeResult(deps: ComposeDeps, guildId: string, plan: Pick<ComposePlan, 'resultId'>): Promise<void> {
  const evicted = await deps.storage.results.trim(guildId);
  await Promise.all(evicted.map((old) => removeResultFiles(deps, guildId, old.id, old.dir)));
  const overBudget = await enforceResultsBudget(deps.storage.results, guildId, deps.config.resultsMaxBytesPerGuild);
  await Promise.all(overBudget.map((old) => removeResultFiles(deps, guildId, old.id, old.dir)));
  if (remoteBlobs(deps)) await deps.blobs.delete(seedBlobKey(guildId, plan.resultId)).catch(() => undefined);
}

/**
 * Removes what a compose that ended without a kept result wrote: its folder here, and its stored files and seed.
 * @param opts.jobMayStillWrite the job was cancelled or cut off while running: its worker stops within
 *   its abort grace or is terminated, and may write into the folder meanwhile, so it is removed again later.
 */
export async function discardComposeFiles(deps: ComposeDeps, guildId: string, plan: Pick<ComposePlan, 'resultId' | 'outDir'>, opts: { jobMayStillWrite?: boolean } = {}): Promise<void> {
  await removeResultFiles(deps, guildId, plan.resultId, plan.outDir);
  if (!opts.jobMayStillWrite) return;
  const later = setTimeout(() => void rm(plan.outDir, { recursive: true, force: true }).catch(() => undefined), LATE_CLEANUP_MS);
  later.unref();
}

/** Past a worker's abort grace (3 s) and its termination wait (5 s): whatever a stopped job wrote is there by now. */
const LATE_CLEANUP_MS = 10_000;

/** The seed part of a stored result (Regenerate composes from it again): the notes that start before `seedSteps`. */
export function seedPart(record: ResultRecord): NoteSequence | undefined {
  const steps = record.options.seedSteps;
  if (!steps) return undefined;
  const notes = record.sequence.notes.filter((n) => n.startStep < steps);
  return { ...record.sequence, notes, totalSteps: steps };
}

/** True when workers may not share this bot's disk: result files and seeds travel through the blob store. */
function remoteBlobs(deps: Pick<JobDeps, 'jobBlobs'>): boolean {
  return deps.jobBlobs.url !== undefined;
}

/** Where an uploaded seed waits for its worker (remote blob store only). */
function seedBlobKey(guildId: string, resultId: string): string {
  return `${guildKeys.uploadsPrefix(guildId)}${resultId}-seed.mid`;
}

/** A result's files: this bot's copies, and the stored ones (and its seed) when they live elsewhere. */
async function removeResultFiles(deps: ComposeDeps, guildId: string, resultId: string, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  if (!remoteBlobs(deps)) return;
  await Promise.all([deps.blobs.deletePrefix(guildKeys.resultPrefix(guildId, resultId)), deps.blobs.delete(seedBlobKey(guildId, resultId))]).catch((error: unknown) =>
    deps.logger.warn('could not delete stored result files', { resultId, error }),
  );
}
