import type { Application, RequestHandler } from 'express';
import express from 'express';
import { accessLog } from './access-log';
import { jsonBody } from './body';
import { createContext, type GatewayContext, type GatewayDeps } from './context';
import { corsMiddleware } from './cors';
import { errorHandler, notFoundHandler } from './errors';
import { ROUTES, type RouteSpec } from './route-table';
import { authHandlers } from './routes/auth';
import { checkpointHandlers } from './routes/checkpoints';
import { pipelineHandlers, pipelineReads } from './routes/pipeline';
import { presetHandlers } from './routes/presets';
import { systemHandlers } from './routes/system';
import type { Handlers } from './routes/types';
import { RouteGuard, guard } from './security';
import { HttpMetrics } from './observability';
import { installFastLane } from './fast-lane';
import { helmetHeaders, staticHeaders } from './static-headers';

/** helmet's defaults; only Swagger UI's assets need plain-HTTP deployments not to be upgraded. */
export const HELMET_OPTIONS = { contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } };

/** Express `trust proxy` from TRUST_PROXY: '' none, a hop count, or a list of addresses/CIDRs. */
export function trustProxySetting(value: string): boolean | number | string[] {
  const v = value.trim();
  if (v === '' || v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Everything a route runs, in order: its guard (unless public), body parsing (if it takes one), its handler. */
function chain(spec: RouteSpec, handler: RequestHandler | RequestHandler[], routeGuard: RouteGuard | undefined, ctx: GatewayContext): RequestHandler[] {
  const out: RequestHandler[] = [];
  if (routeGuard) out.push(guard(routeGuard));
  if (spec.method === 'post' || spec.method === 'delete') out.push(...jsonBody(ctx.config.BODY_LIMIT_BYTES));
  out.push(...(Array.isArray(handler) ? handler : [handler]));
  return out;
}

/** Test-only switches of createGatewayApp. */
export interface GatewayAppOptions {
  /** false: every request goes through Express (tests compare the fast lane against it). */
  fastLane?: boolean;
}

/**
 * The gateway's Express app. Stateless: every answer comes from Redis, so replicas are
 * interchangeable. Routes come only from the route table (route-table.ts), each behind the guard
 * its row describes; a test fails if anything else ever gets registered. The rows marked
 * `fastLane` are answered by the fast lane (fast-lane.ts) in front of the router, with the same
 * guard instances, read functions, headers, log and metrics.
 */
export function createGatewayApp(deps: GatewayDeps, options: GatewayAppOptions = {}): Application {
  const ctx = createContext(deps);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', trustProxySetting(deps.config.TRUST_PROXY));
  if (!ctx.auth.enabled) deps.logger.warn('AUTH_MODE=off: every request is served as an admin of every tenant. Never run like this outside local development.');

  const headers = helmetHeaders(HELMET_OPTIONS);
  const cors = corsMiddleware(deps.config.CORS_ORIGINS);
  const metrics = new HttpMetrics();
  app.use(accessLog(deps.logger));
  app.use(staticHeaders(headers));
  if (cors) app.use(cors);
  app.use(metrics.middleware());

  const reads = pipelineReads(ctx);
  const handlers: Handlers = {
    ...pipelineHandlers(ctx),
    ...checkpointHandlers(ctx),
    ...presetHandlers(ctx),
    ...authHandlers(ctx),
    ...systemHandlers(ctx),
  };
  const guardDeps = { auth: ctx.auth, limits: ctx.limits, auditor: ctx.auditor, logger: deps.logger };
  const guards = new Map<string, RouteGuard>();
  for (const spec of ROUTES as readonly RouteSpec[]) {
    const handler = handlers[spec.id as keyof Handlers];
    if (!handler) throw new Error(`route ${spec.id} has no handler`);
    const routeGuard = spec.access === 'public' ? undefined : new RouteGuard(spec, guardDeps);
    if (routeGuard) guards.set(spec.id, routeGuard);
    app[spec.method](spec.path, ...chain(spec, handler, routeGuard, ctx));
  }

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  if (options.fastLane !== false) installFastLane(app, { logger: deps.logger, redis: deps.redis, metrics, headers, cors, guards, reads });
  return app;
}
