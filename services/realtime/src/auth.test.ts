import { randomUUID } from 'node:crypto';
import { Authenticator, generateApiKey, mintToken, resolveAuthSettings } from '@agent-forge/auth';
import { makeEnvelope } from '@agent-forge/contracts';
import { ApiKeyStore, AuditStore, EventPublisher, SessionStore } from '@agent-forge/state';
import { WebSocket } from 'ws';
import { createUpgradeAuthenticator, upgradeAuditor } from './auth';
import { loadConfig } from './config';
import { Harness, eventually, type Frame, type StartedServer } from './test-support';

/**
 * WebSocket auth with the gateway's own code (the shared Authenticator): documented close codes
 * for missing/bad credentials (4401) and other tenants' sessions (4403), and per-tenant delivery.
 */
const h = new Harness('rt-auth');
const { redis, keys } = h.t;
const SECRET = 'r'.repeat(48);
const AUDIENCE = 'rt-auth-test';
const store = new SessionStore(redis, keys);
const apiKeys = new ApiKeyStore(redis, keys);
const publisher = new EventPublisher(redis, keys);
h.authenticate = createUpgradeAuthenticator(
  new Authenticator(resolveAuthSettings(loadConfig({ JWT_SECRET: SECRET, JWT_AUDIENCE: AUDIENCE })), apiKeys),
  (id) => store.tenantOf(id),
);
const token = (tenant: string, roles: string[] = ['viewer'], extra: { secret?: string; ttlSeconds?: number; audience?: string } = {}) =>
  mintToken({ secret: extra.secret ?? SECRET, sub: `${tenant}-user`, tenant, roles, audience: extra.audience ?? AUDIENCE, ...(extra.ttlSeconds !== undefined ? { ttlSeconds: extra.ttlSeconds } : {}) });

const audit = new AuditStore(redis, keys, { retentionMs: 86_400_000, maxEntries: 10_000 });
h.onAuthFailure = upgradeAuditor(audit, h.logger).onAuthFailure;

let server: StartedServer;
const sessions: Record<string, string> = {};
beforeAll(async () => {
  server = await h.startServer();
  for (const tenant of ['acme', 'globex']) {
    const sessionId = randomUUID();
    await store.create({ sessionId, tenant, phases: ['cognate'], config: {}, enableMonitoring: true, enableCheckpoints: true, topology: 'hierarchical', maxAgents: 5, preset: null });
    sessions[tenant] = sessionId;
  }
});
afterAll(() => h.cleanup());

