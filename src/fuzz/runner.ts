/**
 * Runs N fuzz cases through the bot's upload code in a child process, one case at a time, with a
 * per-case time bound and memory bound enforced from outside: a case that overruns is killed with
 * its process (and ffmpeg under it) and counted, and a spare child takes over at once.
 *
 * Case i is fully determined by (seed, i): `makeCase(seed, i, pool)` rebuilds it for a reproducer.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createRng } from '../music/random.js';
import type { CaseOutcome, RunnerToWorker, WorkerToRunner } from './case-worker.js';
import { pickMutation, type Mutant, type MutationPool } from './mutations.js';
import type { UploadLimits } from './upload-targets.js';

/** One upload to try, with its index in the run. */
export type FuzzCase = Mutant & { index: number };

export type FuzzOutcome = CaseOutcome | 'hang' | 'memory';

export interface CaseRecord {
  index: number;
  mutation: string;
  source: string;
  target: Mutant['target'];
  fileName: string;
  bytes: number;
  outcome: FuzzOutcome;
  /** MotifError code for `typed`. */
  code?: string;
  /** What went wrong for crash / hang / memory. */
  error?: string;
  ms: number;
  rssMb: number;
}

export interface FuzzRunOptions {
  n: number;
  seed: number;
  pool: MutationPool;
  limits: UploadLimits;
  /** Model whose tokenizer encodes /compose seeds (the shipped default). */
  modelDir: string;
  /** Scratch folder for mutated files (emptied afterwards). */
  workDir: string;
  /** Where crashing / hanging inputs are kept (file + JSON), if set. */
  findingsDir?: string;
  /** Per-case time bound, ms, per target. */
  timeoutMs: { midi: number; audio: number };
  /** Per-case bound on the case process's resident memory, MB. */
  memoryLimitMb: number;
  /** Share of cases that are audio uploads (0–1). */
  audioShare: number;
  /** Run only these case indices (reproducing a finding). */
  only?: readonly number[];
  /** Run these files instead of generated mutants (regression tests of saved reproducers). */
  cases?: readonly FuzzCase[];
  onCase?: (record: CaseRecord) => void;
}

export interface FuzzSummary {
  files: number;
  ok: number;
  typedErrors: number;
  crashes: number;
  hangs: number;
  overMemory: number;
  slowestMs: number;
  slowest?: { index: number; mutation: string; source: string };
  /** Peak resident memory of a case process, MB. */
  peakRssMb: number;
  byMutation: Record<string, Partial<Record<FuzzOutcome, number>>>;
  byCode: Record<string, number>;
  findings: CaseRecord[];
  seed: number;
  elapsedMs: number;
}

/** The mutant for case `index` of a run with `seed`. */
export function makeCase(seed: number, index: number, pool: MutationPool, audioShare: number): Mutant {
  const rng = createRng(seed * 1_000_003 + index);
  const target = pool.audio.length > 0 && rng() < audioShare ? 'audio' : 'midi';
  return pickMutation(rng, target).apply(rng, pool);
}

const WORKER_URL = new URL(`./case-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Resident set size of a process from /proc (Linux), MB; 0 when unavailable. */
function rssOfMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

type CaseReply = Extract<WorkerToRunner, { type: 'result' }>;

/** Messages from a case process are checked like any data crossing a process boundary. */
const workerMessageSchema: z.ZodType<WorkerToRunner> = z.union([
  z.object({ type: z.literal('ready') }),
  z.object({
    type: z.literal('result'),
    index: z.number().int().min(0),
    outcome: z.enum(['ok', 'typed', 'crash']),
    code: z.string().optional(),
    notes: z.number().optional(),
    error: z.string().optional(),
    ms: z.number().min(0),
    rssMb: z.number().min(0),
  }),
]);

/** One case process. */
class CaseChild {
  private pending?: (reply: CaseReply | { died: string }) => void;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (raw: unknown) => {
      const parsed = workerMessageSchema.safeParse(raw);
      if (!parsed.success) this.settle({ died: `case process sent a malformed message: ${JSON.stringify(raw).slice(0, 200)}` });
      else if (parsed.data.type === 'result') this.settle(parsed.data);
    });
    child.once('exit', (code, signal) => this.settle({ died: `case process exited (${signal ?? `code ${String(code)}`})` }));
  }

  static start(init: Extract<RunnerToWorker, { type: 'init' }>, memoryLimitMb: number): Promise<CaseChild> {
    const fromSources = WORKER_URL.pathname.endsWith('.ts');
    // Own process group (detached) so a kill takes ffmpeg with it; the V8 heap cap turns a runaway
    // allocation into a crash the runner sees, before the machine starts swapping.
    const child = fork(fileURLToPath(WORKER_URL), [], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [...(fromSources ? ['--import', 'tsx'] : []), `--max-old-space-size=${memoryLimitMb}`],
    });
    child.stderr?.resume();
    const wrapper = new CaseChild(child);
    return new Promise((resolve, reject) => {
      const onMessage = (message: WorkerToRunner): void => {
        if (message.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(wrapper);
      };
      const onExit = (code: number | null): void => reject(new Error(`fuzz case process did not start (exit ${String(code)})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(init);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  run(message: Extract<RunnerToWorker, { type: 'case' }>): Promise<CaseReply | { died: string }> {
    return new Promise((resolve) => {
      this.pending = resolve;
      this.child.send(message);
    });
  }

  kill(): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private settle(reply: CaseReply | { died: string }): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.(reply);
  }
}

