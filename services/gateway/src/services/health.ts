import type { HealthResponse } from '@agent-forge/contracts';
import { hostMemoryMb, processMemoryMb } from '@agent-forge/runtime';
import type { GatewayContext } from '../context';

const PING_TIMEOUT_MS = 1_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Does Redis answer PING within a second? */
export async function redisUp(ctx: GatewayContext): Promise<boolean> {
  try {
    return (await withTimeout(ctx.redis.ping(), PING_TIMEOUT_MS)) === 'PONG';
  } catch {
    return false;
  }
}

/** Does the queue connection answer (a count of one queue) within a second? Enqueues go through it. */
export async function queuesUp(ctx: GatewayContext): Promise<boolean> {
  try {
    await withTimeout(ctx.queues.queue('cognate').getJobCounts('waiting'), PING_TIMEOUT_MS);
    return true;
  } catch {
    return false;
  }
}

/** Measured health; always answered (degraded when Redis does not answer). */
export async function health(ctx: GatewayContext): Promise<HealthResponse> {
  const up = await redisUp(ctx);
  let active = 0;
  let queues: HealthResponse['queues'];
  if (up) {
    try {
      [active, queues] = await withTimeout(Promise.all([ctx.redis.scard(ctx.keys.active()), ctx.queues.statsWithGpu()]), PING_TIMEOUT_MS);
    } catch {
      active = 0;
    }
  }
  const mem = hostMemoryMb();
  return {
    status: up ? 'healthy' : 'degraded',
    version: ctx.version,
    uptime_seconds: Math.max(0, Math.round(Date.now() - ctx.startedAt) / 1000),
    active_sessions: active,
    total_memory_mb: mem.total,
    available_memory_mb: mem.available,
    redis: up ? 'up' : 'down',
    process_memory_mb: processMemoryMb(),
    ...(queues ? { queues } : {}),
    auth: ctx.auth.enabled ? 'on' : 'off',
    audit_write_failures: ctx.auditor.counters.audit_write_failures,
  };
}
