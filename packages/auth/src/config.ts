import { readFileSync } from 'node:fs';
import { ConfigError } from '@agent-forge/runtime';
import { z } from 'zod';

/** An env value that may be unset or empty (both mean "not configured"). */
const optionalString = z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.string().optional());

/**
 * The authentication settings every service that authenticates reads (gateway and realtime), so
 * both judge a credential the same way. Secrets come from the environment or, better, from files
 * (`*_FILE`, e.g. mounted Kubernetes secrets); they are never logged.
 */
export const authEnv = {
  /** `on` (default): every API call needs a credential. `off`: development only, loudly logged. */
  AUTH_MODE: z.enum(['on', 'off']).default('on'),
  /** HS256 shared secret (at least 32 characters), or a file holding it. */
  JWT_SECRET: optionalString,
  JWT_SECRET_FILE: optionalString,
  /** RS256/ES256 public key (PEM), or a file holding it. */
  JWT_PUBLIC_KEY: optionalString,
  JWT_PUBLIC_KEY_FILE: optionalString,
  /** RS256/ES256 keys from the identity provider's JWKS endpoint, cached, refetched for an unknown `kid` (rotation). */
  JWT_JWKS_URL: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.url().optional()),
  JWT_JWKS_CACHE_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(600_000),
  /** Required `iss` (unset: not checked). */
  JWT_ISSUER: optionalString,
  /** Required `aud`. */
  JWT_AUDIENCE: z.string().min(1).default('agent-forge'),
  /** Leeway for `exp` and `nbf`, seconds. */
  JWT_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(600).default(30),
  /** Claim holding the tenant (dotted path for nested claims). */
  JWT_TENANT_CLAIM: z.string().min(1).default('tenant'),
  /** Claim holding the roles: an array, or a space/comma separated string (dotted path, e.g. `realm_access.roles`). */
  JWT_ROLES_CLAIM: z.string().min(1).default('roles'),
};

export type AuthEnv = z.infer<z.ZodObject<typeof authEnv>>;

/** The audit log's bounds (gateway and realtime both append to it). */
export const auditEnv = {
  /** Entries older than this are trimmed. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  /** And a stream never holds more than this many. */
  AUDIT_MAX_ENTRIES: z.coerce.number().int().min(1_000).max(100_000_000).default(1_000_000),
};

/** HTTPS served directly: PEM certificate chain and private key files; both or neither. */
export const tlsEnv = {
  TLS_CERT: optionalString,
  TLS_KEY: optionalString,
};

export const HS_ALGORITHMS = ['HS256'] as const;
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256'] as const;
export const MIN_SECRET_LENGTH = 32;

/** Resolved settings: files read, key sources checked. */
export interface AuthSettings {
  mode: 'on' | 'off';
  secret: string | null;
  publicKey: string | null;
  jwksUrl: string | null;
  jwksCacheMs: number;
  issuer: string | null;
  audience: string;
  clockSkewS: number;
  tenantClaim: string;
  rolesClaim: string;
}

function readSecretFile(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    // The path may be shown; the content never is.
    throw new ConfigError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Read secret files and check that auth can work; throws ConfigError naming the variable. */
export function resolveAuthSettings(env: AuthEnv): AuthSettings {
  if (env.JWT_SECRET && env.JWT_SECRET_FILE) throw new ConfigError('set JWT_SECRET or JWT_SECRET_FILE, not both');
  if (env.JWT_PUBLIC_KEY && env.JWT_PUBLIC_KEY_FILE) throw new ConfigError('set JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE, not both');
  const secret = env.JWT_SECRET ?? (env.JWT_SECRET_FILE ? readSecretFile('JWT_SECRET_FILE', env.JWT_SECRET_FILE) : null);
  const publicKey = env.JWT_PUBLIC_KEY ?? (env.JWT_PUBLIC_KEY_FILE ? readSecretFile('JWT_PUBLIC_KEY_FILE', env.JWT_PUBLIC_KEY_FILE) : null);
  if (secret !== null && secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`JWT_SECRET: must be at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`);
  }
  if (publicKey !== null && !publicKey.includes('-----BEGIN')) throw new ConfigError('JWT_PUBLIC_KEY: expected a PEM public key');
  const settings: AuthSettings = {
    mode: env.AUTH_MODE,
    secret,
    publicKey,
    jwksUrl: env.JWT_JWKS_URL ?? null,
    jwksCacheMs: env.JWT_JWKS_CACHE_MS,
    issuer: env.JWT_ISSUER ?? null,
    audience: env.JWT_AUDIENCE,
    clockSkewS: env.JWT_CLOCK_SKEW_S,
    tenantClaim: env.JWT_TENANT_CLAIM,
    rolesClaim: env.JWT_ROLES_CLAIM,
  };
  if (settings.mode === 'on' && !secret && !publicKey && !settings.jwksUrl) {
    throw new ConfigError(
      'AUTH_MODE is on (the default) but no token verification key is configured: set JWT_SECRET or JWT_SECRET_FILE (HS256), JWT_PUBLIC_KEY(_FILE) or JWT_JWKS_URL (RS256/ES256) — or AUTH_MODE=off for local development only',
    );
  }
  return settings;
}
