import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mintToken } from '@agent-forge/auth';

/**
 * Local development credentials: a signing secret kept in `.agent-forge/jwt-secret` (git-ignored,
 * mode 0600), made once when no JWT_SECRET / JWT_SECRET_FILE is configured, and admin tokens
 * minted with it (`.agent-forge/dev-token`). Production tokens come from the identity provider.
 */
export const DEV_TENANT = 'default';
export const DEFAULT_AUDIENCE = 'agent-forge';
export const DEV_ISSUER = 'agent-forge-dev';

export function stateDir(root: string): string {
  return path.join(root, '.agent-forge');
}
export function secretFile(root: string): string {
  return path.join(stateDir(root), 'jwt-secret');
}
export function tokenFile(root: string): string {
  return path.join(stateDir(root), 'dev-token');
}

function writePrivate(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export interface SecretSource {
  /** What the services get: a file to read the secret from (the secret itself never goes into env when we made it). */
  env: Record<string, string>;
  secret: string;
  /** Where it came from, for the start banner. */
  origin: 'JWT_SECRET' | 'JWT_SECRET_FILE' | 'generated' | 'existing';
  file: string | null;
}

/** The signing secret to use: the configured one, else the local one (made now if missing). */
export function ensureDevSecret(root: string, env: NodeJS.ProcessEnv = process.env): SecretSource {
  if (env.JWT_SECRET) return { env: { JWT_SECRET: env.JWT_SECRET }, secret: env.JWT_SECRET, origin: 'JWT_SECRET', file: null };
  if (env.JWT_SECRET_FILE) {
    const secret = readFileSync(env.JWT_SECRET_FILE, 'utf8').trim();
    return { env: { JWT_SECRET_FILE: env.JWT_SECRET_FILE }, secret, origin: 'JWT_SECRET_FILE', file: env.JWT_SECRET_FILE };
  }
  const file = secretFile(root);
  let origin: SecretSource['origin'] = 'existing';
  if (!existsSync(file)) {
    writePrivate(file, `${randomBytes(32).toString('hex')}\n`);
    origin = 'generated';
  }
  return { env: { JWT_SECRET_FILE: file }, secret: readFileSync(file, 'utf8').trim(), origin, file };
}

export interface DevTokenOptions {
  secret: string;
  tenant?: string;
  roles?: string[];
  sub?: string;
  ttlSeconds?: number;
  audience?: string;
  issuer?: string | null;
}

export function mintDevToken(o: DevTokenOptions): string {
  return mintToken({
    secret: o.secret,
    sub: o.sub ?? `dev-${o.tenant ?? DEV_TENANT}`,
    tenant: o.tenant ?? DEV_TENANT,
    roles: o.roles ?? ['admin'],
    audience: o.audience ?? DEFAULT_AUDIENCE,
    issuer: o.issuer === undefined ? DEV_ISSUER : o.issuer,
    ttlSeconds: o.ttlSeconds ?? 12 * 3600,
  });
}

export function writeDevToken(root: string, token: string): string {
  const file = tokenFile(root);
  writePrivate(file, `${token}\n`);
  return file;
}
