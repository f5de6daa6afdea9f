import type { Logger } from '@agent-forge/runtime';
import { actorOf } from '@agent-forge/auth';
import type { Request, RequestHandler } from 'express';
import type { IncomingMessage } from 'node:http';
import './http-types';
import { genReqId } from './request-id';

/** Query values that may carry credentials are masked before a URL reaches a log line. */
const SECRET_QUERY = /([?&](?:token|api_key|apikey|access_token)=)[^&#]*/gi;
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

const QUIET = new Set(['/health/live', '/health/ready']);

/**
 * The one access-log line of a finished request (Express's path and the fast lane both write it
 * here). `ip` is only asked for when the line is written. Headers are never logged (credentials
 * travel there).
 */
export function logAccess<R extends IncomingMessage>(logger: Logger, req: R, status: number, url: string, started: number, ipOf: (req: R) => string | undefined): void {
  const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      req_id: req.id,
      method: req.method,
      url: redactUrl(url),
      status,
      ms: Math.round((performance.now() - started) * 100) / 100,
      ip: ipOf(req),
      ...(req.principal ? { actor: actorOf(req.principal), tenant: req.principal.tenant } : {}),
    },
    'request completed',
  );
}

const expressIp = (req: Request): string | undefined => req.ip;

/**
 * Request id + one access-log line per request, written when the answer is finished. This replaces
 * pino-http, whose per-request child logger (bindings serialized on every request) was the largest
 * single cost of the request path.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    req.id = genReqId(req, res);
    const started = performance.now();
    res.once('finish', () => {
      if (QUIET.has(req.path)) return;
      logAccess(logger, req, res.statusCode, req.originalUrl, started, expressIp);
    });
    next();
  };
}
