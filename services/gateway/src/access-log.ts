import type { Logger } from '@agent-forge/runtime';
import { actorOf } from '@agent-forge/auth';
import type { RequestHandler } from 'express';
import './http-types';
import { genReqId } from './request-id';

/** Query values that may carry credentials are masked before a URL reaches a log line. */
const SECRET_QUERY = /([?&](?:token|api_key|apikey|access_token)=)[^&#]*/gi;
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

const QUIET = new Set(['/health/live', '/health/ready']);

/**
 * Request id + one access-log line per request, written when the answer is finished. This replaces
 * pino-http, whose per-request child logger (bindings serialized on every request) was the largest
 * single cost of the request path. Headers are never logged (credentials travel there).
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = genReqId(req, res);
    req.id = id;
    const started = performance.now();
    res.once('finish', () => {
      if (QUIET.has(req.path)) return;
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req_id: id,
          method: req.method,
          url: redactUrl(req.originalUrl),
          status,
          ms: Math.round((performance.now() - started) * 100) / 100,
          ip: req.ip,
          ...(req.principal ? { actor: actorOf(req.principal), tenant: req.principal.tenant } : {}),
        },
        'request completed',
      );
    });
    next();
  };
}
