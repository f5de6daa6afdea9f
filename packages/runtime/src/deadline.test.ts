import { Redis } from 'ioredis';
import { DeadlineExceededError, pingWithin, withDeadline } from './deadline';

describe('withDeadline', () => {
  it('passes the value through when the promise settles in time', async () => {
    await expect(withDeadline(Promise.resolve(42), 1_000)).resolves.toBe(42);
    await expect(withDeadline(Promise.reject(new Error('boom')), 1_000)).rejects.toThrow('boom');
  });

  it('rejects with DeadlineExceededError naming what did not answer', async () => {
    const never = new Promise<never>(() => undefined);
    const err = await withDeadline(never, 20, 'queue count').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toBe('queue count did not answer within 20 ms');
  });
});

describe('pingWithin', () => {
  it('is true for a live Redis and false, without throwing, for one that does not answer', async () => {
    const live = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    // A port nobody listens on, with retries forever: the PING would wait for the whole outage.
    const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: () => 50 });
    dead.on('error', () => undefined);
    try {
      expect(await pingWithin(live, 1_000)).toBe(true);
      expect(await pingWithin(dead, 100)).toBe(false);
    } finally {
      live.disconnect();
      dead.disconnect();
    }
  });
});
