import express, { type RequestHandler, type Router } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { HttpError } from '../errors';

export const DASHBOARD_PATH = '/dashboard';

/**
 * The dashboard's page allows only its own files: no inline script or style (styles are set
 * through the CSSOM), no other origin. `connect-src 'self'` covers the API and the same-origin
 * WebSocket channels behind the entry URL.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Where the built dashboard is (packages/dashboard/dist), or null when it cannot be found. */
export function dashboardDir(): string | null {
  try {
    const dir = path.join(path.dirname(require.resolve('@agent-forge/dashboard/package.json')), 'dist');
    return existsSync(path.join(dir, 'index.html')) ? dir : null;
  } catch {
    return null;
  }
}

/** `/dashboard/` → the static dashboard (index.html, dashboard.js, dashboard.css). */
export function dashboardRoutes(dir: string | null = dashboardDir()): Router {
  const r = express.Router();
  const headers: RequestHandler = (_req, res, next) => {
    res.set('Content-Security-Policy', DASHBOARD_CSP);
    next();
  };
  // Mounted at DASHBOARD_PATH by the route table (app.ts), so paths here are relative to it.
  if (!dir) {
    r.use(() => {
      throw new HttpError('UNAVAILABLE', 'the dashboard is not built: run `pnpm build` (it bundles packages/dashboard)');
    });
    return r;
  }
  r.use(
    headers,
    express.static(dir, {
      index: 'index.html',
      redirect: true,
      // Revalidate every time (ETag): a rebuilt dashboard is picked up at once.
      cacheControl: true,
      maxAge: 0,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  return r;
}
