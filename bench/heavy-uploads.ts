/**
 * Heavy uploads (issue 13): 20 legal ~8 MB MIDI seeds attached to `/compose` at once, from 20
 * members, through the local Discord-protocol server to the real bot (real discord.js client, SQLite
 * storage, queue and worker thread, shipped model warmed up as `npm start` does).
 *
 *   ack_ms_p50_heavy_uploads / ack_ms_p95_heavy_uploads / ack_ms_max_heavy_uploads
 *                                  INTERACTION_CREATE dispatched → the bot's acknowledgement (defer)
 *                                  received, per upload (target p95 ≤ 1000 ms; Discord's limit is 3 s)
 *   ack_ms_p95_light_during_heavy  the same for 10 `/seed list` sent while the uploads are downloaded and read
 *   heavy_uploads_heartbeat_gap_ms_max  longest gap between gateway heartbeats in the burst window (interval 1000 ms)
 *   heavy_uploads_peak_rss_mb      peak RSS (process incl. worker threads, plus ffmpeg children) during the
 *                                  burst window: from the first upload until every upload is downloaded and
 *                                  queued, plus PROCESSING_WINDOW_MS while the worker reads the first seed
 *                                  and starts composing from it (target ≤ 600 MB)
 *   heavy_uploads_start_rss_mb     the same measure just before the burst (bot warmed up and logged in)
 *   heavy_uploads_queued           uploads that became compose jobs (downloads that completed)
 *   heavy_uploads_seed_bytes       size of each seed (just under MAX_MIDI_BYTES, 8 MiB)
 *
 * The seeds are the test suite's heavySeedMidi at the compose limits: 20,000 notes (MAX_SEED_NOTES)
 * in about 5 minutes, padded to just under 8 MiB with a dense controller sweep, so the download, the
 * reader's work budget and the seed's tokens are all at their worst legal size. The jobs are cancelled
 * after the window: the figures are about acknowledging and reading uploads, not composing.
 * Runs in a fresh child process (see bot-load.ts for why). Alone: `npm run bench -- --only heavy-uploads`.
 */
import { fileURLToPath } from 'node:url';
import { startHarness } from '../test/bot/e2e/harness.js';
import { heavySeedMidi } from '../test/support/heavy-midi.js';
import { MAX_SEED_NOTES } from '../src/music/midi-limits.js';
import type { InteractionResponse, SentInteraction } from '../test/support/discord-server/index.js';
import { runInChild } from './child-process.js';
import { percentile, startRssSampler, toMb } from './bot-load.js';

const MODELS_DIR = fileURLToPath(new URL('../models', import.meta.url));
const SOUNDFONTS_DIR = fileURLToPath(new URL('../soundfonts', import.meta.url));
const UPLOADS = 20;
const LIGHT_REQUESTS = 10;
const SEED_BYTES = 8 * 1024 * 1024 - 4096;
const HEARTBEAT_INTERVAL_MS = 1000;
const PROCESSING_WINDOW_MS = 15_000;
const WAIT_MS = 120_000;
const CHILD_FLAG = '--heavy-uploads-child';

/** @returns the figures listed above, measured in a fresh child process. */
export async function benchHeavyUploads(): Promise<Record<string, number>> {
  return runInChild<Record<string, number>>('heavy-uploads', import.meta.url, [CHILD_FLAG]);
}

async function measureInThisProcess(): Promise<Record<string, number>> {
  const seed = heavySeedMidi({ targetBytes: SEED_BYTES, chords: MAX_SEED_NOTES / 4 });
  const h = await startHarness({
    env: { MODELS_DIR, SOUNDFONTS_DIR, QUEUE_MAX_PENDING: '50', QUEUE_MAX_PER_GUILD: String(UPLOADS) },
    deps: { warmUp: true },
    server: { heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS },
  });
  let sampler: ReturnType<typeof startRssSampler> | undefined;
  try {
    const users = Array.from({ length: UPLOADS }, (_, i) => h.server.createUser(`heavy-${i}`));
    const others = Array.from({ length: LIGHT_REQUESTS }, (_, i) => h.server.createUser(`light-${i}`));
    await h.server.gateway.waitForHeartbeat();
    // Every upload is its own attachment on the fake CDN; they share one buffer so the fake server's
    // copy counts once (it is not the bot's memory).
    const files = users.map((_, i) => h.server.addAttachment(seed, `heavy-${i}.mid`, 'audio/midi'));
    // The peak counts only the burst.
    const burstSampler = startRssSampler();
    sampler = burstSampler;
    burstSampler.setFakeServer(h.server);
    const startRss = burstSampler.sampleNow();
    const windowStart = performance.now();
    const heavy = users.map((user, i) => h.server.sendSlashCommand({ name: 'compose', options: { length: 100, midi: files[i]! }, user }));
    const light: SentInteraction[] = [];
    for (const user of others) {
      light.push(h.server.sendSlashCommand({ name: 'seed', subcommand: 'list', user }));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const acked = (r: InteractionResponse): boolean => r.acknowledged;
    const heavyAcks = await Promise.all(heavy.map((i) => h.server.waitForInteractionResponse(i, acked, WAIT_MS)));
    const lightAcks = await Promise.all(light.map((i) => h.server.waitForInteractionResponse(i, acked, WAIT_MS)));
    // Every upload downloaded and queued (or refused with a reply).
    await waitFor(async () => (await h.bot.ctx.queue.list()).length + heavyAcks.filter((r) => r.followUps.length > 0).length >= UPLOADS, WAIT_MS);
    const queued = (await h.bot.ctx.queue.list()).length;
    await new Promise((resolve) => setTimeout(resolve, PROCESSING_WINDOW_MS));
    const peak = burstSampler.stop();
    const beats = h.server.gateway.heartbeatTimes.filter((t) => t >= windowStart);
    const gaps = beats.slice(1).map((t, i) => t - beats[i]!);
    for (const job of await h.bot.ctx.queue.list()) await h.bot.ctx.queue.cancel(job.id, { guildId: job.guildId, userId: job.userId, isAdmin: true });
    const ackMs = (r: InteractionResponse): number => (r.acknowledgedAt ?? Number.POSITIVE_INFINITY) - r.dispatchedAt;
    const heavyMs = heavyAcks.map(ackMs);
    return {
      ack_ms_p50_heavy_uploads: Math.round(percentile(heavyMs, 50)),
      ack_ms_p95_heavy_uploads: Math.round(percentile(heavyMs, 95)),
      ack_ms_max_heavy_uploads: Math.round(Math.max(...heavyMs)),
      ack_ms_p95_light_during_heavy: Math.round(percentile(lightAcks.map(ackMs), 95)),
      heavy_uploads_heartbeat_gap_ms_max: Math.round(gaps.length > 0 ? Math.max(...gaps) : Number.NaN),
      heavy_uploads_peak_rss_mb: toMb(peak.total),
      heavy_uploads_start_rss_mb: toMb(startRss),
      heavy_uploads_queued: queued,
      heavy_uploads_seed_bytes: seed.length,
    };
  } finally {
    sampler?.stop();
    await h.stop();
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('heavy-uploads: timed out waiting for the uploads to be queued');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const child = process.argv.includes(CHILD_FLAG);
  const figures = child ? await measureInThisProcess() : await benchHeavyUploads();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  if (child) process.exit(0);
}
