import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig, loadCoreConfig, loadWorkerConfig, readEnvironment } from '../src/config.js';
import { MotifError } from '../src/errors.js';

const TOKEN = `${Buffer.from('123456789012345678').toString('base64')}.abc.def`;

describe('loadConfig', () => {
  it('GIVEN only a token WHEN loaded THEN every default is filled in, the client id comes from the token, and the result is frozen', () => {
    const config = loadConfig({ DISCORD_TOKEN: TOKEN });
    expect(config).toMatchObject({
      discordClientId: '123456789012345678',
      dataDir: resolve('./data'),
      defaultModelDir: resolve('./models/default'),
      storageUrl: `sqlite://${resolve('./data/motif.sqlite')}`,
      maxMidiBytes: 8 * 1024 * 1024,
      maxAudioBytes: 25 * 1024 * 1024,
      maxAudioSeconds: 600,
      maxComposeLength: 2000,
      queueConcurrency: 1,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('GIVEN many bad values WHEN loaded THEN one CONFIG_INVALID error lists every problem by key', () => {
    let error: unknown;
    try {
      loadConfig({ DISCORD_CLIENT_ID: 'abc', QUEUE_CONCURRENCY: 'two', LOG_LEVEL: 'loud', DISCORD_API_URL: 'ftp://x', MAX_COMPOSE_LENGTH: '5000', STORAGE_URL: 'mysql://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MotifError);
    const message = (error as MotifError).userMessage;
    expect((error as MotifError).code).toBe('CONFIG_INVALID');
    for (const key of ['DISCORD_TOKEN', 'DISCORD_CLIENT_ID', 'QUEUE_CONCURRENCY', 'LOG_LEVEL', 'DISCORD_API_URL', 'MAX_COMPOSE_LENGTH', 'STORAGE_URL']) {
      expect(message).toContain(`- ${key}:`);
    }
  });

  it('GIVEN DISCORD_TOKEN=bogus and no client id WHEN loaded THEN the message blames the token, not DISCORD_CLIENT_ID', () => {
    expect(() => loadConfig({ DISCORD_TOKEN: 'bogus' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', userMessage: expect.stringMatching(/- DISCORD_TOKEN: does not look like a bot token.*Reset Token/) }),
    );
    expect(() => loadConfig({ DISCORD_TOKEN: 'bogus' })).not.toThrow(/DISCORD_CLIENT_ID: is required/);
  });

  it('GIVEN SHUTDOWN_GRACE_SECONDS WHEN loaded THEN default 20, and it is validated', () => {
    expect(loadConfig({ DISCORD_TOKEN: TOKEN }).shutdownGraceSeconds).toBe(20);
    expect(loadConfig({ DISCORD_TOKEN: TOKEN, SHUTDOWN_GRACE_SECONDS: '45' }).shutdownGraceSeconds).toBe(45);
    expect(() => loadConfig({ DISCORD_TOKEN: TOKEN, SHUTDOWN_GRACE_SECONDS: 'soon' })).toThrow(/SHUTDOWN_GRACE_SECONDS/);
  });

  it('GIVEN METRICS_PORT WHEN loaded THEN unset means no endpoint, a port 1–65535 is kept, and 0 or 65536 is refused naming the key', () => {
    expect(loadConfig({ DISCORD_TOKEN: TOKEN }).metricsPort).toBeUndefined();
    expect(loadConfig({ DISCORD_TOKEN: TOKEN, METRICS_PORT: '9100' }).metricsPort).toBe(9100);
    for (const bad of ['0', '65536', '91.5', 'prometheus']) {
      expect(() => loadConfig({ DISCORD_TOKEN: TOKEN, METRICS_PORT: bad })).toThrow(/- METRICS_PORT: /);
    }
  });

  it('GIVEN no queue settings WHEN loaded THEN the in-process queue with one interactive and one batch slot, and a 60-minute training budget', () => {
    const config = loadConfig({ DISCORD_TOKEN: TOKEN });
    expect(config).toMatchObject({ queueUrl: undefined, queuePrefix: 'motif', queueConcurrency: 1, queueBatchConcurrency: 1, trainMaxMinutes: 60 });
    const redis = loadConfig({ DISCORD_TOKEN: TOKEN, QUEUE_URL: 'redis://127.0.0.1:6379', QUEUE_PREFIX: 'motif-eu', QUEUE_BATCH_CONCURRENCY: '2', TRAIN_MAX_MINUTES: '0.5' });
    expect(redis).toMatchObject({ queueUrl: 'redis://127.0.0.1:6379', queuePrefix: 'motif-eu', queueBatchConcurrency: 2, trainMaxMinutes: 0.5 });
  });

  it('GIVEN no blob settings WHEN loaded THEN files stay under DATA_DIR and three guild models are cached; a postgresql:// BLOB_URL is taken, anything else named', () => {
    expect(loadConfig({ DISCORD_TOKEN: TOKEN })).toMatchObject({ blobUrl: undefined, modelCacheSize: 3 });
    const pg = loadConfig({ DISCORD_TOKEN: TOKEN, BLOB_URL: 'postgresql://motif@127.0.0.1:5432/motif', MODEL_CACHE_SIZE: '5' });
    expect(pg).toMatchObject({ blobUrl: 'postgresql://motif@127.0.0.1:5432/motif', modelCacheSize: 5 });
    expect(() => loadConfig({ DISCORD_TOKEN: TOKEN, BLOB_URL: 's3://bucket' })).toThrow(/BLOB_URL: must be a postgresql:\/\/ URL/);
    expect(() => loadConfig({ DISCORD_TOKEN: TOKEN, MODEL_CACHE_SIZE: '0' })).toThrow(/MODEL_CACHE_SIZE/);
  });

  it('GIVEN WORKER_LANES WHEN the bot loads it THEN both lanes by default, none or one lane with QUEUE_URL, and a lane setting without QUEUE_URL is refused (in-process runs every lane)', () => {
    const redis = { DISCORD_TOKEN: TOKEN, QUEUE_URL: 'redis://127.0.0.1:6379' };
    expect(loadConfig({ DISCORD_TOKEN: TOKEN })).toMatchObject({ workerLanes: ['interactive', 'batch'], workerStalledMs: 30_000 });
    expect(loadConfig({ ...redis, WORKER_LANES: 'none' }).workerLanes).toEqual([]);
    expect(loadConfig({ ...redis, WORKER_LANES: 'batch', WORKER_STALLED_SECONDS: '5' })).toMatchObject({ workerLanes: ['batch'], workerStalledMs: 5_000 });
    expect(() => loadConfig({ DISCORD_TOKEN: TOKEN, WORKER_LANES: 'none' })).toThrow(/WORKER_LANES: only applies with QUEUE_URL/);
    expect(() => loadConfig({ ...redis, WORKER_LANES: 'fast' })).toThrow(/WORKER_LANES: must be interactive,batch \(both\), interactive, batch or none/);
    expect(() => loadConfig({ DISCORD_TOKEN: TOKEN, BLOB_SCHEMA: 'Motif-Blobs' })).toThrow(/BLOB_SCHEMA: must be a PostgreSQL schema name/);
  });

  it('GIVEN a worker process WHEN its settings load THEN no Discord token is needed, QUEUE_URL is, and it must run at least one lane', () => {
    expect(loadWorkerConfig({ QUEUE_URL: 'redis://127.0.0.1:6379', WORKER_LANES: 'interactive', METRICS_PORT: '9101' })).toMatchObject({
      queueUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'motif',
      workerLanes: ['interactive'],
      metricsPort: 9101,
      shutdownGraceSeconds: 20,
    });
    expect(() => loadWorkerConfig({})).toThrow(/QUEUE_URL: is required: a worker takes its jobs from the BullMQ queue/);
    expect(() => loadWorkerConfig({ QUEUE_URL: 'redis://127.0.0.1:6379', WORKER_LANES: 'none' })).toThrow(/a worker must run at least one lane/);
  });

  it('GIVEN bad queue settings WHEN loaded THEN each is named with what it allows', () => {
    let message = '';
    try {
      loadConfig({ DISCORD_TOKEN: TOKEN, QUEUE_URL: 'http://127.0.0.1:6379', QUEUE_PREFIX: 'has space', QUEUE_BATCH_CONCURRENCY: '0', TRAIN_MAX_MINUTES: 'forever' });
    } catch (e) {
      message = (e as MotifError).userMessage;
    }
    expect(message).toMatch(/- QUEUE_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(message).toMatch(/- QUEUE_PREFIX: must be 1–40 letters/);
    expect(message).toMatch(/- QUEUE_BATCH_CONCURRENCY: must be at least 1/);
    expect(message).toMatch(/- TRAIN_MAX_MINUTES: must be a number of minutes/);
  });

  it('GIVEN empty values WHEN loaded THEN they fall back to defaults instead of failing', () => {
    const config = loadConfig({ DISCORD_TOKEN: TOKEN, DEV_GUILD_ID: '', QUEUE_CONCURRENCY: '  ', DISCORD_API_URL: 'http://127.0.0.1:9/api/' });
    expect(config.devGuildId).toBeUndefined();
    expect(config.queueConcurrency).toBe(1);
    expect(config.discordApiUrl).toBe('http://127.0.0.1:9/api');
  });

  it('GIVEN no Discord settings WHEN the core subset is loaded THEN it works (the CLIs need no token)', () => {
    expect(loadCoreConfig({ MAX_MIDI_BYTES: '1024' }).maxMidiBytes).toBe(1024);
    expect(() => loadCoreConfig({ MAX_AUDIO_SECONDS: '0' })).toThrow(/MAX_AUDIO_SECONDS: must be at least 1/);
  });

  it('GIVEN a .env file and a real environment WHEN read THEN the real environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'motif-env-'));
    try {
      writeFileSync(join(dir, '.env'), 'LOG_LEVEL=debug\nDATA_DIR=/from/file\n');
      const env = readEnvironment({ envFile: join(dir, '.env'), env: { LOG_LEVEL: 'warn' } });
      expect(env.LOG_LEVEL).toBe('warn');
      expect(env.DATA_DIR).toBe('/from/file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN SHARD_COUNT WHEN loaded THEN auto by default, a number, or one line naming it', () => {
    expect(loadConfig({ DISCORD_TOKEN: TOKEN }).shardCount).toBe('auto');
    expect(loadConfig({ DISCORD_TOKEN: TOKEN, SHARD_COUNT: 'AUTO' }).shardCount).toBe('auto');
    expect(loadConfig({ DISCORD_TOKEN: TOKEN, SHARD_COUNT: ' 4 ' }).shardCount).toBe(4);
    for (const bad of ['0', '-1', '1.5', 'two']) {
      expect(() => loadConfig({ DISCORD_TOKEN: TOKEN, SHARD_COUNT: bad }), bad).toThrow(/- SHARD_COUNT: must be "auto"/);
    }
    // Not a shard process: no assignment, whatever SHARD_COUNT says.
    expect(loadConfig({ DISCORD_TOKEN: TOKEN, SHARD_COUNT: '3' }).shard).toBeUndefined();
  });

  it('GIVEN the variables a ShardingManager sets for its shard process WHEN loaded THEN the shard is that one; nonsense is refused', () => {
    const child = { DISCORD_TOKEN: TOKEN, SHARDING_MANAGER: 'true', SHARDS: '1', SHARD_COUNT: '2' };
    expect(loadConfig(child).shard).toEqual({ id: 1, count: 2 });
    expect(loadConfig(child).shardCount).toBe(2);
    for (const bad of [{ SHARDS: '2' }, { SHARDS: '[0,1]' }, { SHARDS: undefined }, { SHARD_COUNT: 'auto' }]) {
      expect(() => loadConfig({ ...child, ...bad }), JSON.stringify(bad)).toThrow(/SHARDING_MANAGER is set but SHARDS=/);
    }
  });

  it('GIVEN .env.example WHEN read THEN it lists every key in schema order, each with a comment line above', () => {
    const lines = readFileSync(resolve('.env.example'), 'utf8').split('\n');
    const keys = lines.filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=')[0]);
    expect(keys).toEqual([...CONFIG_KEYS]);
    for (const key of CONFIG_KEYS) {
      const index = lines.findIndex((l) => l.startsWith(`${key}=`));
      expect(lines[index - 1]).toMatch(/^# \S/);
    }
  });
});
