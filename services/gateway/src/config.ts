import { auditEnv, authEnv, tlsEnv } from '@agent-forge/auth';
import { phaseJobEnv } from '@agent-forge/engine';
import { commonEnv, envBoolean, envPort, parseEnv, retentionEnv } from '@agent-forge/runtime';
import { z } from 'zod';

/** Comma-separated CORS origins; empty = no CORS headers at all. */
const corsOrigins = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o.length > 0),
  )
  .pipe(z.array(z.union([z.literal('*'), z.url()])));

/** Gateway settings, parsed once at start-up (a bad value stops the process naming the variable). */
export const GatewayEnv = z.object({
  ...commonEnv,
  ...retentionEnv,
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: envPort.default(8081),
  /** Largest accepted request body; a bigger one is answered 413 PAYLOAD_TOO_LARGE. */
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1_024).max(64 * 1024 * 1024).default(1_048_576),
  /** Retry defaults and GPU_PHASES of the phase jobs the gateway enqueues (shared with the worker). */
  ...phaseJobEnv,
  CORS_ORIGINS: corsOrigins,
  /** bull-board (read-only) at /admin/queues for admins; off by default. */
  QUEUE_DASHBOARD: envBoolean.default(false),
  /** Authentication (JWT, API keys): shared with the realtime service. */
  ...authEnv,
  /**
   * Which proxies to trust for the client address (X-Forwarded-For): empty = none (the TCP peer is
   * the client), a number of hops, or a comma list of addresses/CIDRs (Express `trust proxy`).
   */
  TRUST_PROXY: z.string().default(''),
  /** Rate limits (rate-limiter-flexible on Redis, so they hold across replicas). */
  RATE_LIMIT_ENABLED: envBoolean.default(true),
  RATE_LIMIT_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Reads per window per subject (token `sub` or API key) and per client IP. */
  RATE_LIMIT_READ_PER_SUBJECT: z.coerce.number().int().min(1).default(1_200),
  RATE_LIMIT_READ_PER_IP: z.coerce.number().int().min(1).default(2_400),
  /** Control-plane writes (start, control, checkpoints, presets, API keys) per window per subject and per IP. */
  RATE_LIMIT_WRITE_PER_SUBJECT: z.coerce.number().int().min(1).default(120),
  RATE_LIMIT_WRITE_PER_IP: z.coerce.number().int().min(1).default(240),
  /** Audit log bounds. */
  ...auditEnv,
  /** HTTPS: both set = serve TLS directly. */
  ...tlsEnv,
}).refine((c) => (c.TLS_CERT === undefined) === (c.TLS_KEY === undefined), { message: 'set both TLS_CERT and TLS_KEY, or neither', path: ['TLS_CERT'] });
export type GatewayConfig = z.infer<typeof GatewayEnv>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseEnv(GatewayEnv, env);
}

/** Where checkpoint URIs point: shared with the worker, which saves checkpoints too. */
export { publicRedisUri } from '@agent-forge/runtime';
