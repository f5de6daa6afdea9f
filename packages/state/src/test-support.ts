import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Keys } from './keys';

/**
 * Isolation for tests that talk to the real Redis: a unique key prefix per test file, and a
 * cleanup that deletes every key under it (SCAN, never KEYS or FLUSHDB: other suites run in
 * parallel on the same server).
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`;
}

export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

export interface TestRedis {
  redis: Redis;
  keys: Keys;
  prefix: string;
  url: string;
  cleanup(): Promise<void>;
}

export function createTestRedis(label: string, url: string = TEST_REDIS_URL): TestRedis {
  const prefix = uniquePrefix(label);
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  return {
    redis,
    keys: new Keys(prefix),
    prefix,
    url,
    async cleanup() {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    },
  };
}
