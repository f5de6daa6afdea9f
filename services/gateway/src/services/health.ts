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

/** Measured health; always answered (degraded when Redis does not answer). */
export async function health(ctx: GatewayContext): Promise<HealthResponse> {
  const up = await redisUp(ctx);
  let active = 0;
  if (up) {
    try {
      active = await withTimeout(ctx.redis.scard(ctx.keys.active()), PING_TIMEOUT_MS);
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
    auth: ctx.auth.enabled ? 'on' : 'off',
    audit_write_failures: ctx.auditor.counters.audit_write_failures,
  };
}
