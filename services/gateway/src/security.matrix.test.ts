import request, { type Response } from 'supertest';
import type { Application } from 'express';
import { expectError } from './test-expect';
import { createTestGateway } from './test-support';
import { ROUTES, type RouteSpec } from './route-table';

/**
 * Access control, generated from the route table: every route × every kind of caller answers
 * exactly what the table says. A route added to the table is covered here without touching this
 * file (with a generic request; add a fixture below to pin its success status too).
 */
const gw = createTestGateway('gw-matrix');
afterAll(() => gw.close());
const app = gw.rawApp;
const HOME = 'acme';
const OTHER = 'globex';

type Caller = { name: string; token: string | null; roles: string[]; tenant: string | null };
const CALLERS: Caller[] = [
  { name: 'no token', token: null, roles: [], tenant: null },
  { name: 'expired token', token: gw.token(['admin'], HOME, { ttlSeconds: -120 }), roles: [], tenant: null },
  { name: 'wrong signature', token: gw.token(['admin'], HOME, { secret: 'x'.repeat(64) }), roles: [], tenant: null },
  { name: 'wrong audience', token: gw.token(['admin'], HOME, { audience: 'some-other-service' }), roles: [], tenant: null },
  { name: 'viewer', token: gw.token(['viewer'], HOME), roles: ['viewer'], tenant: HOME },
  { name: 'operator', token: gw.token(['operator'], HOME), roles: ['operator'], tenant: HOME },
  { name: 'admin', token: gw.token(['admin'], HOME), roles: ['admin'], tenant: HOME },
  { name: 'other tenant (operator)', token: gw.token(['operator'], OTHER), roles: ['operator'], tenant: OTHER },
];

const PERMS: Record<string, Set<string>> = {
  viewer: new Set(['pipeline:read']),
  operator: new Set(['pipeline:read', 'pipeline:write', 'checkpoints:write', 'presets:write', 'quality_gates:run']),
  admin: new Set(['pipeline:read', 'pipeline:write', 'checkpoints:write', 'presets:write', 'quality_gates:run', 'api_keys:manage', 'audit:read', 'tenants:all']),
};
const allowed = (c: Caller, spec: RouteSpec) =>
  spec.access === 'public' || (c.tenant !== null && (spec.access === 'authenticated' || c.roles.some((r) => PERMS[r]?.has(spec.access))));

const P = '/api/v1/pipeline';
const operator = `Bearer ${gw.token(['operator'], HOME)}`;
const admin = `Bearer ${gw.token(['admin'], HOME)}`;
const post = (path: string, body: unknown, auth = operator) => request(app).post(path).set('authorization', auth).send(body as object);

async function newSession(): Promise<string> {
  return (await post(`${P}/start`, { phases: ['cognate', 'evomerge'] }).expect(200)).body.session_id as string;
}
let shared: { session: string; checkpoint: string };
beforeAll(async () => {
  const session = await newSession();
  const checkpoint = (await post(`${P}/checkpoint/save`, { session_id: session }).expect(200)).body.checkpoint_id as string;
  await post(`${P}/preset/save`, { preset_name: 'acme-preset', config: { phases: ['cognate'] } }).expect(200);
  shared = { session, checkpoint };
});

interface Call {
  path: string;
  body?: unknown;
}
/** A valid call of each route, made fresh per request (state-changing calls get their own resources). */
const FIXTURES: Record<string, { call: () => Promise<Call>; ok: number }> = {
  'pipeline.start': { call: async () => ({ path: `${P}/start`, body: { phases: ['cognate'] } }), ok: 200 },
  'pipeline.control': { call: async () => ({ path: `${P}/control`, body: { session_id: await newSession(), action: 'cancel' } }), ok: 200 },
  'pipeline.status': { call: async () => ({ path: `${P}/status/${shared.session}` }), ok: 200 },
  'pipeline.swarm': { call: async () => ({ path: `${P}/swarm/${shared.session}` }), ok: 200 },
  'quality_gates.run': { call: async () => ({ path: `${P}/quality-gates/${shared.session}` }), ok: 200 },
  'checkpoint.save': { call: async () => ({ path: `${P}/checkpoint/save`, body: { session_id: shared.session } }), ok: 200 },
  'checkpoint.load': { call: async () => ({ path: `${P}/checkpoint/load/${shared.checkpoint}` }), ok: 200 },
  'checkpoint.list': { call: async () => ({ path: `${P}/checkpoints/${shared.session}` }), ok: 200 },
  'preset.list': { call: async () => ({ path: `${P}/presets` }), ok: 200 },
  'preset.get': { call: async () => ({ path: `${P}/preset/acme-preset` }), ok: 200 },
  'preset.save': { call: async () => ({ path: `${P}/preset/save`, body: { preset_name: 'p1', config: { phases: ['cognate'] } } }), ok: 200 },
  'pipeline.history': { call: async () => ({ path: `${P}/history` }), ok: 200 },
  'pipeline.health': { call: async () => ({ path: `${P}/health` }), ok: 200 },
  'auth.whoami': { call: async () => ({ path: '/api/v1/auth/whoami' }), ok: 200 },
  'auth.api_key.create': { call: async () => ({ path: '/api/v1/auth/api-keys', body: { name: 'matrix', roles: ['viewer'] } }), ok: 201 },
  'auth.api_key.list': { call: async () => ({ path: '/api/v1/auth/api-keys' }), ok: 200 },
  'auth.api_key.revoke': {
    call: async () => {
      const created = await post('/api/v1/auth/api-keys', { name: 'to-revoke', roles: ['viewer'] }, admin).expect(201);
      return { path: `/api/v1/auth/api-keys/${created.body.key_id}` };
    },
    ok: 200,
  },
  'audit.list': { call: async () => ({ path: '/api/v1/audit' }), ok: 200 },
  info: { call: async () => ({ path: '/api/v1/info' }), ok: 200 },
  openapi: { call: async () => ({ path: '/openapi.json' }), ok: 200 },
  docs: { call: async () => ({ path: '/docs/' }), ok: 200 },
  root: { call: async () => ({ path: '/' }), ok: 302 },
  'health.live': { call: async () => ({ path: '/health/live' }), ok: 200 },
  'health.ready': { call: async () => ({ path: '/health/ready' }), ok: 200 },
};

