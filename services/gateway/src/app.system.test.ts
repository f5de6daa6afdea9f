import { HealthResponse, InfoResponse } from '@agent-forge/contracts';
import { PhaseQueues } from '@agent-forge/engine';
import { createLogger } from '@agent-forge/runtime';
import { Keys } from '@agent-forge/state';
import { Redis } from 'ioredis';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createGatewayApp } from './app';
import { ROUTES } from './route-table';
import { loadConfig } from './config';
import { expectError } from './test-expect';
import { createTestGateway, testEnv, withDefaultToken } from './test-support';

const gw = createTestGateway('gw-sys');
const { app } = gw;
afterAll(() => gw.close());
const P = '/api/v1/pipeline';

describe('health', () => {
  it('reports real uptime, memory and the exact number of active sessions', async () => {
    const h0 = await request(app).get(`${P}/health`).expect(200);
    expect(HealthResponse.parse(h0.body)).toBeTruthy();
    expect(h0.body).toMatchObject({ status: 'healthy', redis: 'up', version: '0.1.0', active_sessions: 0 });
    expect(h0.body.uptime_seconds).toBeGreaterThan(0);
    expect(h0.body.total_memory_mb).toBeGreaterThan(0);
    expect(h0.body.available_memory_mb).toBeGreaterThan(0);
    expect(h0.body.available_memory_mb).toBeLessThanOrEqual(h0.body.total_memory_mb);

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await request(app).post(`${P}/start`).send({ phases: ['cognate'] }).expect(200)).body.session_id);
    expect((await request(app).get(`${P}/health`)).body.active_sessions).toBe(3);
    await request(app).post(`${P}/control`).send({ session_id: ids[0], action: 'cancel' }).expect(200);
    const h1 = (await request(app).get(`${P}/health`)).body;
    expect(h1.active_sessions).toBe(2);
    expect(h1.uptime_seconds).toBeGreaterThanOrEqual(h0.body.uptime_seconds);
  });

  it('has liveness and readiness probes', async () => {
    expect((await request(app).get('/health/live').expect(200)).body).toEqual({ status: 'ok' });
    expect((await request(app).get('/health/ready').expect(200)).body).toEqual({ status: 'ready' });
  });
});

