import type { RequestHandler } from 'express';

const ALLOWED_METHODS = 'GET,POST,OPTIONS';
const ALLOWED_HEADERS = 'Content-Type,Authorization,X-Request-Id,X-Api-Key';

/**
 * CORS for the configured origins only (none = no CORS headers at all). The allowed origin is
 * echoed, never `*` together with credentials; `*` in the list allows any origin without credentials.
 */
export function cors(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins.filter((o) => o !== '*'));
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origins.length === 0 || !origin) return next();
    if (allowed.has(origin)) {
      res.set('Access-Control-Allow-Origin', origin);
      res.set('Access-Control-Allow-Credentials', 'true');
      res.set('Vary', 'Origin');
    } else if (any) {
      res.set('Access-Control-Allow-Origin', '*');
    } else {
      return next();
    }
    res.set('Access-Control-Expose-Headers', 'X-Request-Id,Retry-After');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
      res.set('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.set('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