/** A route without a fixture: its path with placeholder parameters. */
const generic = (spec: RouteSpec): Call => ({ path: spec.path.replace(/:([a-z_]+)/g, 'matrix-$1') });

function send(a: Application, spec: RouteSpec, call: Call, token: string | null): Promise<Response> {
  const method = spec.method === 'use' ? 'get' : spec.method;
  let r = request(a)[method](call.path);
  if (token !== null) r = r.set('authorization', `Bearer ${token}`);
  return call.body === undefined ? r : r.send(call.body as object);
}

describe.each(ROUTES as readonly RouteSpec[])('$method $path ($access)', (spec) => {
  it.each(CALLERS)('$name', async (caller) => {
    const fixture = FIXTURES[spec.id];
    const call = fixture ? await fixture.call() : generic(spec);
    const res = await send(app, spec, call, caller.token);
    if (spec.access !== 'public' && caller.tenant === null) {
      expectError(res, 401, 'UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      return;
    }
    if (!allowed(caller, spec)) {
      expectError(res, 403, 'FORBIDDEN');
      return;
    }
    // Another tenant's resource does not exist for this caller (404, never 403: no existence leak).
    const foreign = caller.tenant === OTHER && spec.resource !== undefined && fixture !== undefined;
    if (foreign) {
      expect({ status: res.status, code: res.body.error_code }).toEqual({ status: 404, code: expect.stringMatching(/NOT_FOUND$/) });
      return;
    }
    if (fixture) expect({ status: res.status, body: res.status === fixture.ok ? null : res.body }).toEqual({ status: fixture.ok, body: null });
    else expect([401, 403]).not.toContain(res.status);
    expect(res.status).toBeLessThan(500);
  });
});

describe('the route table is the only way in', () => {
  interface Found {
    method: string;
    path: string;
    first: unknown;
  }
  /** Every route and mount the Express app really serves (router stack walked recursively). */
  function registered(a: Application): Found[] {
    const found: Found[] = [];
    type Layer = { route?: { path: string; methods: Record<string, boolean>; stack: { handle: unknown }[] }; rawPath?: unknown; handle: { stack?: Layer[] } & object; name: string };
    const walk = (stack: Layer[], prefix: string) => {
      for (const layer of stack) {
        if (layer.route) {
          for (const method of Object.keys(layer.route.methods)) found.push({ method, path: prefix + layer.route.path, first: layer.route.stack[0]?.handle });
        } else if (layer.handle.stack) {
          walk(layer.handle.stack, prefix + (layer.rawPath === '/' ? '' : String(layer.rawPath)));
        } else if (layer.rawPath !== '/' && layer.rawPath !== undefined) {
          found.push({ method: 'use', path: prefix + String(layer.rawPath), first: layer.handle });
        }
      }
    };
    walk((a as unknown as { router: { stack: Layer[] } }).router.stack, '');
    return found;
  }

  it('every registered route has a row (method + path) and starts with that row’s guard unless public', () => {
    const rows = new Map((ROUTES as readonly RouteSpec[]).map((r) => [`${r.method} ${r.path}`, r]));
    const routes = registered(app);
    expect(routes.length).toBeGreaterThanOrEqual(ROUTES.length);
    for (const r of routes) {
      const row = rows.get(`${r.method} ${r.path}`);
      expect({ route: `${r.method} ${r.path}`, declared: row !== undefined }).toEqual({ route: `${r.method} ${r.path}`, declared: true });
      if (row && row.access !== 'public') expect((r.first as { routeSpec?: RouteSpec }).routeSpec).toBe(row);
    }
  });

  it('would catch a route added behind the table’s back', () => {
    const rogue = gw.makeRawApp();
    (rogue as unknown as { get: (p: string, h: () => void) => void }).get('/api/v1/rogue', () => undefined);
    const rows = new Set((ROUTES as readonly RouteSpec[]).map((r) => `${r.method} ${r.path}`));
    expect(registered(rogue).filter((r) => !rows.has(`${r.method} ${r.path}`)).map((r) => r.path)).toEqual(['/api/v1/rogue']);
  });

  it('documents every non-public route in OpenAPI with 401, 403 and 429', async () => {
    const doc = (await request(app).get('/openapi.json').expect(200)).body;
    for (const spec of ROUTES as readonly RouteSpec[]) {
      if (spec.access === 'public' || spec.method === 'use') continue;
      const op = doc.paths[spec.path.replace(/:([a-z_]+)/g, '{$1}')]?.[spec.method];
      expect({ route: spec.id, documented: Boolean(op) }).toEqual({ route: spec.id, documented: true });
      for (const status of ['401', '403', '429']) expect({ route: spec.id, status, ok: Boolean(op.responses[status]) }).toEqual({ route: spec.id, status, ok: true });
    }
  });
});