describe('info, docs and OpenAPI', () => {
  it('GET /api/v1/info', async () => {
    const res = await request(app).get('/api/v1/info').expect(200);
    expect(InfoResponse.parse(res.body)).toMatchObject({ name: 'Agent Forge API', version: '0.1.0' });
    expect(res.body.features.length).toBeGreaterThan(0);
    expect(res.body.endpoints.start).toBe('POST /api/v1/pipeline/start');
    expect(res.body.endpoints.dashboard).toBe('GET /dashboard');
  });

  it('GET /api/v1/info names every route the gateway serves', async () => {
    const listed = Object.values((await request(app).get('/api/v1/info').expect(200)).body.endpoints as Record<string, string>).join('\n');
    const missing = ROUTES.filter((r) => r.id !== 'root')
      .map((r) => r.path.replace(/:(\w+)/g, '{$1}'))
      .filter((path) => !listed.includes(`${path}`));
    expect(missing).toEqual([]);
  });

  it('GET / redirects to the docs, which serve Swagger UI offline', async () => {
    const root = await request(app).get('/').expect(302);
    expect(root.headers.location).toBe('/docs');
    const docs = await request(app).get('/docs').redirects(1).expect(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
    expect(docs.text).toContain('swagger-ui');
    const direct = await request(app).get('/docs/').expect(200);
    expect(direct.text).toContain('<title>Agent Forge API</title>');
    const init = await request(app).get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toContain('/api/v1/pipeline/start');
    await request(app).get('/docs/swagger-ui-bundle.js').expect(200);
  });

  it('GET /openapi.json lists every route with its request and response schemas', async () => {
    const doc = (await request(app).get('/openapi.json').expect(200)).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Agent Forge API', version: '0.1.0' });
    const routes: [string, string][] = [
      ['post', `${P}/start`],
      ['post', `${P}/control`],
      ['get', `${P}/status/{session_id}`],
      ['get', `${P}/swarm/{session_id}`],
      ['post', `${P}/quality-gates/{session_id}`],
      ['post', `${P}/checkpoint/save`],
      ['post', `${P}/checkpoint/load/{checkpoint_id}`],
      ['get', `${P}/checkpoints/{session_id}`],
      ['get', `${P}/presets`],
      ['get', `${P}/preset/{name}`],
      ['post', `${P}/preset/save`],
      ['get', `${P}/history`],
      ['get', `${P}/health`],
      ['get', '/api/v1/info'],
    ];
    for (const [method, path] of routes) {
      const op = doc.paths[path]?.[method];
      expect({ path, method, ok: Boolean(op?.responses?.['200']) }).toEqual({ path, method, ok: true });
    }
    expect(doc.paths[`${P}/start`].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/StartPipelineRequest' });
    expect(doc.paths[`${P}/start`].post.responses['422'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });
    expect(doc.paths[`${P}/status/{session_id}`].get.parameters[0]).toMatchObject({ name: 'session_id', in: 'path', required: true });
    expect(doc.paths[`${P}/history`].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['limit', 'status']);
    for (const name of ['ErrorBody', 'StatusResponse', 'SwarmStatus', 'QualityGateResponse', 'CheckpointResponse', 'ConfigPresetResponse', 'ExecutionHistory', 'HealthResponse', 'PhaseConfigs']) {
      expect(doc.components.schemas).toHaveProperty(name);
    }
    expect(doc.components.schemas.StatusResponse.required).toEqual(expect.arrayContaining(['progress_percent', 'phases', 'metrics']));
  });
});

describe('errors, request ids, limits and CORS', () => {
  it('answers 404 NOT_FOUND for an unknown route or method', async () => {
    expectError(await request(app).get('/api/v1/pipeline/nope'), 404, 'NOT_FOUND');
    expectError(await request(app).delete(`${P}/start`), 404, 'NOT_FOUND');
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a body over the limit', async () => {
    const small = gw.makeApp({ BODY_LIMIT_BYTES: '2048' });
    const big = { phases: ['cognate'], config: { cognate: { blob: 'x'.repeat(4096) } } };
    expectError(await request(small).post(`${P}/start`).send(big), 413, 'PAYLOAD_TOO_LARGE');
    // just under the limit is fine
    await request(small).post(`${P}/start`).send({ phases: ['cognate'], config: { cognate: { blob: 'x'.repeat(1500) } } }).expect(200);
  });

  it('parses a JSON body sent without a content type, as FastAPI did; other types are not parsed', async () => {
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const payload = JSON.stringify({ phases: ['cognate'] });
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `${P}/start`, headers: { 'content-length': Buffer.byteLength(payload) } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end(payload);
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).status).toBe('started');
    } finally {
      await new Promise((r) => server.close(r));
    }
    const form = await request(app).post(`${P}/start`).set('content-type', 'application/x-www-form-urlencoded').send(JSON.stringify({ phases: ['cognate'] }));
    expect(expectError(form, 422, 'VALIDATION_ERROR').body).toMatch(/application\/json, got application\/x-www-form-urlencoded/);
    // a bodiless POST is validated as {} (fields reported missing)
    expect(expectError(await request(app).post(`${P}/start`), 422, 'VALIDATION_ERROR')).toHaveProperty('phases');
    await request(app).post(`${P}/checkpoint/load/none`).expect(404);
  });

  it('honours a sane x-request-id and replaces an unsafe one', async () => {
    const ok = await request(app).get('/health/live').set('x-request-id', 'abc-123.4_5:6');
    expect(ok.headers['x-request-id']).toBe('abc-123.4_5:6');
    const bad = await request(app).get('/health/live').set('x-request-id', 'a b<script>');
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const none = await request(app).get('/health/live');
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers and no CORS headers by default', async () => {
    const res = await request(app).get('/health/live').set('origin', 'http://evil.example');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows only the configured CORS origins, echoing them', async () => {
    const corsApp = gw.makeApp({ CORS_ORIGINS: 'http://ui.example' });
    const ok = await request(corsApp).get('/health/live').set('origin', 'http://ui.example');
    expect(ok.headers['access-control-allow-origin']).toBe('http://ui.example');
    expect(ok.headers.vary).toMatch(/Origin/);
    const other = await request(corsApp).get('/health/live').set('origin', 'http://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await request(corsApp).options(`${P}/start`).set('origin', 'http://ui.example').set('access-control-request-method', 'POST').expect(204);
    expect(pre.headers['access-control-allow-methods']).toContain('POST');
  });
});

describe('when Redis is down', () => {
  const logger = createLogger('gateway-test', 'silent');
  // A real client pointed at a port where nothing listens: every command fails like an outage.
  const dead = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, retryStrategy: () => 200, disconnectTimeout: 10 });
  dead.on('error', () => undefined);
  const keys = new Keys('t-gw-down');
  const queues = new PhaseQueues({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, retryStrategy: () => 200 }, keys);
  const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', AF_KEY_PREFIX: 't-gw-down', ...testEnv(gw.secret) });
  const downApp = withDefaultToken(createGatewayApp({ redis: dead, keys, queues, logger, config, startedAt: Date.now() }), () => gw.token());
  afterAll(async () => {
    dead.disconnect();
    await queues.close();
  });

  it('answers 503 UNAVAILABLE with Retry-After instead of a 500', async () => {
    const res = await request(downApp).get(`${P}/status/some-id`);
    expectError(res, 503, 'UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('5');
    const start = await request(downApp).post(`${P}/start`).send({ phases: ['cognate'] });
    expectError(start, 503, 'UNAVAILABLE');
  });

  it('still validates input first (4xx, not 503)', async () => {
    expectError(await request(downApp).post(`${P}/start`).send({ phases: [] }), 422, 'VALIDATION_ERROR');
  });

  it('health says degraded (200), readiness says 503', async () => {
    const h = await request(downApp).get(`${P}/health`).expect(200);
    expect(h.body).toMatchObject({ status: 'degraded', redis: 'down', active_sessions: 0 });
    const ready = await request(downApp).get('/health/ready');
    expectError(ready, 503, 'UNAVAILABLE');
    expect(ready.headers['retry-after']).toBe('5');
    await request(downApp).get('/health/live').expect(200);
  });
});
