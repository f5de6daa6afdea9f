import { createHash } from 'node:crypto';
import request from 'supertest';
import { metricsRegistry } from '@agent-forge/runtime';
import { expectError } from './test-expect';
import { createTestGateway } from './test-support';

/**
 * Tenant isolation, API keys, rate limits and the audit log, each across two gateway replicas
 * (own Redis connections, one Redis): nothing here may depend on which replica answers.
 */
const P = '/api/v1/pipeline';
const gw = createTestGateway('gw-sec');
afterAll(() => gw.close());
const bearer = (roles: string[], tenant: string) => `Bearer ${gw.token(roles, tenant)}`;
const acmeOp = bearer(['operator'], 'acme');
const globexOp = bearer(['operator'], 'globex');
const admin = bearer(['admin'], 'acme');

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(v).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('tenant isolation', () => {
  const a = gw.makeReplica();
  const b = gw.makeReplica();
  let session: string;
  let checkpoint: string;

  beforeAll(async () => {
    session = (await request(a.app).post(`${P}/start`).set('authorization', acmeOp).send({ phases: ['cognate'] }).expect(200)).body.session_id;
    checkpoint = (await request(a.app).post(`${P}/checkpoint/save`).set('authorization', acmeOp).send({ session_id: session }).expect(200)).body.checkpoint_id;
    await request(a.app).post(`${P}/preset/save`).set('authorization', acmeOp).send({ preset_name: 'acme-only', config: { phases: ['cognate'] } }).expect(200);
  });

  it("answers 404 for every read and write of another tenant's session, checkpoint and preset (on either replica)", async () => {
    for (const app of [a.app, b.app]) {
      expectError(await request(app).get(`${P}/status/${session}`).set('authorization', globexOp), 404, 'SESSION_NOT_FOUND');
      expectError(await request(app).get(`${P}/swarm/${session}`).set('authorization', globexOp), 404, 'SESSION_NOT_FOUND');
      expectError(await request(app).post(`${P}/quality-gates/${session}`).set('authorization', globexOp), 404, 'SESSION_NOT_FOUND');
      expectError(await request(app).get(`${P}/checkpoints/${session}`).set('authorization', globexOp), 404, 'SESSION_NOT_FOUND');
      expectError(await request(app).post(`${P}/control`).set('authorization', globexOp).send({ session_id: session, action: 'cancel' }), 404, 'SESSION_NOT_FOUND');
      expectError(await request(app).post(`${P}/checkpoint/save`).set('authorization', globexOp).send({ session_id: session }), 404, 'SESSION_NOT_FOUND');
      expectError(await request(app).post(`${P}/checkpoint/load/${checkpoint}`).set('authorization', globexOp), 404, 'CHECKPOINT_NOT_FOUND');
      expectError(await request(app).get(`${P}/preset/acme-only`).set('authorization', globexOp), 404, 'PRESET_NOT_FOUND');
      expect((await request(app).get(`${P}/presets`).set('authorization', globexOp).expect(200)).body).not.toContain('acme-only');
      expect((await request(app).get(`${P}/history?limit=100`).set('authorization', globexOp).expect(200)).body.map((h: { session_id: string }) => h.session_id)).not.toContain(session);
      // A start with acme's saved preset is an unknown preset for globex.
      expectError(await request(app).post(`${P}/start`).set('authorization', globexOp).send({ preset: 'acme-only' }), 404, 'PRESET_NOT_FOUND');
    }
    // …and the session was not touched.
    expect((await request(a.app).get(`${P}/status/${session}`).set('authorization', acmeOp).expect(200)).body.status).toBe('initializing');
  });

  it('keeps the indexes per tenant in Redis itself, and the tenant on the session hash', async () => {
    const { redis, keys } = gw.t;
    expect(await redis.hget(keys.session(session), 'tenant')).toBe('acme');
    expect(await redis.zscore(keys.tenantHistory('acme'), session)).not.toBeNull();
    expect(await redis.zscore(keys.tenantHistory('globex'), session)).toBeNull();
    expect(await redis.sismember(keys.tenantActive('acme'), session)).toBe(1);
    expect(await redis.get(keys.tenantCheckpointOwner('acme', checkpoint))).toBe(session);
    expect(await redis.get(keys.tenantCheckpointOwner('globex', checkpoint))).toBeNull();
    expect(await redis.hexists(keys.tenantPresets('acme'), 'acme-only')).toBe(1);
    expect(await redis.hexists(keys.tenantPresets('globex'), 'acme-only')).toBe(0);
    expect(await gw.sessions.snapshot(session, 'globex')).toBeNull();
    expect((await gw.sessions.control(session, 'pause', 'test', 'globex')).kind).toBe('not_found');
  });

  it('lets an admin see and steer every tenant; each tenant lists only its own', async () => {
    const other = (await request(b.app).post(`${P}/start`).set('authorization', globexOp).send({ phases: ['bitnet'] }).expect(200)).body.session_id;
    const all = (await request(b.app).get(`${P}/history?limit=100`).set('authorization', admin).expect(200)).body.map((h: { session_id: string }) => h.session_id);
    expect(all).toEqual(expect.arrayContaining([session, other]));
    const mine = (await request(a.app).get(`${P}/history?limit=100`).set('authorization', acmeOp).expect(200)).body.map((h: { session_id: string }) => h.session_id);
    expect(mine).toContain(session);
    expect(mine).not.toContain(other);
    await request(a.app).get(`${P}/status/${other}`).set('authorization', admin).expect(200);
    await request(a.app).post(`${P}/control`).set('authorization', admin).send({ session_id: other, action: 'cancel' }).expect(200);
    expect(await gw.t.redis.sismember(gw.t.keys.tenantActive('globex'), other)).toBe(0);
  });
});

