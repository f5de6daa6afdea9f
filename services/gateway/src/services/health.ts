import type { HealthResponse } from '@agent-forge/contracts';
import { hostMemoryMb, pingWithin, processMemoryMb, withDeadline } from '@agent-forge/runtime';
import type { GatewayContext } from '../context';

const PING_TIMEOUT_MS = 1_000;

/** Does Redis answer PING within a second? */
export function redisUp(ctx: GatewayContext): Promise<boolean> {
  return pingWithin(ctx.redis, PING_TIMEOUT_MS);
}

/** Does the queue connection answer (a count of one queue) within a second? Enqueues go through it. */
export async function queuesUp(ctx: GatewayContext): Promise<boolean> {
  try {
    await withDeadline(ctx.queues.queue('cognate').getJobCounts('waiting'), PING_TIMEOUT_MS, 'queue connection');
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
      [active, queues] = await withDeadline(Promise.all([ctx.redis.scard(ctx.keys.active()), ctx.queues.statsWithGpu()]), PING_TIMEOUT_MS, 'health figures');
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
