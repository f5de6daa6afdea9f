import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { ConfigError } from '@agent-forge/runtime';
import { z } from 'zod';
import { authEnv, resolveAuthSettings, type AuthSettings } from './config';
import { JwtVerifier, TokenError, rolesFromClaim } from './jwt';
import { credentialFrom } from './authenticator';

const env = (vars: Record<string, string>) => z.object(authEnv).parse(vars);
const settings = (vars: Record<string, string>): AuthSettings => resolveAuthSettings(env({ JWT_AUDIENCE: 'af', ...vars }));
const SECRET = randomBytes(32).toString('hex');
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'u1', tenant: 'acme', roles: ['operator'], aud: 'af', exp: now() + 600, ...extra });

async function reason(v: JwtVerifier, token: string): Promise<string> {
  try {
    await v.verify(token);
    return 'accepted';
  } catch (err) {
    if (err instanceof TokenError) return err.reason;
    throw err;
  }
}

describe('HS256', () => {
  const v = new JwtVerifier(settings({ JWT_SECRET: SECRET, JWT_ISSUER: 'idp', JWT_CLOCK_SKEW_S: '30' }));
  const sign = (c: Record<string, unknown>, secret = SECRET) =>
    jwt.sign(Object.fromEntries(Object.entries({ iss: 'idp', ...c }).filter(([, v]) => v !== undefined)), secret, { algorithm: 'HS256', noTimestamp: true });

  it('gives sub, tenant and roles', async () => {
    expect(await v.verify(sign(claims()))).toMatchObject({ sub: 'u1', tenant: 'acme', roles: ['operator'] });
  });

  it('checks exp, nbf, iss and aud with the clock skew', async () => {
    expect(await reason(v, sign(claims({ exp: now() - 10 })))).toBe('accepted'); // within 30 s of skew
    expect(await reason(v, sign(claims({ exp: now() - 60 })))).toBe('expired');
    expect(await reason(v, sign(claims({ nbf: now() + 10 })))).toBe('accepted');
    expect(await reason(v, sign(claims({ nbf: now() + 120 })))).toBe('not_yet_valid');
    expect(await reason(v, sign(claims({ aud: 'other' })))).toBe('bad_audience');
    expect(await reason(v, sign(claims({ iss: 'someone' })))).toBe('bad_issuer');
    expect(await reason(v, sign(claims(), 'y'.repeat(64)))).toBe('bad_signature');
    expect(await reason(v, sign(claims({ exp: undefined })))).toBe('bad_claims');
    expect(await reason(v, sign(claims({ tenant: 'a:b' })))).toBe('bad_claims');
    expect(await reason(v, sign(claims({ tenant: undefined })))).toBe('bad_claims');
    expect(await reason(v, 'not.a.jwt')).toBe('malformed');
  });

  it('refuses alg none and algorithms it was not configured for', async () => {
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
    expect(await reason(v, none)).toBe('unsupported_algorithm');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(await reason(v, jwt.sign(claims(), privateKey, { algorithm: 'RS256' }))).toBe('unsupported_algorithm');
  });

  it('does not let a cached token outlive its exp', async () => {
    const token = sign(claims({ exp: now() - 28 }));
    expect(await reason(v, token)).toBe('accepted');
    await new Promise((r) => setTimeout(r, 2_100));
    expect(await reason(v, token)).toBe('expired');
  });
});

describe('RS256 / ES256 with a public key', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('verifies RS256 from JWT_PUBLIC_KEY_FILE and ES256 from JWT_PUBLIC_KEY', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'af-auth-'));
    const file = path.join(dir, 'key.pem');
    writeFileSync(file, rsaPem);
    const v = new JwtVerifier(settings({ JWT_PUBLIC_KEY_FILE: file }));
    expect(await v.verify(jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256' }))).toMatchObject({ tenant: 'acme' });
    const e = new JwtVerifier(settings({ JWT_PUBLIC_KEY: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString() }));
    expect(await e.verify(jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256' }))).toMatchObject({ sub: 'u1' });
  });

  it('is immune to algorithm confusion (HS256 signed with the public key as the secret)', async () => {
    const v = new JwtVerifier(settings({ JWT_PUBLIC_KEY: rsaPem }));
    const forged = jwt.sign(claims({ roles: ['admin'] }), rsaPem, { algorithm: 'HS256' } as jwt.SignOptions);
    expect(await reason(v, forged)).toBe('unsupported_algorithm');
  });
});

