import type { Logger } from '@agent-forge/runtime';
import type { Application } from 'express';
import request, { type Response } from 'supertest';
import { createTestGateway } from './test-support';

/**
 * The fast lane (fast-lane.ts) must be invisible to clients except for speed: every request is
 * sent to the app as served (fast lane on) and to the same app with everything going through
 * Express, and the answers — status, headers, body — must be the same. The Express router is
 * watched, so each case also proves which path answered it.
 */
const P = '/api/v1/pipeline';
const ORIGIN = 'https://ui.example';
const gw = createTestGateway('gw-fast', { CORS_ORIGINS: ORIGIN });
afterAll(() => gw.close());

interface Captured {
  level: string;
  line: Record<string, unknown>;
}
/** A logger that keeps what the access log writes (only what these tests read of pino's API). */
function capturingLogger(into: Captured[]): Logger {
  const at = (level: string) => (line: Record<string, unknown>, msg?: string) => {
    if (msg === 'request completed') into.push({ level, line });
  };
  const logger = { isLevelEnabled: () => true, info: at('info'), warn: at('warn'), error: at('error'), debug: () => undefined, fatal: () => undefined, trace: () => undefined };
  return logger as unknown as Logger;
}

/** How many requests the Express router itself handled. */
function routerCalls(app: Application): () => number {
  const spy = jest.spyOn((app as unknown as { router: { handle: () => void } }).router, 'handle');
  return () => spy.mock.calls.length;
}

const laneLog: Captured[] = [];
const plainLog: Captured[] = [];
const laned = gw.makeRawApp({ TRUST_PROXY: '1' }, { logger: capturingLogger(laneLog) });
const plain = gw.makeRawApp({ TRUST_PROXY: '1' }, { fastLane: false, logger: capturingLogger(plainLog) });
const lanedRouter = routerCalls(laned);
const plainRouter = routerCalls(plain);

const bearer = (roles: string[], tenant = 'acme', sub?: string) => `Bearer ${gw.token(roles, tenant, sub ? { sub } : {})}`;
const operator = bearer(['operator']);
let session = '';
beforeAll(async () => {
  session = (await request(laned).post(`${P}/start`).set('authorization', operator).send({ phases: ['cognate', 'evomerge'] }).expect(200)).body.session_id;
});

/** Headers and body with what legitimately differs between two answers (clock, budget left) reduced to its type. */
function normalized(res: Response): { status: number; headers: Record<string, string>; body: unknown } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers as Record<string, string>)) {
    if (name === 'date' || name === 'connection' || name === 'keep-alive') continue;
    headers[name] = name === 'ratelimit-remaining' || name === 'ratelimit-reset' || name === 'retry-after' ? 'present' : value;
  }
  if (res.status === 200) headers['content-length'] = 'present'; // elapsed times in the body vary in width
  const shape = (v: unknown, key = ''): unknown => {
    if (typeof v === 'number') return 'number';
    if (key === 'timestamp' || key === 'elapsed' || key.endsWith('_at')) return typeof v;
    if (Array.isArray(v)) return v.map((x) => shape(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x, k)]));
    // error messages quote the retry time
    return typeof v === 'string' ? v.replace(/retry in \d+ s/, 'retry in N s') : v;
  };
  return { status: res.status, headers, body: shape(res.body) };
}

type Method = 'get' | 'head' | 'post';
interface Case {
  name: string;
  method?: Method;
  path: () => string;
  headers?: () => Record<string, string>;
  status: number;
  /** Which path must answer it. */
  via: 'lane' | 'express';
}

