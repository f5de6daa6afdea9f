import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { Authenticator, resolveAuthSettings } from '@agent-forge/auth';
import { DEFAULT_AUDIENCE, DEV_ISSUER, ensureDevSecret, mintDevToken, writeDevToken } from './dev-auth';
import { parseArgs } from './mint-token';

describe('local development credentials', () => {
  it('makes a private signing secret once, reuses it, and prefers a configured one', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'af-dev-'));
    const made = ensureDevSecret(root, {});
    expect(made.origin).toBe('generated');
    expect(made.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(made.env).toEqual({ JWT_SECRET_FILE: path.join(root, '.agent-forge', 'jwt-secret') });
    expect(statSync(made.file as string).mode & 0o777).toBe(0o600);
    expect(ensureDevSecret(root, {})).toMatchObject({ origin: 'existing', secret: made.secret });
    expect(ensureDevSecret(root, { JWT_SECRET: 'x'.repeat(40) })).toMatchObject({ origin: 'JWT_SECRET', env: { JWT_SECRET: 'x'.repeat(40) } });
  });

  it('mints admin tokens the services accept, written privately to .agent-forge/dev-token', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'af-dev-'));
    const { secret, env } = ensureDevSecret(root, {});
    const token = mintDevToken({ secret });
    const file = writeDevToken(root, token);
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const auth = new Authenticator(resolveAuthSettings({ AUTH_MODE: 'on', JWT_SECRET_FILE: env.JWT_SECRET_FILE, JWT_ISSUER: DEV_ISSUER, JWT_AUDIENCE: DEFAULT_AUDIENCE, JWT_JWKS_CACHE_MS: 600_000, JWT_CLOCK_SKEW_S: 30, JWT_TENANT_CLAIM: 'tenant', JWT_ROLES_CLAIM: 'roles' }), null);
    const result = await auth.authenticate({ value: token, source: 'authorization' });
    expect(result).toMatchObject({ ok: true, principal: { tenant: 'default', roles: ['admin'], scope: '*' } });
  });

  it('mint-token: parses its flags and refuses bad ones', () => {
    expect(parseArgs(['--tenant', 'acme', '--roles', 'viewer,operator', '--sub', 'alice', '--ttl', '60'])).toEqual({ tenant: 'acme', roles: ['viewer', 'operator'], sub: 'alice', ttlSeconds: 60, write: false });
    expect(() => parseArgs(['--roles', 'root'])).toThrow(/--roles/);
    expect(() => parseArgs(['--tenant', 'a:b'])).toThrow(/--tenant/);
    expect(() => parseArgs(['--ttl', '-1'])).toThrow(/--ttl/);
    expect(() => parseArgs(['--bogus'])).toThrow(/unknown argument/);
  });

  it('mint-token (built): prints a token signed with JWT_SECRET', () => {
    const script = path.resolve(__dirname, '..', 'dist', 'mint-token.js');
    const secret = 's'.repeat(48);
    const out = execFileSync(process.execPath, [script, '--tenant', 'acme', '--roles', 'viewer'], { env: { ...process.env, JWT_SECRET: secret, JWT_AUDIENCE: 'aud-x' } }).toString().trim();
    expect(jwt.verify(out, secret, { audience: 'aud-x', issuer: DEV_ISSUER })).toMatchObject({ tenant: 'acme', roles: ['viewer'], sub: 'dev-acme' });
    const bad = spawnSync(process.execPath, [script, '--roles', 'root'], { env: { ...process.env, JWT_SECRET: secret } });
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toMatch(/usage/);
  });
});
