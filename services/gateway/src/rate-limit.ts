import type { Redis } from '@agent-forge/runtime';
import type { Keys } from '@agent-forge/state';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { GatewayConfig } from './config';
import { HttpError } from './errors';
import type { RateBudget } from './route-table';

/** What a response tells the client about its budget (IETF RateLimit header fields). */
export interface RateState {
  limit: number;
  remaining: number;
  resetSeconds: number;
  windowSeconds: number;
  /** `RateLimit-Policy` value, e.g. `1200;w=60`. */
  policy: string;
}

export class RateLimitedError extends HttpError {
  override readonly name = 'RateLimitedError';
  constructor(state: RateState, retryAfterSeconds: number, who: 'subject' | 'ip') {
    super('RATE_LIMITED', `rate limit exceeded (${who === 'ip' ? 'per client address' : 'per identity'}); retry in ${retryAfterSeconds} s`, { limit: state.limit, window_seconds: state.windowSeconds }, {
      'Retry-After': String(retryAfterSeconds),
      ...rateHeaders(state),
    });
  }
}

export function rateHeaders(s: RateState): Record<string, string> {
  return {
    'RateLimit-Limit': String(s.limit),
    'RateLimit-Remaining': String(Math.max(0, s.remaining)),
    'RateLimit-Reset': String(s.resetSeconds),
    'RateLimit-Policy': s.policy,
  };
}

interface Pair {
  subject: RateLimiterRedis;
  ip: RateLimiterRedis;
}

/**
 * Fixed-window budgets in Redis (rate-limiter-flexible: one atomic script per consume), so every
 * replica spends from the same counters. Two budgets (reads; control-plane writes), each counted
 * per identity and per client address; a call spends from both and is refused when either is out.
 * While Redis is unreachable each replica falls back to an in-memory budget of the same size
 * (the request itself then answers 503 anyway).
 */
export class RateLimits {
  private readonly budgets: Record<RateBudget, Pair>;
  readonly window: number;

  constructor(redis: Redis, keys: Keys, config: GatewayConfig) {
    this.window = config.RATE_LIMIT_WINDOW_S;
    const make = (name: string, points: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: keys.rateLimit(name),
        points,
        duration: this.window,
        insuranceLimiter: new RateLimiterMemory({ points, duration: this.window }),
        // Once a key is over budget, this replica refuses it from memory until the window ends
        // (the Redis counter already said no): an over-budget client costs Redis nothing more.
        inMemoryBlockOnConsumed: points + 1,
      });
    this.budgets = {
      read: { subject: make('read-subject', config.RATE_LIMIT_READ_PER_SUBJECT), ip: make('read-ip', config.RATE_LIMIT_READ_PER_IP) },
      write: { subject: make('write-subject', config.RATE_LIMIT_WRITE_PER_SUBJECT), ip: make('write-ip', config.RATE_LIMIT_WRITE_PER_IP) },
    };
  }

  /**
   * Is the identity or the address already known (in this replica's memory) to be over budget?
   * Synchronous, no Redis: a RateLimitedError to throw, or null.
   */
  blocked(budget: RateBudget, actor: string, ip: string): RateLimitedError | null {
    const pair = this.budgets[budget];
    for (const [limiter, key, who] of [
      [pair.ip, ip, 'ip'],
      [pair.subject, actor, 'subject'],
    ] as const) {
      // Public in rate-limiter-flexible (RateLimiterStoreAbstract), missing from its typings.
      const ms = (limiter as unknown as { getInMemoryBlockMsBeforeExpire(rlKey: string): number }).getInMemoryBlockMsBeforeExpire(limiter.getKey(key));
      if (ms > 0) {
        const state: RateState = { limit: limiter.points, remaining: 0, resetSeconds: Math.ceil(ms / 1000), windowSeconds: this.window, policy: `${limiter.points};w=${this.window}` };
        return new RateLimitedError(state, Math.max(1, Math.ceil(ms / 1000)), who);
      }
    }
    return null;
  }

  /** Spend one unit of `budget` for the identity (if known) and the address; throws RateLimitedError when out. */
  async consume(budget: RateBudget, actor: string | null, ip: string): Promise<RateState> {
    const pair = this.budgets[budget];
    const spends: Array<Promise<RateLimiterRes>> = [settle(pair.ip.consume(ip))];
    if (actor !== null) spends.push(settle(pair.subject.consume(actor)));
    const [ipRes, subjectRes] = await Promise.all(spends);
    const results: Array<[RateLimiterRes, RateLimiterRedis, 'ip' | 'subject']> = [[ipRes as RateLimiterRes, pair.ip, 'ip']];
    if (subjectRes) results.push([subjectRes, pair.subject, 'subject']);
    // Report the tighter of the two budgets.
    let tightest = results[0] as (typeof results)[number];
    for (const r of results) if (r[0].remainingPoints < tightest[0].remainingPoints) tightest = r;
    const [res, limiter] = tightest;
    const state: RateState = {
      policy: `${limiter.points};w=${this.window}`,
      limit: limiter.points,
      remaining: res.remainingPoints,
      resetSeconds: Math.max(0, Math.ceil(res.msBeforeNext / 1000)),
      windowSeconds: this.window,
    };
    for (const [r, l, who] of results) {
      if (r.consumedPoints > l.points) throw new RateLimitedError(state, Math.max(1, Math.ceil(r.msBeforeNext / 1000)), who);
    }
    return state;
  }
}

/** rate-limiter-flexible rejects with a RateLimiterRes when out of points: treat that as a result. */
async function settle(p: Promise<RateLimiterRes>): Promise<RateLimiterRes> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof RateLimiterRes) return err;
    throw err;
  }
}
