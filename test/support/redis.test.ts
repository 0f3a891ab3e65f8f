import { afterEach, describe, expect, it, vi } from 'vitest';
import { redisSkipLine, withRedis } from './redis.js';

describe('withRedis (how Redis suites skip)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('GIVEN no Redis and not CI WHEN a suite asks THEN exactly one SKIPPED line says what it needs and how to start it', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    expect(await withRedis('BullMQ queue (x.test.ts)', { port: 1, ci: false })).not.toBe(describe);
    expect(lines).toEqual([
      'SKIPPED: BullMQ queue (x.test.ts) needs Redis at 127.0.0.1:6379 (start it with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log)\n',
    ]);
    expect(redisSkipLine('s')).toMatch(/^SKIPPED: s needs Redis at 127\.0\.0\.1:6379 \(start it with: redis-server /);
  });

  it('GIVEN no Redis under CI=true WHEN a suite asks THEN nothing is skipped or printed: the suite runs and fails', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await withRedis('BullMQ queue (x.test.ts)', { port: 1, ci: true })).toBe(describe);
    expect(write).not.toHaveBeenCalled();
  });
});
