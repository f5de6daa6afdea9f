import type { ApiKeyStore } from '@agent-forge/state';
import { DEFAULT_TENANT } from '@agent-forge/state';
import { hashApiKey, looksLikeApiKey, parseApiKey } from './api-keys';
import type { AuthSettings } from './config';
import { JwtVerifier, TokenError } from './jwt';
import { makePrincipal, type Principal } from './principal';
import { isRole } from './rbac';

/** A credential as presented: where it came from matters only for messages. */
export interface Credential {
  value: string;
  source: 'authorization' | 'x-api-key' | 'query';
}

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: string; message: string };

/** Longest credential we look at (a JWT with many claims fits easily). */
const MAX_CREDENTIAL_LENGTH = 8_192;

/**
 * The credential of a request: `Authorization: Bearer <JWT or API key>`, `X-Api-Key: <key>`, or
 * (WebSocket upgrades only, since browsers cannot set headers there) `?token=`.
 */
export function credentialFrom(headers: Record<string, string | string[] | undefined>, queryToken?: string | null): Credential | null {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 0) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    return { value: m ? (m[1] as string) : '', source: 'authorization' };
  }
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key.length > 0) return { value: key.trim(), source: 'x-api-key' };
  if (queryToken) return { value: queryToken, source: 'query' };
  return null;
}

/** The principal of every request when AUTH_MODE=off. */
export const AUTH_OFF_PRINCIPAL: Principal = makePrincipal({ sub: 'anonymous', tenant: DEFAULT_TENANT, roles: ['admin'], via: 'none' });

/**
 * Turns a credential into a principal. JWTs are verified locally (see JwtVerifier); API keys are
 * looked up in Redis on every request (one script that also records the last use), never cached.
 */
export class Authenticator {
  private readonly jwt: JwtVerifier | null;
  /** One principal per verified (cached) token: no per-request allocation on the hot path. */
  private readonly principals = new WeakMap<object, Principal>();

  constructor(
    readonly settings: AuthSettings,
    private readonly apiKeys: ApiKeyStore | null,
  ) {
    this.jwt = settings.mode === 'on' ? new JwtVerifier(settings) : null;
  }

  get enabled(): boolean {
    return this.settings.mode === 'on';
  }

  async authenticate(credential: Credential | null): Promise<AuthResult> {
    if (!this.enabled) return { ok: true, principal: AUTH_OFF_PRINCIPAL };
    if (!credential || credential.value === '') {
      return {
        ok: false,
        reason: credential ? 'malformed' : 'missing',
        message: credential ? 'the Authorization header must be "Bearer <token>"' : 'no credentials: send Authorization: Bearer <token> or X-Api-Key',
      };
    }
    if (credential.value.length > MAX_CREDENTIAL_LENGTH) return { ok: false, reason: 'malformed', message: 'the credential is too long' };
    if (looksLikeApiKey(credential.value)) return this.apiKey(credential.value);
    if (credential.source === 'x-api-key') return { ok: false, reason: 'malformed', message: 'X-Api-Key does not hold an API key' };
    try {
      const claims = await (this.jwt as JwtVerifier).verify(credential.value);
      let principal = this.principals.get(claims);
      if (!principal) {
        principal = makePrincipal({ sub: claims.sub, tenant: claims.tenant, roles: claims.roles, via: 'jwt' });
        this.principals.set(claims, principal);
      }
      return { ok: true, principal };
    } catch (err) {
      if (err instanceof TokenError) return { ok: false, reason: err.reason, message: err.message };
      throw err;
    }
  }

  private async apiKey(key: string): Promise<AuthResult> {
    const parsed = parseApiKey(key);
    const refused: AuthResult = { ok: false, reason: 'bad_api_key', message: 'the API key is unknown, revoked or expired' };
    if (!parsed || !this.apiKeys) return refused;
    const record = await this.apiKeys.authenticate(parsed.keyId, hashApiKey(key));
    if (!record) return refused;
    return {
      ok: true,
      principal: makePrincipal({ sub: `apikey:${record.key_id}`, tenant: record.tenant, roles: record.roles.filter(isRole), via: 'api_key', keyId: record.key_id }),
    };
  }
}
