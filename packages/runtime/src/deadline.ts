import type { Redis } from './redis';

/** A bounded wait ran out. */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
  constructor(readonly ms: number, what: string) {
    super(`${what} did not answer within ${ms} ms`);
  }
}

/**
 * `promise`, or a DeadlineExceededError after `ms`. Probes use it because a Redis client that
 * retries forever (BullMQ's `maxRetriesPerRequest: null`) would otherwise hold a probe for the
 * whole outage; the timer never keeps the process alive.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(ms, what)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Does Redis answer PING within `ms`? Never throws. */
export async function pingWithin(redis: Pick<Redis, 'ping'>, ms: number): Promise<boolean> {
  try {
    return (await withDeadline(redis.ping(), ms, 'redis PING')) === 'PONG';
  } catch {
    return false;
  }
}
