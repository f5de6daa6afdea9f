import { buildOpenApiDocument } from '@agent-forge/contracts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { ROUTES, type RouteSpec } from './route-table';
import { createTestGateway } from './test-support';

/**
 * The OpenAPI document against the real app: every route the gateway registers must be in it, and
 * it must be a valid OpenAPI 3.1 document (checked offline by @seriousme/openapi-schema-validator,
 * an ESM package, so in a child node process).
 */
const gw = createTestGateway('gw-openapi', { QUEUE_DASHBOARD: 'on' });
afterAll(() => gw.close());

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: string | string[];
}

/** Mounted apps that are not part of the API: the queue view (off by default, admin only). */
const UNDOCUMENTED_MOUNTS = new Set(['/admin/queues']);

/** `[method, path]` of every route of an Express 5 app: routes, mounted routers, mounted apps (`use`). */
export function registeredRoutes(app: { router: { stack: Layer[] } }): [string, string][] {
  const out: [string, string][] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      const raw = Array.isArray(layer.rawPath) ? layer.rawPath[0] : layer.rawPath;
      const mount = raw && raw !== '/' ? raw : '';
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) out.push([method, `${prefix}${layer.route.path}`]);
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, `${prefix}${mount}`);
      } else if (mount) {
        out.push(['use', `${prefix}${mount}`]);
      }
    }
  };
  walk(app.router.stack, '');
  const seen = new Set<string>();
  const unique = out.filter(([m, p]) => !seen.has(`${m} ${p}`) && Boolean(seen.add(`${m} ${p}`)));
  // A path-scoped middleware in front of routes (e.g. the JSON body check on /api/v1/pipeline) is
  // not an endpoint; a mount with no route under it (docs, dashboard) is.
  return unique.filter(([m, p]) => m !== 'use' || !unique.some(([m2, p2]) => m2 !== 'use' && p2.startsWith(`${p}/`)));
}

/** Validate documents in one child process (the validator compiles the 3.1 schema once). */
function validate(...docs: unknown[]): { valid: boolean; errors?: unknown }[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'af-openapi-'));
  const files = docs.map((doc, i) => {
    const file = path.join(dir, `openapi-${i}.json`);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  });
  const script = `import { Validator } from '@seriousme/openapi-schema-validator';
const out = [];
for (const file of process.argv.slice(1)) out.push(await new Validator().validate(file));
process.stdout.write(JSON.stringify(out));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, ...files], { cwd: __dirname, encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out) as { valid: boolean; errors?: unknown }[];
}

describe('OpenAPI document', () => {
  it('documents every route the gateway registers (path parameters as {name})', async () => {
    const doc = (await request(gw.app).get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    const routes = registeredRoutes(gw.rawApp as unknown as { router: { stack: Layer[] } });
    expect(routes.length).toBeGreaterThan(15);
    const missing = routes
      .filter(([, p]) => !UNDOCUMENTED_MOUNTS.has(p))
      .map(([method, p]) => [method === 'use' ? 'get' : method, p.replace(/:([A-Za-z0-9_]+)/g, '{$1}')] as const)
      .filter(([method, p]) => !doc.paths[p]?.[method])
      .map(([m, p]) => `${m.toUpperCase()} ${p}`);
    expect(missing).toEqual([]);
    // and nothing documented that is not served
    const served = new Set(routes.map(([m, p]) => `${m === 'use' ? 'get' : m} ${p.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`));
    // Sub-apps mounted as routers (the dashboard) show up as their route-table row, not as a layer.
    for (const r of ROUTES as readonly RouteSpec[]) if (r.method === 'use') served.add(`get ${r.path}`);
    const extra = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).filter((k) => !served.has(k));
    expect(extra).toEqual([]);
  });

  it('is a valid OpenAPI 3.1 document (and the validator does catch a broken one)', () => {
    const doc = buildOpenApiDocument({ version: '0.1.0' });
    const broken = JSON.parse(JSON.stringify(doc)) as { paths: Record<string, Record<string, { responses: unknown }>> };
    broken.paths['/api/v1/pipeline/presets']!.get!.responses = 'none';
    const [good, bad] = validate(doc, broken);
    expect(good).toEqual({ valid: true });
    expect(bad!.valid).toBe(false);
  });

  it('serves the dashboard under a strict CSP', async () => {
    const redirect = await request(gw.app).get('/dashboard').expect(301);
    expect(redirect.headers.location).toBe('/dashboard/');
    const page = await request(gw.app).get('/dashboard/').expect(200);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(page.text).toContain('<script src="dashboard.js" defer></script>');
    expect(page.text).not.toMatch(/<script>(?!<)/); // no inline script
    const js = await request(gw.app).get('/dashboard/dashboard.js').expect(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    await request(gw.app).get('/dashboard/nope.js').expect(404);
  });
});
