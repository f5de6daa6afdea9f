import fc from 'fast-check';
import request, { type Response } from 'supertest';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROUTES, type RouteSpec } from './route-table';
import { createGatewayServer } from './server';
import { createTestGateway } from './test-support';

/**
 * Property-based fuzzing of every route in the route table (body, query, path parameters) and of
 * the request headers: whatever a client sends, the gateway never answers 5xx, and every non-2xx
 * answer is the contract's error shape. Prototype-pollution keys, huge and odd numbers, deep
 * nesting, unicode and very long strings are all in the mix. Runs against the real app on the real
 * Redis (admin caller, so requests get past auth into validation and the handlers).
 */
const gw = createTestGateway('gw-fuzz');
afterAll(() => gw.close());
const app = gw.app;
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS_PER_ROUTE ?? 80);
const HEADER_RUNS = Number(process.env.FUZZ_HEADER_RUNS ?? 500);
/**
 * Time budgets keep the file fast on a busy machine: a property stops (without failing) when its
 * budget is spent; on an idle machine every run completes well within it (~2,300 cases in all).
 */
const ROUTE_BUDGET_MS = Number(process.env.FUZZ_ROUTE_BUDGET_MS ?? 1_000);
const HEADER_BUDGET_MS = Number(process.env.FUZZ_HEADER_BUDGET_MS ?? 4_000);
let casesRun = 0;

/** Run a property within a time budget; a counterexample fails the test with fast-check's report. */
async function check<Ts extends unknown[]>(property: fc.IAsyncPropertyWithHooks<Ts>, numRuns: number, budgetMs: number): Promise<void> {
  const out = await fc.check(property, { numRuns, interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false });
  if (out.failed) throw new Error(fc.defaultReportMessage(out) ?? 'property failed');
  casesRun += out.numRuns;
}

const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'phases', 'config', 'session_id', 'action', 'preset', 'preset_name', 'roles', 'limit', 'status', 'tenant'];
const key = fc.oneof(fc.constantFrom(...SPECIAL_KEYS), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
const hugeNumber = fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -0, 5e-324, 2 ** 53, 1e21, 0.1 + 0.2);
const scalar = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  hugeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('cognate', 'evomerge', 'training', 'pause', 'resume', 'cancel', 'stop', 'hierarchical', 'admin', 'viewer', ''),
);
const longString = fc.integer({ min: 1_000, max: 120_000 }).map((n) => 'é'.repeat(n));
/** Nesting deeper than any legitimate body (the gateway caps it at 32 levels). */
const deep = fc.integer({ min: 20, max: 3_000 }).map((n) => {
  let v: unknown = 'bottom';
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { __proto__x: 1, nested: v };
  return v;
});
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
})).value;
/** Bodies that look almost right, so the fuzzer also reaches the handlers, not only validation. */
const nearlyValid = fc.record(
  {
    phases: fc.oneof(fc.constant(['cognate']), fc.array(fc.constantFrom('cognate', 'evomerge', 'bitnet', 'warp'), { maxLength: 4 }), json),
    config: fc.oneof(fc.constant({}), fc.dictionary(fc.constantFrom('cognate', 'training', '__proto__', 'constructor', 'dry_run'), json, { maxKeys: 3 }), json),
    max_agents: fc.oneof(fc.integer({ min: -5, max: 200 }), hugeNumber, json),
    session_id: fc.oneof(fc.uuid(), fc.string({ maxLength: 200 }), json),
    action: fc.oneof(fc.constantFrom('pause', 'resume', 'stop', 'cancel', 'explode'), json),
    preset_name: fc.oneof(fc.constantFrom('p1', 'quick_test', '../etc', 'a'.repeat(70)), json),
    name: fc.oneof(fc.string({ maxLength: 200 }), json),
    roles: fc.oneof(fc.array(fc.constantFrom('viewer', 'operator', 'admin', 'root'), { maxLength: 3 }), json),
    tenant: fc.oneof(fc.constantFrom('acme', 'a:b', '{x}', '*', ''), json),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(json, nearlyValid, deep, longString.map((s) => ({ phases: ['cognate'], config: { cognate: { blob: s } } })), fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "phases": ["cognate"]}')));
const rawBody = fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('{', '[1,', '{"a":}', 'null', '"x"', '1e999999', '{"__proto__":{"x":1}}', '\u0000', '[]'));

const paramValue = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom('..', '.', '%', '%zz', '%2F', '__proto__', 'constructor', 'quick_test', 'a'.repeat(1_500), '*'),
);
const encodeParam = (v: string) => (/^%|%zz$/.test(v) && v.length <= 3 ? v : encodeURIComponent(v));
const queryValue = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('1', '0', '101', '-1', '1e400', 'cancelled', 'bogus', 'cognate', '9-9'));
const query = fc.dictionary(fc.oneof(fc.constantFrom('limit', 'status', 'phase', 'tenant', 'cursor', 'since', 'until', 'actor', 'action', 'outcome', '__proto__', 'constructor'), fc.string({ maxLength: 8 })), fc.oneof(queryValue, fc.array(queryValue, { maxLength: 3 })), { maxKeys: 4 });
const toQuery = (q: Record<string, string | string[]>) => {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) for (const item of Array.isArray(v) ? v : [v]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(item)}`);
  return parts.length ? `?${parts.join('&')}` : '';
};

const ERROR_KEYS = ['detail', 'details', 'error', 'error_code', 'timestamp'];
function checkAnswer(res: Response, what: string): void {
  if (res.status >= 500) throw new Error(`${what} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  if (res.status >= 400) {
    const b = res.body as Record<string, unknown>;
    if (JSON.stringify(Object.keys(b).sort()) !== JSON.stringify(ERROR_KEYS) || typeof b.error_code !== 'string' || b.detail !== b.error) {
      throw new Error(`${what} answered ${res.status} without the error shape: ${JSON.stringify(b).slice(0, 300)}`);
    }
    if (/\bat .+\.(ts|js):\d+/.test(JSON.stringify(b))) throw new Error(`${what}: a stack trace leaked`);
  }
}

