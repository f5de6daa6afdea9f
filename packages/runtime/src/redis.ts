import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export type { Redis } from 'ioredis';

export interface RedisConnectOptions {
  url: string;
  /** Connection name shown by CLIENT LIST; helps when many replicas share one Redis. */
  name: string;
  logger?: Logger;
  /**
   * BullMQ workers and blocking readers need `null` (retry forever); request-path clients keep a
   * small bound so a down Redis fails the request quickly (and the gateway answers 503).
   */
  maxRetriesPerRequest?: number | null;
  extra?: RedisOptions;
}

export function createRedis(opts: RedisConnectOptions): Redis {
  const client = new Redis(opts.url, {
    connectionName: opts.name,
    maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? 2 : opts.maxRetriesPerRequest,
    enableOfflineQueue: true,
    // Reconnect forever with capped backoff: a Redis restart must never need a manual action.
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 3_000),
    ...opts.extra,
  });
  if (opts.logger) {
    const log = opts.logger.child({ redis: opts.name });
    let lastError = '';
    client.on('error', (err: Error) => {
      // ioredis repeats the same error on every retry; log each distinct one once.
      if (err.message !== lastError) log.warn({ err: err.message }, 'redis connection error');
      lastError = err.message;
    });
    client.on('ready', () => {
      if (lastError) log.info('redis connection restored');
      lastError = '';
    });
  }
  return client;
}

/** Wait until the client is ready or throw after `timeoutMs`. */
export async function waitForRedis(client: Redis, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The Redis URL without credentials, as the base of `redis://` URIs we hand to clients. */
export function publicRedisUri(redisUrl: string): string {
  const u = new URL(redisUrl);
  const db = u.pathname && u.pathname !== '/' ? u.pathname.replace(/\/+$/, '') : '';
  return `${u.protocol}//${u.host}${db}`;
}

export async function closeRedis(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
