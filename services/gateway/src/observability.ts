import { PIPELINE_PHASES } from '@agent-forge/contracts';
import type { PhaseQueues } from '@agent-forge/engine';
import { LATENCY_BUCKETS, counter, histogram, renderMetrics } from '@agent-forge/runtime';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type Request, type RequestHandler, type Router } from 'express';

/** Where the queue dashboard is mounted (QUEUE_DASHBOARD=on). */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';

const httpDuration = () =>
  histogram({
    name: 'af_http_request_duration_seconds',
    help: 'Gateway HTTP request latency by route template, method and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
  });
const controlLatency = () =>
  histogram({
    name: 'af_control_latency_seconds',
    help: 'Latency of POST /api/v1/pipeline/control (the atomic transition plus its enqueue/signal), by action and outcome',
    labelNames: ['action', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
  });
const requestsTotal = () =>
  counter({ name: 'af_http_requests_total', help: 'Gateway HTTP requests by route template and status class', labelNames: ['route', 'code'] as const });

const CONTROL_ACTIONS = new Set(['pause', 'resume', 'stop', 'cancel']);

/** The route template that answered (`/api/v1/pipeline/status/:session_id`), never the raw path (cardinality). */
function routeOf(req: Request, baseUrl: string): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  const template: string | null = route && typeof route.path === 'string' ? (route.path as string) : null;
  if (template !== null) {
    // When an error handler answered, Express has already restored req.baseUrl to '' (the router
    // was left): take the mount path from the URL, which ends with as many segments as the template.
    let base = req.baseUrl || baseUrl;
    if (!base) {
      const segments = (req.originalUrl.split('?')[0] ?? '').split('/');
      const templateSegments = template.split('/').filter((x) => x !== '').length;
      base = segments.slice(0, Math.max(1, segments.length - templateSegments)).join('/');
    }
    return `${base}${template}`;
  }
  if (baseUrl) return baseUrl; // a mounted sub-app (/docs, /admin/queues)
  return 'unmatched';
}

/**
 * Latency and count of every answered request by route template, method and status. One instance
 * per app: Express's middleware and the fast lane observe through the same `observe`.
 */
export class HttpMetrics {
  private readonly duration = httpDuration();
  private readonly control = controlLatency();
  private readonly total = requestsTotal();

  /** `started` is a performance.now() reading taken when the request arrived. */
  observe(method: string, route: string, status: number, started: number): number {
    const seconds = (performance.now() - started) / 1000;
    const code = String(status);
    this.duration.observe({ method, route, status: code }, seconds);
    this.total.inc({ route, code: `${code[0] ?? '0'}xx` });
    return seconds;
  }

  /** Observes every request Express answers (the route template is known once it has). */
  middleware(): RequestHandler {
    return (req, res, next) => {
      if (req.path === '/metrics') return next();
      const started = performance.now();
      res.once('finish', () => {
        const route = routeOf(req, req.baseUrl);
        const seconds = this.observe(req.method, route, res.statusCode, started);
        if (route.endsWith('/pipeline/control') && req.method === 'POST') {
          const body = req.body as { action?: unknown } | undefined;
          const action = typeof body?.action === 'string' && CONTROL_ACTIONS.has(body.action) ? body.action : 'invalid';
          this.control.observe({ action, outcome: res.statusCode < 400 ? 'ok' : 'refused' }, seconds);
        }
      });
      next();
    };
  }
}

/** `GET /metrics`: Prometheus text format (kept off the public ingress/load balancer routes). */
export const metricsHandler: RequestHandler = (_req, res, next) => {
  renderMetrics()
    .then(({ contentType, body }) => {
      res.set('content-type', contentType).set('cache-control', 'no-store').send(body);
    })
    .catch(next);
};

/**
 * bull-board over the phase queues, read-only (no retry/clean/remove buttons): it is mounted only
 * with QUEUE_DASHBOARD=on, and until admin authentication lands anyone who can reach the gateway
 * could use it, so it must not be able to change anything.
 */
export function queueDashboard(queues: PhaseQueues, basePath = QUEUE_DASHBOARD_PATH): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(basePath);
  createBullBoard({
    queues: PIPELINE_PHASES.map((phase) => new BullMQAdapter(queues.queue(phase), { readOnlyMode: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Agent Forge queues' } },
  });
  const router = express.Router();
  router.use(adapter.getRouter() as RequestHandler);
  return router;
}