describe('API keys', () => {
  const a = gw.makeReplica();
  const b = gw.makeReplica();

  it('are shown once, stored only as a hash, bound to a tenant and roles, record their last use, and die on revocation on every replica', async () => {
    const created = await request(a.app).post('/api/v1/auth/api-keys').set('authorization', admin).send({ name: 'ci bot', roles: ['operator'], tenant: 'acme' }).expect(201);
    const { key, key_id: keyId } = created.body as { key: string; key_id: string };
    expect(created.body).toMatchObject({ name: 'ci bot', tenant: 'acme', roles: ['operator'], last_used_at: null, expires_at: null, created_by: 'acme-admin' });
    expect(key).toMatch(/^afk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.headers['cache-control']).toBe('no-store');

    // Stored: the hash, never the key.
    const stored = await gw.t.redis.hgetall(gw.t.keys.apiKey(keyId));
    expect(stored.hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(key.split('_').pop());
    const listed = (await request(b.app).get('/api/v1/auth/api-keys').set('authorization', admin).expect(200)).body as Record<string, unknown>[];
    const row = listed.find((k) => k.key_id === keyId);
    expect(row).toBeDefined();
    expect(row).not.toHaveProperty('key');
    expect(row).not.toHaveProperty('hash');

    // Works on both replicas, as Bearer and as X-Api-Key, with its tenant and roles.
    const who = await request(b.app).get('/api/v1/auth/whoami').set('x-api-key', key).expect(200);
    expect(who.body).toMatchObject({ sub: `apikey:${keyId}`, tenant: 'acme', roles: ['operator'], via: 'api_key', scope: 'acme' });
    const started = await request(a.app).post(`${P}/start`).set('authorization', `Bearer ${key}`).send({ phases: ['cognate'] }).expect(200);
    expect(await gw.t.redis.hget(gw.t.keys.session(started.body.session_id), 'tenant')).toBe('acme');
    expectError(await request(a.app).get('/api/v1/audit').set('x-api-key', key), 403, 'FORBIDDEN');
    expect((await gw.t.redis.hget(gw.t.keys.apiKey(keyId), 'last_used_at')) ?? '').toMatch(/^\d{4}-/);

    // Revoked on A: the very next request fails on B, and on A.
    await request(a.app).delete(`/api/v1/auth/api-keys/${keyId}`).set('authorization', admin).expect(200, { key_id: keyId, revoked: true });
    expectError(await request(b.app).get('/api/v1/auth/whoami').set('x-api-key', key), 401, 'UNAUTHENTICATED');
    expectError(await request(a.app).get(`${P}/history`).set('authorization', `Bearer ${key}`), 401, 'UNAUTHENTICATED');
    expectError(await request(b.app).delete(`/api/v1/auth/api-keys/${keyId}`).set('authorization', admin), 404, 'NOT_FOUND');
  });

  it('refuse a tampered, unknown or expired key; validate the create body', async () => {
    const { key, key_id } = (await request(a.app).post('/api/v1/auth/api-keys').set('authorization', admin).send({ name: 'short', roles: ['viewer'], expires_at: new Date(Date.now() + 400).toISOString() }).expect(201)).body;
    await request(b.app).get('/api/v1/auth/whoami').set('x-api-key', key).expect(200);
    const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expectError(await request(b.app).get('/api/v1/auth/whoami').set('x-api-key', tampered), 401, 'UNAUTHENTICATED');
    expectError(await request(b.app).get('/api/v1/auth/whoami').set('x-api-key', `afk_${'0'.repeat(16)}_${'A'.repeat(43)}`), 401, 'UNAUTHENTICATED');
    await new Promise((r) => setTimeout(r, 500));
    expectError(await request(b.app).get('/api/v1/auth/whoami').set('x-api-key', key), 401, 'UNAUTHENTICATED');
    await request(a.app).delete(`/api/v1/auth/api-keys/${key_id}`).set('authorization', admin).expect(200);
    for (const [body, field] of [
      [{ roles: ['viewer'] }, 'name'],
      [{ name: 'x', roles: [] }, 'roles'],
      [{ name: 'x', roles: ['root'] }, 'roles.0'],
      [{ name: 'x', roles: ['viewer'], tenant: 'a:b' }, 'tenant'],
      [{ name: 'x', roles: ['viewer'], expires_at: 'tomorrow' }, 'expires_at'],
    ] as const) {
      expect(expectError(await request(a.app).post('/api/v1/auth/api-keys').set('authorization', admin).send(body), 422, 'VALIDATION_ERROR')).toHaveProperty([field]);
    }
  });
});

describe('rate limits', () => {
  // Own key prefix: the per-IP counters must not see the other suites' requests (all from 127.0.0.1).
  const env = { RATE_LIMIT_READ_PER_SUBJECT: '6', RATE_LIMIT_READ_PER_IP: '9', RATE_LIMIT_WRITE_PER_SUBJECT: '3', RATE_LIMIT_WRITE_PER_IP: '100', RATE_LIMIT_WINDOW_S: '60' };
  const rl = createTestGateway('gw-rl', env);
  afterAll(() => rl.close());
  const a = rl.makeReplica();
  const b = rl.makeReplica();
  const bearer = (roles: string[], tenant: string) => `Bearer ${rl.token(roles, tenant)}`;

  it('hold across two replicas: per subject, then per IP, with Retry-After and RateLimit-* headers', async () => {
    const alice = bearer(['viewer'], 'rl-alice');
    const remaining: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request(i % 2 === 0 ? a.app : b.app).get(`${P}/history`).set('authorization', alice).expect(200);
      remaining.push(res.headers['ratelimit-remaining'] as string);
      expect(res.headers['ratelimit-limit']).toBe('6');
      expect(res.headers['ratelimit-policy']).toBe('6;w=60');
    }
    expect(remaining).toEqual(['5', '4', '3', '2', '1', '0']);
    for (const app of [a.app, b.app]) {
      const limited = await request(app).get(`${P}/history`).set('authorization', alice);
      expectError(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(limited.headers['ratelimit-remaining']).toBe('0');
    }
    // Another subject from the same address still has its own budget — until the address runs out (9).
    const bob = bearer(['viewer'], 'rl-bob');
    await request(a.app).get(`${P}/history`).set('authorization', bob).expect(200);
    const byIp = await request(b.app).get(`${P}/history`).set('authorization', bob);
    expectError(byIp, 429, 'RATE_LIMITED');
    expect(byIp.body.error).toMatch(/per client address/);
  });

  it('answers a read that is over budget with 429, not with what the read found', async () => {
    const env2 = { RATE_LIMIT_READ_PER_SUBJECT: '2', RATE_LIMIT_READ_PER_IP: '1000' };
    const own = createTestGateway('gw-rl2', env2);
    try {
      const replica = own.makeReplica();
      const first = await request(replica.app).get(`${P}/status/nope`).set('authorization', `Bearer ${own.token(['viewer'], 'rl-dave')}`);
      expectError(first, 404, 'SESSION_NOT_FOUND');
      expect(first.headers['ratelimit-remaining']).toBe('1');
      await request(replica.app).get(`${P}/status/nope`).set('authorization', `Bearer ${own.token(['viewer'], 'rl-dave')}`).expect(404);
      const third = await request(replica.app).get(`${P}/status/nope`).set('authorization', `Bearer ${own.token(['viewer'], 'rl-dave')}`);
      expectError(third, 429, 'RATE_LIMITED');
      expect(third.headers['retry-after']).toBeDefined();
      // …and from memory afterwards, on this replica, without asking Redis again
      expectError(await request(replica.app).get(`${P}/history`).set('authorization', `Bearer ${own.token(['viewer'], 'rl-dave')}`), 429, 'RATE_LIMITED');
    } finally {
      await own.close();
    }
  });

  it('keeps writes and reads in separate budgets', async () => {
    const carol = bearer(['operator'], 'rl-carol');
    for (let i = 0; i < 3; i++) await request(i % 2 ? a.app : b.app).post(`${P}/start`).set('authorization', carol).send({ phases: ['cognate'] }).expect(200);
    expectError(await request(a.app).post(`${P}/start`).set('authorization', carol).send({ phases: ['cognate'] }), 429, 'RATE_LIMITED');
    // the read budget of the same subject is untouched (the IP read budget is another test's)
    expect(await rl.t.redis.get(`${rl.t.keys.rateLimit('write-subject')}:rl-carol-operator`)).toBe('4');
    expect(await rl.t.redis.get(`${rl.t.keys.rateLimit('read-subject')}:rl-carol-operator`)).toBeNull();
  });
});

describe('audit log', () => {
  const a = gw.makeReplica();
  const b = gw.makeReplica();
  const audit = async (query: string) => (await request(b.app).get(`/api/v1/audit?${query}`).set('authorization', admin).expect(200)).body as { entries: Record<string, unknown>[]; next_cursor: string | null };

  it('records every state-changing request with who, tenant, action, target, outcome, request id, IP and time', async () => {
    const op = bearer(['operator'], 'audited');
    const id = (await request(a.app).post(`${P}/start`).set('authorization', op).set('x-request-id', 'aud-start').send({ phases: ['cognate'] }).expect(200)).body.session_id;
    await request(b.app).post(`${P}/checkpoint/save`).set('authorization', op).set('x-request-id', 'aud-cp').send({ session_id: id }).expect(200);
    await request(a.app).post(`${P}/control`).set('authorization', op).set('x-request-id', 'aud-ctl').send({ session_id: id, action: 'cancel' }).expect(200);
    await request(a.app).post(`${P}/control`).set('authorization', op).set('x-request-id', 'aud-ctl2').send({ session_id: id, action: 'pause' }).expect(400);
    await request(b.app).post(`${P}/preset/save`).set('authorization', op).set('x-request-id', 'aud-preset').send({ preset_name: 'aud', config: { phases: ['cognate'] } }).expect(200);
    const page = await eventually(() => audit('tenant=audited&limit=50'), (p) => p.entries.length >= 5, 'audit entries');
    const byRequest = Object.fromEntries(page.entries.map((e) => [e.request_id, e]));
    expect(byRequest['aud-start']).toMatchObject({ actor: 'audited-operator', tenant: 'audited', action: 'pipeline.start', target: id, outcome: 'success', status: 200, ip: expect.stringMatching(/127\.0\.0\.1/) });
    expect(byRequest['aud-cp']).toMatchObject({ action: 'checkpoint.save', outcome: 'success' });
    expect(byRequest['aud-ctl']).toMatchObject({ action: 'pipeline.control', target: id, outcome: 'success' });
    expect(byRequest['aud-ctl2']).toMatchObject({ action: 'pipeline.control', outcome: 'failure', status: 400, reason: 'INVALID_STATE_TRANSITION' });
    expect(byRequest['aud-preset']).toMatchObject({ action: 'preset.save', target: 'aud', outcome: 'success' });
    expect(new Date(String(byRequest['aud-start']?.time)).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // newest first, filters and paging with a cursor
    const controls = await audit('tenant=audited&action=pipeline.control');
    expect(controls.entries.map((e) => e.request_id)).toEqual(['aud-ctl2', 'aud-ctl']);
    expect((await audit('tenant=audited&outcome=failure')).entries.map((e) => e.request_id)).toEqual(['aud-ctl2']);
    const first = await audit('tenant=audited&limit=2');
    expect(first.entries).toHaveLength(2);
    const second = await audit(`tenant=audited&limit=2&cursor=${first.next_cursor}`);
    // the next page starts right after the first one: no entry twice
    const ids = [...first.entries, ...second.entries].map((e) => String(e.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, 3)).toEqual(page.entries.slice(0, 3).map((e) => String(e.id)));
    expect((await audit(`actor=audited-operator&since=${new Date(Date.now() - 60_000).toISOString()}`)).entries.length).toBeGreaterThanOrEqual(5);
    expect((await audit(`tenant=audited&until=${new Date(Date.now() - 3_600_000).toISOString()}`)).entries).toEqual([]);
  });

  it('records auth failures (no, bad or revoked credentials; forbidden roles)', async () => {
    await request(a.app).get(`${P}/history`).set('x-request-id', 'aud-none').expect(401);
    await request(b.app).get(`${P}/history`).set('authorization', 'Bearer nonsense').set('x-request-id', 'aud-bad').expect(401);
    await request(a.app).post(`${P}/start`).set('authorization', bearer(['viewer'], 'audited2')).set('x-request-id', 'aud-403').send({ phases: ['cognate'] }).expect(403);
    const failures = await eventually(() => audit('action=auth.failure&limit=100'), (p) => ['aud-none', 'aud-bad'].every((r) => p.entries.some((e) => e.request_id === r)), 'auth failures');
    expect(failures.entries.find((e) => e.request_id === 'aud-none')).toMatchObject({ actor: '', outcome: 'denied', status: 401, reason: 'missing', target: `GET ${P}/history` });
    expect(failures.entries.find((e) => e.request_id === 'aud-bad')).toMatchObject({ outcome: 'denied', status: 401, reason: 'malformed' });
    const denied = await eventually(() => audit('tenant=audited2'), (p) => p.entries.length > 0, 'forbidden entry');
    expect(denied.entries[0]).toMatchObject({ request_id: 'aud-403', actor: 'audited2-viewer', action: 'pipeline.start', outcome: 'denied', status: 403, reason: 'FORBIDDEN' });
  });

  it('never fails a request when the audit write fails: logged and counted in /health and /metrics', async () => {
    // A real Redis failure: the tenant's audit stream key holds a string, so XADD fails (WRONGTYPE).
    await gw.t.redis.set(gw.t.keys.tenantAudit('broken'), 'not a stream');
    const failedBefore = await failedAuditWrites();
    const replica = gw.makeReplica();
    await request(replica.app).post(`${P}/start`).set('authorization', bearer(['operator'], 'broken')).send({ phases: ['cognate'] }).expect(200);
    const health = await eventually(
      async () => (await request(replica.app).get(`${P}/health`).expect(200)).body as { audit_write_failures: number },
      (h) => h.audit_write_failures >= 1,
      'audit failure counted',
    );
    expect(health.audit_write_failures).toBe(1);
    // The same failure in Prometheus terms (the counter is process-wide: compare with before).
    expect(await failedAuditWrites()).toBe(failedBefore + 1);
  });
});

async function failedAuditWrites(): Promise<number> {
  const metric = (await metricsRegistry.getSingleMetricAsString('af_audit_writes_total')).split('\n').find((l) => l.includes('result="failed"'));
  return metric ? Number(metric.split(' ').pop()) : 0;
}
