/**
 * A public server's busy minute: `/compose length:20` sent through the local Discord-protocol server
 * to the real bot by many members, spread evenly over a time window, with the bot's shipped limits
 * (queue, per user, per guild, abuse limits). Every request must be answered: with the result, or
 * with a clear private "queue full / your limit / too fast" message. Nothing may go unanswered.
 *
 *   npx tsx bench/bot-burst.ts [--requests 200] [--users 40] [--seconds 60] [--length 20]
 *
 * Prints one JSON line: { requests, results, limitMessages, otherErrors, unanswered,
 *   resultLatencyMsP50/P95 (send → files), answerLatencyMsP50/P95 (send → first answer of any kind),
 *   peakRssMb (this process: bot, its worker threads and the fake Discord; ffmpeg children excluded),
 *   limitReasons: { text: count } }.
 */
import { fileURLToPath } from 'node:url';
import type { InteractionResponse } from '../test/support/discord-server/index.js';
import { startHarness } from '../test/bot/e2e/harness.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const requests = Math.floor(flag('--requests', 200));
const userCount = Math.floor(flag('--users', 40));
const windowSeconds = flag('--seconds', 60);
const length = Math.floor(flag('--length', 20));
/** After the last request, how long answers may take (results queue one at a time). */
const DRAIN_MS = 600_000;

const hasFiles = (r: InteractionResponse): boolean => (r.message?.attachments.length ?? 0) >= 3;
const answered = (r: InteractionResponse): boolean => hasFiles(r) || r.followUps.length > 0 || r.callbackType === 4;
const LIMIT_TEXT = /queue|limit|too fast|full|wait/i;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);
}

let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);

// The shipped limits, except RATE_*: the harness raises those for test suites, this bench wants them real.
const h = await startHarness({
  env: {
    MODELS_DIR: fileURLToPath(new URL('../models', import.meta.url)),
    SOUNDFONTS_DIR: fileURLToPath(new URL('../soundfonts', import.meta.url)),
    RATE_USER_PER_MINUTE: '30',
    RATE_GUILD_PER_MINUTE: '300',
  },
  deps: { warmUp: true },
});
try {
  const users = Array.from({ length: userCount }, (_, i) => h.server.createUser(`burst-${i}`));
  const gapMs = (windowSeconds * 1000) / requests;
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * gapMs));
      const sentAt = performance.now();
      const sent = h.server.sendSlashCommand({ name: 'compose', options: { length }, user: users[i % userCount] });
      let firstAnswerMs: number | undefined;
      try {
        const first = await h.server.waitForInteractionResponse(sent, (r) => answered(r) || r.deferred, DRAIN_MS);
        firstAnswerMs = performance.now() - sentAt;
        const r = first.deferred && !answered(first) ? await h.server.waitForInteractionResponse(sent, answered, DRAIN_MS) : first;
        if (hasFiles(r)) return { kind: 'result' as const, ms: performance.now() - sentAt, firstAnswerMs, text: '' };
        const text = (r.followUps[0] ?? r.message)?.content ?? '';
        return { kind: LIMIT_TEXT.test(text) ? ('limit' as const) : ('error' as const), ms: performance.now() - sentAt, firstAnswerMs, text };
      } catch {
        return { kind: 'unanswered' as const, ms: performance.now() - sentAt, firstAnswerMs, text: '' };
      }
    }),
  );
  const reasons: Record<string, number> = {};
  for (const o of outcomes) if (o.kind === 'limit' || o.kind === 'error') reasons[o.text.slice(0, 80)] = (reasons[o.text.slice(0, 80)] ?? 0) + 1;
  const results = outcomes.filter((o) => o.kind === 'result');
  process.stdout.write(
    `${JSON.stringify({
      requests,
      users: userCount,
      windowSeconds,
      length,
      results: results.length,
      limitMessages: outcomes.filter((o) => o.kind === 'limit').length,
      otherErrors: outcomes.filter((o) => o.kind === 'error').length,
      unanswered: outcomes.filter((o) => o.kind === 'unanswered').length,
      resultLatencyMsP50: percentile(results.map((o) => o.ms), 50),
      resultLatencyMsP95: percentile(results.map((o) => o.ms), 95),
      answerLatencyMsP50: percentile(outcomes.flatMap((o) => (o.firstAnswerMs === undefined ? [] : [o.firstAnswerMs])), 50),
      answerLatencyMsP95: percentile(outcomes.flatMap((o) => (o.firstAnswerMs === undefined ? [] : [o.firstAnswerMs])), 95),
      elapsedMs: Math.round(performance.now() - started),
      peakRssMb: Math.round(peakRss / (1024 * 1024)),
      queueConcurrency: h.config.queueConcurrency,
      limitReasons: reasons,
    })}\n`,
  );
} finally {
  clearInterval(sampler);
  await h.stop();
}
process.exit(0);