const fuzzable = (ROUTES as readonly RouteSpec[]).filter((r) => r.method !== 'use');

describe('fuzzing every route', () => {
  it.each(fuzzable)('$method $path: body, query and path parameters', async (spec) => {
    const params = (spec.path.match(/:([a-z_]+)/g) ?? []).length;
    await check(
      fc.asyncProperty(fc.array(paramValue, { minLength: params, maxLength: params }), query, fc.oneof(body.map((b) => ({ json: b })), rawBody.map((r) => ({ raw: r }))), async (ps, q, payload) => {
        let i = 0;
        const path = spec.path.replace(/:([a-z_]+)/g, () => encodeParam(ps[i++] as string)) + toQuery(q);
        let r = request(app)[spec.method as 'get' | 'post' | 'delete'](path);
        if (spec.method !== 'get') {
          r = r.set('content-type', 'application/json').send('json' in payload ? (JSON.stringify(payload.json) ?? 'null') : payload.raw);
        }
        checkAnswer(await r, `${spec.method.toUpperCase()} ${path.slice(0, 120)}`);
      }),
      RUNS_PER_ROUTE,
      ROUTE_BUDGET_MS,
    );
    // The gateway's own objects were never polluted.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('fuzzing headers', () => {
  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
  const headerValue = fc.oneof(printable, fc.constantFrom('Bearer', 'Bearer ', 'Bearer a.b.c', 'Basic dXNlcjpwYXNz', 'bearer afk_', `Bearer afk_${'0'.repeat(16)}_${'A'.repeat(43)}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'application/json; charset=utf-7', 'text/plain', 'application/x-www-form-urlencoded', '*/*', 'x'.repeat(7_000)));
  const headerName = fc.constantFrom('authorization', 'x-api-key', 'content-type', 'x-request-id', 'accept', 'origin', 'x-forwarded-for', 'content-encoding', 'accept-encoding', 'cookie', 'x-custom');

  // Served as main.ts serves it: headers too large for Node's parser (16 KiB) never reach the app
  // and are answered by the server itself — in the error shape too.
  const served = createGatewayServer(gw.rawApp as unknown as RequestListener, null);
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => served.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(served.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => served.close(() => resolve())));

  it('never 5xx and always the error shape, whatever the headers', async () => {
    await check(
      fc.asyncProperty(fc.constantFrom(...fuzzable), fc.dictionary(headerName, headerValue, { maxKeys: 4 }), async (spec, headers) => {
        const path = spec.path.replace(/:([a-z_]+)/g, 'x');
        let r = request(base)[spec.method as 'get' | 'post' | 'delete'](path);
        for (const [name, value] of Object.entries(headers)) r = r.set(name, value);
        if (spec.method === 'post') r = r.send('{"phases":["cognate"]}');
        checkAnswer(await r, `${spec.method.toUpperCase()} ${path} with ${JSON.stringify(headers).slice(0, 200)}`);
      }),
      HEADER_RUNS,
      HEADER_BUDGET_MS,
    );
  });

  it('ran a meaningful number of cases (time budgets notwithstanding)', () => {
    if (process.env.FUZZ_REPORT) process.stderr.write(`fuzz: ${casesRun} cases\n`);
    expect(casesRun).toBeGreaterThanOrEqual(500);
  });
});
