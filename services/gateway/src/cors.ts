import corsPackage, { type CorsOptions } from 'cors';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Middleware on plain node:http objects (the `cors` package is one): Express and the fast lane both run it. */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

const METHODS = ['GET', 'POST', 'DELETE', 'OPTIONS'];
const ALLOWED_HEADERS = ['Content-Type', 'Authorization', 'X-Request-Id', 'X-Api-Key'];
const EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy'];

/**
 * CORS for the configured origins only, with the maintained `cors` package (null when none are
 * configured: no CORS headers at all). A listed origin is echoed with credentials allowed; `*` in
 * the list allows any other origin but never with credentials (browsers refuse `*` + credentials,
 * and echoing any origin with credentials would let every site act as the user).
 */
export function corsMiddleware(origins: readonly string[]): NodeMiddleware | null {
  if (origins.length === 0) return null;
  const any = origins.includes('*');
  const allowed = new Set(origins.filter((o) => o !== '*'));
  const common: CorsOptions = { methods: METHODS, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 };
  return corsPackage((req, callback) => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) callback(null, { ...common, origin, credentials: true });
    else if (origin && any) callback(null, { ...common, origin: '*', credentials: false });
    else callback(null, { origin: false });
  });
}
