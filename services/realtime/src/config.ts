import { z } from 'zod';
import { auditEnv, authEnv, tlsEnv } from '@agent-forge/auth';
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
  /**
   * Protocol-level ping period; a socket that misses one full period is terminated. 25 s stays
   * below the common load-balancer idle timeouts (AWS ALB/nginx 60 s, GCP 30 s), so an idle but
   * healthy socket is never cut by the proxy.
   */
  WS_HEARTBEAT_MS: intervalMs(100, 600_000, 25_000),
  /**
   * Per-socket send buffer bound in bytes (what ws and the kernel socket have not flushed yet).
   * A client that falls behind past it is closed with 4408 "slow consumer" (it can resume with
   * `last_event_id`); the replica never buffers more than this per socket (plus one frame).
   */
  WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(16 * 1024).max(256 * 1024 * 1024).default(1024 * 1024),
  /** Per-socket send buffer bound in frames (not yet flushed); past it, as for bytes: 4408. */
  WS_MAX_BUFFERED_MESSAGES: z.coerce.number().int().min(16).max(1_000_000).default(4_096),
  /**
   * Open sockets per client address (the TCP peer: behind a proxy, that is the proxy). The next
   * one is accepted and closed at once with 4429 "too many connections".
   */
  WS_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /**
   * Open sockets per tenant across ALL realtime replicas (leases in Redis). The next one is
   * accepted and closed at once with 4429 "too many connections for this tenant".
   */
  WS_MAX_CONNECTIONS_PER_TENANT: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /**
   * How long a replica's count of a connection lasts without renewal (it renews every third of
   * this): after a replica dies, its connections stop counting against their tenants this late.
   */
  WS_CONNECTION_LEASE_MS: intervalMs(1_000, 3_600_000, 60_000),
  /**
   * Inbound frames a socket may send per second. Past it the frame is dropped with an `error`
   * event RATE_LIMITED; at twice the rate within the same second the socket is closed with 4429.
   */
  WS_MAX_FRAMES_PER_SECOND: z.coerce.number().int().min(1).max(100_000).default(50),
  /**
   * Period of the subscription canary: the replica publishes a canary on the events channel and
   * must hear it back on its own subscription; after 3 silent periods it reports not ready on
   * /ready and resubscribes (see event-router.ts for why).
   */
  CANARY_INTERVAL_MS: intervalMs(20, 60_000, 5_000),
  /** Authentication on upgrade: the same settings (and code) as the gateway's. */
  ...authEnv,
  ...auditEnv,
  ...tlsEnv,
}).refine((c) => (c.TLS_CERT === undefined) === (c.TLS_KEY === undefined), { message: 'set both TLS_CERT and TLS_KEY, or neither', path: ['TLS_CERT'] });
export type RealtimeConfig = z.infer<typeof RealtimeEnv>;

/** What the server itself reads; tests pass just this. */
export type RealtimeServerConfig = Pick<
  RealtimeConfig,
  | 'METRICS_INTERVAL_MS'
  | 'DASHBOARD_INTERVAL_MS'
  | 'WS_MAX_PAYLOAD_BYTES'
  | 'WS_HEARTBEAT_MS'
  | 'WS_MAX_BUFFERED_BYTES'
  | 'WS_MAX_BUFFERED_MESSAGES'
  | 'WS_MAX_CONNECTIONS_PER_IP'
  | 'WS_MAX_CONNECTIONS_PER_TENANT'
  | 'WS_CONNECTION_LEASE_MS'
  | 'WS_MAX_FRAMES_PER_SECOND'
  | 'CANARY_INTERVAL_MS'
>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RealtimeConfig {
  return parseEnv(RealtimeEnv, env);
}
