import jwt, { type Algorithm, type JwtPayload } from 'jsonwebtoken';
import { JwksClient } from 'jwks-rsa';
import { isValidTenant } from '@agent-forge/state';
import { ASYMMETRIC_ALGORITHMS, HS_ALGORITHMS, type AuthSettings } from './config';
import { isRole, type Role } from './rbac';

export interface VerifiedClaims {
  sub: string;
  tenant: string;
  roles: Role[];
  /** Seconds since epoch. */
  exp: number;
}

/** Why a token was refused; the message is safe to show the client (it names no key material). */
export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(
    readonly reason: 'malformed' | 'expired' | 'not_yet_valid' | 'bad_signature' | 'bad_audience' | 'bad_issuer' | 'bad_claims' | 'unsupported_algorithm' | 'unknown_key',
    message: string,
  ) {
    super(message);
  }
}

/** Read a claim by dotted path (`realm_access.roles`). */
function claim(payload: JwtPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export function rolesFromClaim(value: unknown): Role[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  return [...new Set(list.filter(isRole))];
}

/**
 * Verified tokens are kept in process (LRU, keyed by the token string) so the same bearer token is
 * not re-verified on every request. An entry is good until the earlier of the token's own `exp`
 * (plus the clock skew, as verification allows) and JWT_JWKS_CACHE_MS after it was verified: a JWT
 * cannot be revoked, so the only thing that can make a once-valid token invalid before its `exp`
 * is its signing key being withdrawn from the JWKS, and that takes effect after the key cache's
 * age anyway — a cached verification never outlives the key it was checked with. API keys are
 * never cached (see Authenticator), so their revocation still applies on the next request.
 */
const CACHE_MAX = 10_000;

interface CachedClaims {
  claims: VerifiedClaims;
  /** ms since epoch after which the token must be verified again. */
  until: number;
}

/**
 * Verifies bearer JWTs: HS256 with the shared secret, RS256/ES256 with the configured public key or
 * the JWKS endpoint's key named by `kid` (jwks-rsa caches keys and refetches on an unknown `kid`,
 * so a rotated key works as soon as the provider publishes it). The algorithm family picks the
 * key, and only that family's algorithms are accepted, so a public key can never be used as an
 * HMAC secret (the classic algorithm-confusion attack). `exp` is required; `nbf`, `iss` and `aud`
 * are checked with JWT_CLOCK_SKEW_S of leeway.
 */
export class JwtVerifier {
  private readonly jwks: JwksClient | null;
  /** Insertion order = recency (a hit is moved to the end), so the first key is the least recently used. */
  private readonly cache = new Map<string, CachedClaims>();

  constructor(private readonly settings: AuthSettings) {
    this.jwks = settings.jwksUrl
      ? new JwksClient({
          jwksUri: settings.jwksUrl,
          cache: true,
          cacheMaxAge: settings.jwksCacheMs,
          rateLimit: true,
          jwksRequestsPerMinute: 10,
          timeout: 5_000,
        })
      : null;
  }

  async verify(token: string): Promise<VerifiedClaims> {
    const now = Date.now();
    const cached = this.cache.get(token);
    if (cached) {
      this.cache.delete(token);
      if (cached.until > now) {
        this.cache.set(token, cached);
        return cached.claims;
      }
    }
    const claims = await this.verifyUncached(token);
    if (this.cache.size >= CACHE_MAX) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(token, { claims, until: Math.min((claims.exp + this.settings.clockSkewS) * 1000, now + this.settings.jwksCacheMs) });
    return claims;
  }

  private async verifyUncached(token: string): Promise<VerifiedClaims> {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === 'string') throw new TokenError('malformed', 'the token is not a JWT');
    const alg = decoded.header.alg;
    let key: string;
    let algorithms: Algorithm[];
    if ((HS_ALGORITHMS as readonly string[]).includes(alg)) {
      if (!this.settings.secret) throw new TokenError('unsupported_algorithm', `${alg} tokens are not accepted here`);
      key = this.settings.secret;
      algorithms = [...HS_ALGORITHMS];
    } else if ((ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      algorithms = [...ASYMMETRIC_ALGORITHMS];
      if (this.jwks && (decoded.header.kid || !this.settings.publicKey)) {
        try {
          key = (await this.jwks.getSigningKey(decoded.header.kid)).getPublicKey();
        } catch {
          throw new TokenError('unknown_key', 'the token was signed with a key the identity provider does not publish');
        }
      } else if (this.settings.publicKey) {
        key = this.settings.publicKey;
      } else {
        throw new TokenError('unsupported_algorithm', `${alg} tokens are not accepted here`);
      }
    } else {
      throw new TokenError('unsupported_algorithm', `tokens signed with ${alg} are not accepted`);
    }
    let payload: JwtPayload;
    try {
      payload = jwt.verify(token, key, {
        algorithms,
        audience: this.settings.audience,
        ...(this.settings.issuer ? { issuer: this.settings.issuer } : {}),
        clockTolerance: this.settings.clockSkewS,
        complete: false,
      }) as JwtPayload;
    } catch (err) {
      throw mapJwtError(err);
    }
    if (typeof payload.exp !== 'number') throw new TokenError('bad_claims', 'the token has no exp claim');
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 256) {
      throw new TokenError('bad_claims', 'the token has no valid sub claim');
    }
    const tenant = claim(payload, this.settings.tenantClaim);
    if (!isValidTenant(tenant)) throw new TokenError('bad_claims', `the token has no valid ${this.settings.tenantClaim} claim`);
    return { sub: payload.sub, tenant, roles: rolesFromClaim(claim(payload, this.settings.rolesClaim)), exp: payload.exp };
  }
}

function mapJwtError(err: unknown): TokenError {
  if (err instanceof jwt.TokenExpiredError) return new TokenError('expired', 'the token has expired');
  if (err instanceof jwt.NotBeforeError) return new TokenError('not_yet_valid', 'the token is not valid yet');
  const message = err instanceof Error ? err.message : '';
  if (message.includes('audience')) return new TokenError('bad_audience', 'the token is not meant for this service (aud)');
  if (message.includes('issuer')) return new TokenError('bad_issuer', 'the token was not issued by the configured issuer (iss)');
  if (message.includes('signature')) return new TokenError('bad_signature', 'the token signature is invalid');
  if (message.includes('algorithm')) return new TokenError('unsupported_algorithm', 'the token algorithm is not accepted');
  return new TokenError('malformed', 'the token is malformed');
}

export interface MintOptions {
  secret: string;
  sub: string;
  tenant: string;
  roles: readonly string[];
  audience: string;
  issuer?: string | null;
  /** Lifetime in seconds (default 8 h). */
  ttlSeconds?: number;
  /** Extra claims (tests use it for odd shapes). */
  extra?: Record<string, unknown>;
  /** `nbf` offset in seconds from now (tests). */
  notBeforeSeconds?: number;
}

/** An HS256 token for development and tests (production tokens come from the identity provider). */
export function mintToken(o: MintOptions): string {
  return jwt.sign({ tenant: o.tenant, roles: [...o.roles], ...o.extra }, o.secret, {
    algorithm: 'HS256',
    subject: o.sub,
    audience: o.audience,
    ...(o.issuer ? { issuer: o.issuer } : {}),
    expiresIn: o.ttlSeconds ?? 8 * 3600,
    ...(o.notBeforeSeconds !== undefined ? { notBefore: o.notBeforeSeconds } : {}),
  });
}