/** Connect and report how the server ended the socket (code and reason). */
function closeOf(path: string, headers: Record<string, string> = {}): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.ws}${path}`, { headers });
    const timer = setTimeout(() => reject(new Error(`${path} was not closed`)), 3_000);
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

const progress = (message: string) => ({ phase: 'cognate' as const, progress_percent: 1, total_progress_percent: 1, status: 'running' as const, message, metrics: {} });

describe('authentication on upgrade', () => {
  it('closes with 4401 without a credential, or with a bad, expired or foreign one', async () => {
    expect(await closeOf('/ws/pipeline')).toEqual({ code: 4401, reason: 'unauthenticated' });
    expect((await closeOf('/ws/pipeline?token=not-a-jwt')).code).toBe(4401);
    expect((await closeOf(`/ws/pipeline?token=${token('acme', ['viewer'], { ttlSeconds: -120 })}`)).code).toBe(4401);
    expect((await closeOf(`/ws/pipeline?token=${token('acme', ['viewer'], { secret: 'x'.repeat(48) })}`)).code).toBe(4401);
    expect((await closeOf(`/ws/pipeline?token=${token('acme', ['viewer'], { audience: 'elsewhere' })}`)).code).toBe(4401);
    expect((await closeOf('/ws/pipeline', { authorization: 'Bearer nope' })).code).toBe(4401);
    expect((await closeOf('/ws/pipeline', { 'x-api-key': `afk_${'0'.repeat(16)}_${'A'.repeat(43)}` })).code).toBe(4401);
  });

  it("closes with 4403 for another tenant's session, or a role that cannot watch", async () => {
    expect(await closeOf(`/ws/pipeline?session_id=${sessions.acme}&token=${token('globex')}`)).toEqual({ code: 4403, reason: 'forbidden' });
    expect((await closeOf(`/ws/dashboard?session_id=${sessions.globex}`, { authorization: `Bearer ${token('acme', ['operator'])}` })).code).toBe(4403);
    expect((await closeOf(`/ws/pipeline?token=${token('acme', [])}`)).code).toBe(4403);
  });

  it('accepts a token in the header, in ?token=, and an API key — until it is revoked', async () => {
    const viaQuery = await h.open(server.ws, `/ws/pipeline?session_id=${sessions.acme}&token=${token('acme')}`);
    await viaQuery.waitFor((f) => f.event_type === 'snapshot');
    const viaHeader = await h.open(server.ws, `/ws/pipeline?session_id=${sessions.acme}`, { headers: { authorization: `Bearer ${token('acme')}` } });
    await viaHeader.waitFor((f) => f.event_type === 'snapshot');
    const admin = await h.open(server.ws, `/ws/pipeline?session_id=${sessions.globex}&token=${token('acme', ['admin'])}`);
    expect((await admin.waitFor((f) => f.event_type === 'snapshot')).data).toMatchObject({ session_id: sessions.globex, status: 'initializing' });

    const key = generateApiKey();
    await apiKeys.create({ keyId: key.keyId, hash: key.hash, name: 'ws', tenant: 'acme', roles: ['viewer'], createdBy: 'test', expiresAt: null });
    const viaKey = await h.open(server.ws, `/ws/pipeline?session_id=${sessions.acme}`, { headers: { 'x-api-key': key.key } });
    await viaKey.waitFor((f) => f.event_type === 'snapshot');
    expect((await closeOf(`/ws/pipeline?session_id=${sessions.globex}`, { 'x-api-key': key.key })).code).toBe(4403);
    await apiKeys.revoke(key.keyId, 'acme');
    expect((await closeOf(`/ws/pipeline?token=${key.key}`)).code).toBe(4401);
    await h.closeClients();
  });
});

describe('audit', () => {
  it('writes every refused upgrade to the audit log, with the identity when it is known', async () => {
    await closeOf('/ws/tasks?token=garbage');
    await closeOf(`/ws/tasks?session_id=${sessions.acme}&token=${token('globex')}`);
    await eventually(async () => (await audit.query({ limit: 100 })).entries.some((e) => e.action === 'ws.subscribe' && e.target === sessions.acme), 3_000, 'audit entries');
    const { entries } = await audit.query({ limit: 100 });
    expect(entries.find((e) => e.action === 'auth.failure' && e.reason === 'malformed')).toMatchObject({ status: 4401, outcome: 'denied', actor: '', target: 'websocket' });
    expect(entries.find((e) => e.action === 'ws.subscribe' && e.target === sessions.acme)).toMatchObject({ status: 4403, actor: 'globex-user', tenant: 'globex', reason: 'other_tenant' });
  });
});

describe('per-tenant delivery', () => {
  it('unfiltered sockets get only their own tenant’s events; admins get every tenant’s', async () => {
    const acme = await h.open(server.ws, `/ws/pipeline?token=${token('acme')}`);
    const globex = await h.open(server.ws, `/ws/pipeline?token=${token('globex')}`);
    const admin = await h.open(server.ws, `/ws/pipeline?token=${token('ops', ['admin'])}`);
    await publisher.publish('pipeline_progress', sessions.acme as string, progress('acme-1'));
    await publisher.publish('pipeline_progress', sessions.globex as string, progress('globex-1'));
    await publisher.publish('pipeline_progress', sessions.acme as string, progress('acme-2'));
    const messages = (frames: Frame[]) => frames.filter((f) => f.event_type === 'pipeline_progress').map((f) => f.data?.message);
    await eventually(() => messages(admin.frames).length === 3, 3_000, 'admin got all three');
    await eventually(() => messages(acme.frames).length === 2 && messages(globex.frames).length === 1, 3_000, 'tenants got theirs');
    expect(messages(acme.frames)).toEqual(['acme-1', 'acme-2']);
    expect(messages(globex.frames)).toEqual(['globex-1']);
    expect(acme.frames.find((f) => f.event_type === 'pipeline_progress')).toMatchObject({ tenant: 'acme', session_id: sessions.acme });
    await h.closeClients();
  });

  it('the unfiltered dashboard lists only the tenant’s own sessions', async () => {
    const dash = await h.open(server.ws, `/ws/dashboard?token=${token('globex')}`);
    const update = await dash.waitFor((f) => f.event_type === 'dashboard_update' && f.session_id === null, 0, 3_000);
    const listed = ((update.data?.metrics as { sessions: { session_id: string }[] }).sessions ?? []).map((s) => s.session_id);
    expect(listed).toEqual([sessions.globex]);
    await h.closeClients();
  });

  it('a socket on a not-yet-existing id gets nothing if another tenant creates that session', async () => {
    const id = randomUUID();
    const early = await h.open(server.ws, `/ws/pipeline?session_id=${id}&token=${token('acme')}`);
    expect((await early.waitFor((f) => f.event_type === 'snapshot')).data).toEqual({ session_id: id, status: null });
    await store.create({ sessionId: id, tenant: 'globex', phases: ['cognate'], config: {}, enableMonitoring: true, enableCheckpoints: true, topology: 'hierarchical', maxAgents: 5, preset: null });
    const watcher = await h.open(server.ws, `/ws/pipeline?session_id=${id}&token=${token('globex')}`);
    await publisher.publishEnvelope(makeEnvelope('pipeline_progress', id, progress('secret')));
    await watcher.waitFor((f) => f.data?.message === 'secret');
    await new Promise((r) => setTimeout(r, 100));
    expect(early.frames.filter((f) => f.event_type === 'pipeline_progress')).toEqual([]);
    await h.closeClients();
  });
});

describe('connections per tenant, across replicas', () => {
  it('the one over WS_MAX_CONNECTIONS_PER_TENANT on either replica is closed with 4429; other tenants and freed slots are unaffected', async () => {
    const a = await h.startServer({ WS_MAX_CONNECTIONS_PER_TENANT: 2 }, 'rt-auth-quota-a');
    const b = await h.startServer({ WS_MAX_CONNECTIONS_PER_TENANT: 2 }, 'rt-auth-quota-b');
    const first = await h.open(a.ws, `/ws/pipeline?token=${token('acme')}`);
    await h.open(b.ws, `/ws/pipeline?token=${token('acme')}`);
    const overA = await h.open(a.ws, `/ws/pipeline?token=${token('acme')}`);
    const overB = await h.open(b.ws, `/ws/pipeline?token=${token('acme')}`);
    expect(await overA.closed).toEqual({ code: 4429, reason: 'too many connections for this tenant' });
    expect(await overB.closed).toEqual({ code: 4429, reason: 'too many connections for this tenant' });
    // Another tenant has its own budget.
    const globex = await h.open(b.ws, `/ws/pipeline?token=${token('globex')}`);
    globex.send(JSON.stringify({ type: 'ping' }));
    await globex.waitFor((f) => f.type === 'pong');
    // Closing one frees its slot, on whichever replica the next client lands.
    await first.close();
    await eventually(async () => (await redis.zcard(keys.tenantConnections('acme'))) === 1, 3_000, 'lease released');
    const again = await h.open(b.ws, `/ws/pipeline?token=${token('acme')}`);
    again.send(JSON.stringify({ type: 'ping' }));
    await again.waitFor((f) => f.type === 'pong');
    await h.closeClients();
    await eventually(async () => (await redis.zcard(keys.tenantConnections('acme'))) === 0, 3_000, 'every lease released');
  });
});