/** Runs the cases; never throws for a case, only when no case process can start. */
export async function runFuzz(opts: FuzzRunOptions): Promise<FuzzSummary> {
  const started = performance.now();
  const init = { type: 'init' as const, limits: opts.limits, modelDir: opts.modelDir };
  await mkdir(opts.workDir, { recursive: true });
  if (opts.findingsDir) await mkdir(opts.findingsDir, { recursive: true });
  let current = await CaseChild.start(init, opts.memoryLimitMb);
  let spare = CaseChild.start(init, opts.memoryLimitMb);
  spare.catch(() => undefined);
  // Case processes live in their own process groups, so a signal to the runner does not reach a
  // hung one: take them down before leaving.
  const onSignal = (signal: NodeJS.Signals): void => {
    current.kill();
    void spare.then((c) => c.kill(), () => undefined);
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const replace = async (): Promise<void> => {
    current.kill();
    current = await spare;
    spare = CaseChild.start(init, opts.memoryLimitMb);
    spare.catch(() => undefined);
  };

  const summary: FuzzSummary = {
    files: 0, ok: 0, typedErrors: 0, crashes: 0, hangs: 0, overMemory: 0, slowestMs: 0, peakRssMb: 0,
    byMutation: {}, byCode: {}, findings: [], seed: opts.seed, elapsedMs: 0,
  };
  const indices = opts.only ?? Array.from({ length: opts.n }, (_, i) => i);
  const cases: Iterable<FuzzCase> = opts.cases ?? (function* () {
    for (const index of indices) yield { ...makeCase(opts.seed, index, opts.pool, opts.audioShare), index };
  })();
  try {
    for (const mutant of cases) {
      const { index } = mutant;
      const ext = /\.[a-z0-9]+$/i.exec(mutant.fileName)?.[0] ?? '.bin';
      const path = join(opts.workDir, `case-${index}${ext}`);
      await writeFile(path, mutant.bytes);
      const timeoutMs = opts.timeoutMs[mutant.target];
      let peakRss = 0;
      let overMemory = false;
      const poll = setInterval(() => {
        const rss = rssOfMb(current.pid);
        peakRss = Math.max(peakRss, rss);
        if (rss > opts.memoryLimitMb && !overMemory) {
          overMemory = true;
          current.kill();
        }
      }, 25);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const t0 = performance.now();
      const reply = await Promise.race([current.run({ type: 'case', index, target: mutant.target, path, workDir: join(opts.workDir, `out-${index}`) }), timedOut]);
      clearInterval(poll);
      clearTimeout(timer);
      const base = { index, mutation: mutant.mutation, source: mutant.source, target: mutant.target, fileName: mutant.fileName, bytes: mutant.bytes.byteLength };
      let record: CaseRecord;
      if (reply === 'timeout') {
        record = { ...base, outcome: 'hang', error: `no answer within ${timeoutMs} ms`, ms: timeoutMs, rssMb: peakRss };
        await replace();
      } else if ('died' in reply) {
        record = { ...base, outcome: overMemory ? 'memory' : 'crash', error: overMemory ? `resident memory over ${opts.memoryLimitMb} MB` : reply.died, ms: performance.now() - t0, rssMb: peakRss };
        await replace();
      } else {
        record = { ...base, outcome: reply.outcome, code: reply.code, error: reply.error, ms: reply.ms, rssMb: Math.max(peakRss, reply.rssMb) };
      }
      await rm(path, { force: true });
      tally(summary, record);
      if (record.outcome === 'crash' || record.outcome === 'hang' || record.outcome === 'memory') {
        summary.findings.push(record);
        if (opts.findingsDir) {
          const name = `${record.outcome}-s${opts.seed}-${index}-${mutant.mutation}`;
          await writeFile(join(opts.findingsDir, `${name}${ext}`), mutant.bytes);
          await writeFile(join(opts.findingsDir, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
        }
      }
      opts.onCase?.(record);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    current.kill();
    (await spare.catch(() => undefined))?.kill();
    await rm(opts.workDir, { recursive: true, force: true });
  }
  summary.elapsedMs = performance.now() - started;
  return summary;
}

function tally(summary: FuzzSummary, record: CaseRecord): void {
  summary.files++;
  if (record.outcome === 'ok') summary.ok++;
  else if (record.outcome === 'typed') summary.typedErrors++;
  else if (record.outcome === 'crash') summary.crashes++;
  else if (record.outcome === 'hang') summary.hangs++;
  else summary.overMemory++;
  if (record.code) summary.byCode[record.code] = (summary.byCode[record.code] ?? 0) + 1;
  const perMutation = (summary.byMutation[record.mutation] ??= {});
  perMutation[record.outcome] = (perMutation[record.outcome] ?? 0) + 1;
  if (record.outcome !== 'hang' && record.ms > summary.slowestMs) {
    summary.slowestMs = record.ms;
    summary.slowest = { index: record.index, mutation: record.mutation, source: record.source };
  }
  summary.peakRssMb = Math.max(summary.peakRssMb, record.rssMb);
}