describe('JWKS', () => {
  const first = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const second = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let published: Array<Record<string, unknown>> = [];
  let fetches = 0;
  const server = http.createServer((req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published }));
  });
  const jwk = (key: typeof first.publicKey, kid: string, alg: string) => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('verifies with the key named by kid, caches it, and picks up a rotated key', async () => {
    published = [jwk(first.publicKey, 'k1', 'RS256')];
    const v = new JwtVerifier(settings({ JWT_JWKS_URL: url }));
    expect(await v.verify(jwt.sign(claims(), first.privateKey, { algorithm: 'RS256', keyid: 'k1' }))).toMatchObject({ tenant: 'acme' });
    expect(await v.verify(jwt.sign(claims({ sub: 'u2' }), first.privateKey, { algorithm: 'RS256', keyid: 'k1' }))).toMatchObject({ sub: 'u2' });
    expect(fetches).toBe(1); // cached
    // The provider rotates: new key k2 published; tokens signed with it verify at once.
    published = [jwk(first.publicKey, 'k1', 'RS256'), jwk(second.publicKey, 'k2', 'ES256')];
    expect(await v.verify(jwt.sign(claims({ sub: 'u3' }), second.privateKey, { algorithm: 'ES256', keyid: 'k2' }))).toMatchObject({ sub: 'u3' });
    expect(fetches).toBe(2);
    // A kid nobody publishes is refused.
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(await reason(v, jwt.sign(claims(), stranger.privateKey, { algorithm: 'RS256', keyid: 'k9' }))).toBe('unknown_key');
    // A token signed by the right kid but the wrong key fails its signature.
    expect(await reason(v, jwt.sign(claims(), stranger.privateKey, { algorithm: 'RS256', keyid: 'k1' }))).toBe('bad_signature');
  });

  it('stops accepting a verified token once its key is withdrawn and the key cache has aged (no verification outlives its key)', async () => {
    published = [jwk(first.publicKey, 'k1', 'RS256')];
    const v = new JwtVerifier(settings({ JWT_JWKS_URL: url, JWT_JWKS_CACHE_MS: '1000' }));
    const token = jwt.sign(claims(), first.privateKey, { algorithm: 'RS256', keyid: 'k1' });
    expect(await reason(v, token)).toBe('accepted');
    published = [jwk(second.publicKey, 'k2', 'ES256')];
    expect(await reason(v, token)).toBe('accepted'); // within the key cache's age: the same answer, not re-verified
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await reason(v, token)).toBe('unknown_key');
  });
});

describe('settings and credentials', () => {
  it('refuses to start with auth on and no key, a short secret, or both a secret and its file', () => {
    expect(() => settings({})).toThrow(ConfigError);
    expect(() => settings({})).toThrow(/AUTH_MODE=off/);
    expect(() => settings({ JWT_SECRET: 'short' })).toThrow(/at least 32/);
    expect(() => settings({ JWT_SECRET: SECRET, JWT_SECRET_FILE: '/x' })).toThrow(/not both/);
    expect(() => settings({ JWT_SECRET_FILE: '/nonexistent/secret' })).toThrow(/cannot read \/nonexistent\/secret/);
    expect(settings({ AUTH_MODE: 'off' }).mode).toBe('off');
  });

  it('reads roles from arrays, strings and nested claims; unknown roles are dropped', () => {
    expect(rolesFromClaim(['viewer', 'root', 'admin'])).toEqual(['viewer', 'admin']);
    expect(rolesFromClaim('operator viewer,admin')).toEqual(['operator', 'viewer', 'admin']);
    expect(rolesFromClaim(42)).toEqual([]);
  });

  it('finds the credential in Authorization, X-Api-Key or ?token=', () => {
    expect(credentialFrom({ authorization: 'Bearer abc' })).toEqual({ value: 'abc', source: 'authorization' });
    expect(credentialFrom({ authorization: 'Basic abc' })).toEqual({ value: '', source: 'authorization' });
    expect(credentialFrom({ 'x-api-key': 'afk_x' })).toEqual({ value: 'afk_x', source: 'x-api-key' });
    expect(credentialFrom({}, 'tok')).toEqual({ value: 'tok', source: 'query' });
    expect(credentialFrom({})).toBeNull();
  });
});
