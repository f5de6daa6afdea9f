import { z } from 'zod';
import { commonEnv, envPort, parseEnv } from '@agent-forge/runtime';

const intervalMs = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * Realtime settings, parsed once at start-up. The upper bounds of the two tick intervals are the
 * contract's promises (a `metrics` frame at least every second, a `dashboard_update` at least every
 * 2 s), so no configuration can break them; the lower bounds keep a typo from busy-looping.
 */
export const RealtimeEnv = z.object({
  ...commonEnv,
  REALTIME_HOST: z.string().min(1).default('127.0.0.1'),
  REALTIME_PORT: envPort.default(8082),
  METRICS_INTERVAL_MS: intervalMs(50, 1_000, 1_000),
  DASHBOARD_INTERVAL_MS: intervalMs(50, 2_000, 2_000),
  /** Largest inbound frame; a bigger one closes the socket with 1009 (Message Too Big). */
  WS_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(128).max(16 * 1024 * 1024).default(65_536),
  /** Protocol-level ping period; a socket that misses one full period is terminated. */
  WS_HEARTBEAT_MS: intervalMs(100, 600_000, 25_000),
});
export type RealtimeConfig = z.infer<typeof RealtimeEnv>;

/** What the server itself reads; tests pass just this. */
export type RealtimeServerConfig = Pick<
  RealtimeConfig,
  'METRICS_INTERVAL_MS' | 'DASHBOARD_INTERVAL_MS' | 'WS_MAX_PAYLOAD_BYTES' | 'WS_HEARTBEAT_MS'
>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RealtimeConfig {
  return parseEnv(RealtimeEnv, env);
}
