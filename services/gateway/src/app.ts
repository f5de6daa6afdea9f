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
import { pipelineHandlers } from './routes/pipeline';
import { presetHandlers } from './routes/presets';
import { systemHandlers } from './routes/system';
import type { Handlers } from './routes/types';
import { guard } from './security';
import { httpMetrics } from './observability';
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
function chain(spec: RouteSpec, handler: RequestHandler | RequestHandler[], ctx: GatewayContext): RequestHandler[] {
  const out: RequestHandler[] = [];
  if (spec.access !== 'public') out.push(guard(spec, { auth: ctx.auth, limits: ctx.limits, auditor: ctx.auditor }));
  if (spec.method === 'post' || spec.method === 'delete') out.push(...jsonBody(ctx.config.BODY_LIMIT_BYTES));
  out.push(...(Array.isArray(handler) ? handler : [handler]));
  return out;
}

/**
 * The gateway's Express app. Stateless: every answer comes from Redis, so replicas are
 * interchangeable. Routes come only from the route table (route-table.ts), each behind the guard
 * its row describes; a test fails if anything else ever gets registered.
 */
export function createGatewayApp(deps: GatewayDeps): Application {
  const ctx = createContext(deps);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', trustProxySetting(deps.config.TRUST_PROXY));
  if (!ctx.auth.enabled) deps.logger.warn('AUTH_MODE=off: every request is served as an admin of every tenant. Never run like this outside local development.');

  app.use(accessLog(deps.logger));
  app.use(staticHeaders(helmetHeaders(HELMET_OPTIONS)));
  const cors = corsMiddleware(deps.config.CORS_ORIGINS);
  if (cors) app.use(cors);
  app.use(httpMetrics());

  const handlers: Handlers = {
    ...pipelineHandlers(ctx),
    ...checkpointHandlers(ctx),
    ...presetHandlers(ctx),
    ...authHandlers(ctx),
    ...systemHandlers(ctx),
  };
  for (const spec of ROUTES as readonly RouteSpec[]) {
    const handler = handlers[spec.id as keyof Handlers];
    if (!handler) throw new Error(`route ${spec.id} has no handler`);
    app[spec.method](spec.path, ...chain(spec, handler, ctx));
  }

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
