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

/** Settings every service reads. */
export const commonEnv = {
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Sentinel, Cluster and TLS settings; see redis.ts. */
  ...redisTopologyEnv,
  AF_KEY_PREFIX: keyPrefix.default('af'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(25_000),
};