const CASES: Case[] = [
  { name: 'status', path: () => `${P}/status/${session}`, status: 200, via: 'lane' },
  { name: 'swarm', path: () => `${P}/swarm/${session}`, status: 200, via: 'lane' },
  { name: 'trailing slash', path: () => `${P}/status/${session}/`, status: 200, via: 'lane' },
  { name: 'query string (ignored, a token in it redacted from the log)', path: () => `${P}/status/${session}?token=secret&x=1`, status: 200, via: 'lane' },
  { name: 'percent-encoded id', path: () => `${P}/status/%${session.charCodeAt(0).toString(16)}${session.slice(1)}`, status: 200, via: 'lane' },
  { name: 'CORS origin allowed', path: () => `${P}/status/${session}`, headers: () => ({ origin: ORIGIN }), status: 200, via: 'lane' },
  { name: 'CORS origin not allowed', path: () => `${P}/status/${session}`, headers: () => ({ origin: 'https://evil.example' }), status: 200, via: 'lane' },
  { name: 'forwarded client address', path: () => `${P}/status/${session}`, headers: () => ({ 'x-forwarded-for': '203.0.113.7' }), status: 200, via: 'lane' },
  { name: 'a viewer reads', path: () => `${P}/status/${session}`, headers: () => ({ authorization: bearer(['viewer']) }), status: 200, via: 'lane' },
  { name: 'an admin of another tenant reads', path: () => `${P}/status/${session}`, headers: () => ({ authorization: bearer(['admin'], 'globex') }), status: 200, via: 'lane' },
  { name: 'unknown id', path: () => `${P}/status/no-such-session`, status: 404, via: 'lane' },
  { name: 'another tenant’s session', path: () => `${P}/status/${session}`, headers: () => ({ authorization: bearer(['operator'], 'globex') }), status: 404, via: 'lane' },
  { name: 'encoded slash in the id', path: () => `${P}/status/a%2Fb`, status: 404, via: 'lane' },
  { name: 'very long id', path: () => `${P}/swarm/${'a'.repeat(1_500)}`, status: 404, via: 'lane' },
  { name: 'no credential', path: () => `${P}/status/${session}`, headers: () => ({ authorization: '' }), status: 401, via: 'lane' },
  { name: 'expired token', path: () => `${P}/status/${session}`, headers: () => ({ authorization: `Bearer ${gw.token(['admin'], 'acme', { ttlSeconds: -120 })}` }), status: 401, via: 'lane' },
  { name: 'not a bearer credential', path: () => `${P}/status/${session}`, headers: () => ({ authorization: 'Basic dXNlcjpwYXNz' }), status: 401, via: 'lane' },
  { name: 'unknown API key', path: () => `${P}/status/${session}`, headers: () => ({ authorization: '', 'x-api-key': `afk_${'0'.repeat(16)}_${'A'.repeat(43)}` }), status: 401, via: 'lane' },
  { name: 'no role (403)', path: () => `${P}/status/${session}`, headers: () => ({ authorization: bearer([]) }), status: 403, via: 'lane' },
  { name: 'broken percent-encoding', path: () => `${P}/status/%zz`, status: 422, via: 'express' },
  { name: 'other case', path: () => `/API/v1/pipeline/STATUS/${session}`, status: 200, via: 'express' },
  { name: 'empty id', path: () => `${P}/status/`, status: 404, via: 'express' },
  { name: 'two trailing slashes', path: () => `${P}/status/${session}//`, status: 404, via: 'express' },
  { name: 'extra segment', path: () => `${P}/status/${session}/x`, status: 404, via: 'express' },
  { name: 'HEAD', method: 'head', path: () => `${P}/status/${session}`, status: 200, via: 'express' },
  { name: 'POST', method: 'post', path: () => `${P}/status/${session}`, status: 404, via: 'express' },
  { name: 'conditional request', path: () => `${P}/status/${session}`, headers: () => ({ 'if-none-match': '*' }), status: 304, via: 'express' },
];

async function send(app: Application, c: Case, requestId: string): Promise<Response> {
  let r = request(app)[c.method ?? 'get'](c.path()).set('x-request-id', requestId);
  const headers = { authorization: operator, ...c.headers?.() };
  for (const [name, value] of Object.entries(headers)) if (value !== '') r = r.set(name, value);
  return r;
}

describe('the fast lane answers exactly what Express answers', () => {
  it.each(CASES)('$name ($via, $status)', async (c) => {
    const [laneBefore, plainBefore] = [lanedRouter(), plainRouter()];
    const id = `case-${CASES.indexOf(c)}`;
    const viaLane = await send(laned, c, id);
    const viaExpress = await send(plain, c, id);
    expect(viaLane.status).toBe(c.status);
    expect(normalized(viaLane)).toEqual(normalized(viaExpress));
    expect(viaLane.headers['x-request-id']).toBe(id);
    expect(plainRouter() - plainBefore).toBe(1);
    expect({ router: lanedRouter() - laneBefore }).toEqual({ router: c.via === 'lane' ? 0 : 1 });
  });

  it('writes the same access-log line and metrics', async () => {
    laneLog.length = 0;
    plainLog.length = 0;
    const c = CASES[3] as Case;
    await send(laned, { ...c, headers: () => ({ 'x-forwarded-for': '198.51.100.9' }) }, 'log-1');
    await send(plain, { ...c, headers: () => ({ 'x-forwarded-for': '198.51.100.9' }) }, 'log-1');
    expect(laneLog).toHaveLength(1);
    const strip = ({ level, line }: Captured) => ({ level, line: { ...line, ms: typeof line.ms } });
    expect(strip(laneLog[0] as Captured)).toEqual(strip(plainLog[0] as Captured));
    expect(laneLog[0]?.line).toMatchObject({ req_id: 'log-1', method: 'GET', status: 200, ip: '198.51.100.9', actor: 'acme-operator', tenant: 'acme', url: `${P}/status/${session}?token=[redacted]&x=1` });
    const metrics = (await request(laned).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/af_http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/pipeline\/status\/:session_id"[^}]*status="200"/);
    expect(metrics).not.toContain(session);
  });

  it('answers 429 with Retry-After and the RateLimit headers once the budget is spent, as Express does', async () => {
    const env = { TRUST_PROXY: '1', RATE_LIMIT_READ_PER_SUBJECT: '2' };
    const apps = { lane: gw.makeRawApp(env), express: gw.makeRawApp(env, { fastLane: false }) };
    const answers: Record<string, Response[]> = { lane: [], express: [] };
    for (const [name, app] of Object.entries(apps)) {
      const auth = bearer(['viewer'], 'acme', `limited-${name}`);
      // The third spends past the budget (Redis says no), the fourth is refused from memory.
      for (let i = 0; i < 4; i++) answers[name]?.push(await request(app).get(`${P}/status/${session}`).set('authorization', auth).set('x-request-id', `rl-${i}`));
    }
    const lane = answers.lane as Response[];
    expect(lane.map((r) => r.status)).toEqual([200, 200, 429, 429]);
    expect(lane.map(normalized)).toEqual((answers.express as Response[]).map(normalized));
    const refused = lane[2] as Response;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['ratelimit-limit']).toBe('2');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.body).toMatchObject({ error_code: 'RATE_LIMITED', details: { limit: 2 } });
  });
});
