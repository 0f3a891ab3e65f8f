/**
 * Tests that need the Redis at 127.0.0.1:6379 (the BullMQ queue). When it is not reachable they are
 * skipped and ONE line per test file says so and how to start it, unless CI=true: CI must never
 * silently skip, so there they run and fail.
 *
 * Redis is shared with other people's work on this machine: tests write only under a prefix of their
 * own (`uniquePrefix`) and delete only those keys (`deleteKeys`). Never FLUSHALL/FLUSHDB.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe } from 'vitest';
import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const REDIS_START_COMMAND =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log';

/** True when something answers PING on 127.0.0.1:`port` (default 6379) within a second. */
export function redisReachable(timeoutMs = 1_000, port = 6379): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.once('error', () => done(false));
  });
}

/** The one line a suite prints when it skips for want of Redis. */
export function redisSkipLine(suite: string): string {
  return `SKIPPED: ${suite} needs Redis at 127.0.0.1:6379 (start it with: ${REDIS_START_COMMAND})`;
}

/**
 * `describe` for a suite that needs Redis. Call with top-level await in the test file.
 * @param opts.port and opts.ci exist for this helper's own test (default 6379 and CI=true).
 * @example const describeRedis = await withRedis('BullMQ queue behaviour');
 */
export async function withRedis(suite: string, opts: { port?: number; ci?: boolean } = {}): Promise<ReturnType<typeof describe.runIf>> {
  const up = await redisReachable(1_000, opts.port);
  const inCi = opts.ci ?? process.env.CI === 'true';
  if (!up && !inCi) {
    // process.stderr directly: one line, not vitest's multi-line console capture block.
    process.stderr.write(`${redisSkipLine(suite)}\n`);
  }
  return describe.runIf(up || inCi);
}

/** A key prefix no one else uses: `motif-test-<what>-<random>`. */
export function uniquePrefix(what: string): string {
  return `motif-test-${what}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix:` (SCAN, never FLUSH*), so a test leaves nothing behind. */
export async function deleteKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** A TCP proxy to the real Redis that the test can take away and bring back, as an outage would. */
export class RedisOutage {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: 6379 });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async down(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
