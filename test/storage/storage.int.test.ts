import { Socket } from 'node:net';
import { describe } from 'vitest';
import { storageBehaviour } from './storage-behaviour.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const POSTGRES_URL = 'postgresql://postgres@127.0.0.1:5432/test';

/** On CI the services must be there (a missing one fails the run); elsewhere they are optional. */
async function available(port: number, name: string): Promise<boolean> {
  if (process.env.CI === 'true') return true;
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false)).once('timeout', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  }).finally(() => undefined);
  if (!reachable) console.warn(`SKIPPED: ${name} storage tests — nothing listens on 127.0.0.1:${port} (set CI=true to require it).`);
  return reachable;
}

const redisUp = await available(6379, 'Redis');
const postgresUp = await available(5432, 'Postgres');

describe.skipIf(!redisUp)('storage on Redis', () => storageBehaviour(() => REDIS_URL));
describe.skipIf(!postgresUp)('storage on Postgres', () => storageBehaviour(() => POSTGRES_URL));
