/**
 * `npm run worker`: a process that runs jobs from the BullMQ queue (QUEUE_URL) and nothing else — no
 * Discord, no storage. Start as many as the machines have cores to spare; each takes the lanes named
 * by WORKER_LANES (default both) with QUEUE_CONCURRENCY / QUEUE_BATCH_CONCURRENCY jobs at once, and
 * runs every job in a child process (a crash in TensorFlow.js or ffmpeg kills that child only).
 *
 * SIGTERM/SIGINT: take no new jobs, let running ones finish for SHUTDOWN_GRACE_SECONDS, then hand the
 * rest back to the queue (another worker takes them at once) and exit 0. A worker killed outright
 * (kill -9, power loss) loses its locks; after WORKER_STALLED_SECONDS another worker takes its jobs over.
 */
import { loadWorkerConfig, readEnvironment } from '../config.js';
import { isMotifError } from '../errors.js';
import { createLogger } from '../util/logger.js';
import { exitWithMessage, loadOrExit, onStopSignals } from '../util/process-entry.js';
import { startWorker, type WorkerHandle } from './start-worker.js';

const config = loadOrExit(() => loadWorkerConfig(readEnvironment()));

const logger = createLogger(config.logLevel);
process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { reason }));

let worker: WorkerHandle | undefined;
onStopSignals({
  onFirst: (signal) => {
    logger.info(`${signal}: finishing running jobs, then handing the rest back`, { graceSeconds: config.shutdownGraceSeconds });
    if (!worker) process.exit(0);
    void worker.stop().then(
      (report) => {
        logger.info('worker stopped', { ...report });
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('worker shutdown failed', { error });
        process.exit(1);
      },
    );
  },
});

try {
  worker = await startWorker(config, { logger });
} catch (error) {
  if (isMotifError(error)) exitWithMessage(error.userMessage);
  logger.error('worker start-up failed', { error });
  process.exit(1);
}
