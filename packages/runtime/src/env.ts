import { z } from 'zod';
import { redisTopologyEnv } from './redis';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parse the process environment once at start-up. A bad value stops the process with one message
 * naming every offending variable, instead of failing later somewhere deep.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
}

/** Env booleans: "1/true/yes/on" and "0/false/no/off", case-insensitive. */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off']))
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

export const envPort = z.coerce.number().int().min(0).max(65_535);

/** Keys of ours live under this prefix; braces are reserved for Redis Cluster hash tags. */
export const keyPrefix = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9:_.-]+$/, 'letters, digits and : _ . - only (no braces)');

/** Retention of finished work, read by the services that write it (gateway and worker). */
export const retentionEnv = {
  /** A finished session's keys (state, events, agents, checkpoints) expire this long after it ends. */
  SESSION_RETENTION_SECONDS: z.coerce.number().int().min(1).max(10 * 365 * 24 * 3600).default(7 * 24 * 3600),
  /** History records kept (they outlive the sessions); the oldest beyond this are trimmed. */
  HISTORY_MAX_ENTRIES: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** Finished BullMQ jobs are kept this long (so a duplicate add within it is recognised), then removed. */
  JOB_RETENTION_SECONDS: z.coerce.number().int().min(1).max(30 * 24 * 3600).default(24 * 3600),
};

/** Settings every service reads. */
export const commonEnv = {
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Sentinel, Cluster and TLS settings; see redis.ts. */
  ...redisTopologyEnv,
  AF_KEY_PREFIX: keyPrefix.default('af'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(25_000),
};
