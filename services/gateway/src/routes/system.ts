import express, { type RequestHandler } from 'express';
import { API_PREFIX, buildOpenApiDocument, errorBody, type InfoResponse } from '@agent-forge/contracts';
import * as swaggerUi from 'swagger-ui-express';
import type { GatewayContext } from '../context';
import { RETRY_AFTER_SECONDS } from '../errors';
import { queuesUp, redisUp } from '../services/health';
import { metricsHandler, queueDashboard } from '../observability';
import { dashboardRoutes } from './dashboard';
import type { Handlers } from './types';

/** A mounted sub-app as one router, so the route's guard is the only layer in front of it. */
function asMount(handler: RequestHandler): RequestHandler {
  const router = express.Router();
  router.use(handler);
  return router;
}

export function infoResponse(version: string): InfoResponse {
  const p = API_PREFIX;
  return {
    name: 'Agent Forge API',
    version,
    description: 'Run, steer, checkpoint and watch multi-phase model-building pipelines. Stateless REST gateway; all state lives in Redis.',
    features: [
      '8-phase pipeline (cognate, evomerge, quietstar, bitnet, training, baking, adas, compression)',
      'atomic control transitions (pause, resume, stop, cancel)',
      'phase jobs on BullMQ queues with deterministic job ids',
      'checkpoints with real serialized size, restorable into a new session',
      'quality gates judged from measured phase data',
      'presets (built-in and saved)',
      'execution history',
      'OpenAPI 3.1 document and Swagger UI',
      'real-time events over WebSocket (realtime service)',
      'JWT (HS256/RS256/ES256, JWKS) and API-key authentication, roles viewer/operator/admin, tenant isolation',
      'rate limits shared across replicas, audit log',
      'live dashboard at /dashboard',
    ],
    endpoints: {
      start: `POST ${p}/start`,
      control: `POST ${p}/control`,
      status: `GET ${p}/status/{session_id}`,
      swarm: `GET ${p}/swarm/{session_id}`,
      quality_gates: `POST ${p}/quality-gates/{session_id}?phase=`,
      checkpoint_save: `POST ${p}/checkpoint/save`,
      checkpoint_load: `POST ${p}/checkpoint/load/{checkpoint_id}`,
      checkpoints: `GET ${p}/checkpoints/{session_id}`,
      presets: `GET ${p}/presets`,
      preset: `GET ${p}/preset/{name}`,
      preset_save: `POST ${p}/preset/save`,
      history: `GET ${p}/history?limit=&status=`,
      health: `GET ${p}/health`,
      info: 'GET /api/v1/info',
      whoami: 'GET /api/v1/auth/whoami',
      api_keys: 'POST|GET /api/v1/auth/api-keys, DELETE /api/v1/auth/api-keys/{key_id}',
      audit: 'GET /api/v1/audit?tenant=&actor=&action=&outcome=&since=&until=&cursor=&limit=',
      openapi: 'GET /openapi.json',
      docs: 'GET /docs',
      dashboard: 'GET /dashboard',
      health_live: 'GET /health/live',
      health_ready: 'GET /health/ready',
      metrics: 'GET /metrics',
      queue_dashboard: 'GET /admin/queues (admins; QUEUE_DASHBOARD=on)',
      websocket: 'WS /ws/{agents|tasks|metrics|pipeline|dashboard}?session_id=',
    },
  };
}

/** Info, docs, OpenAPI, probes, and `/` → `/docs`: all public. */
export function systemHandlers(ctx: GatewayContext): Handlers {
  const doc = buildOpenApiDocument({ version: ctx.version });
  const ui = { customSiteTitle: 'Agent Forge API', swaggerOptions: { validatorUrl: null } };
  return {
    root: (_req, res) => res.redirect(302, '/docs'),
    info: (_req, res) => {
      res.json(infoResponse(ctx.version));
    },
    openapi: (_req, res) => {
      res.json(doc);
    },
    docs: [...swaggerUi.serveFiles(doc, ui), swaggerUi.setup(doc, ui)],
    'health.live': (_req, res) => {
      res.json({ status: 'ok' });
    },
    'health.ready': async (_req, res) => {
      const [redis, queues] = await Promise.all([redisUp(ctx), queuesUp(ctx)]);
      if (redis && queues) {
        res.json({ status: 'ready' });
        return;
      }
      res.set('Retry-After', String(RETRY_AFTER_SECONDS));
      res.status(503).json(errorBody('UNAVAILABLE', 'Redis does not answer PING', { redis: redis ? 'up' : 'down', queues: queues ? 'up' : 'down' }));
    },
    metrics: metricsHandler,
    dashboard: dashboardRoutes(),
    // bull-board, read-only; mounted only when QUEUE_DASHBOARD is on (else the route answers 404).
    'admin.queues': asMount(ctx.config.QUEUE_DASHBOARD ? queueDashboard(ctx.queues) : (_req, res) => void res.status(404).json(errorBody('NOT_FOUND', 'the queue dashboard is off (QUEUE_DASHBOARD)'))),
  };
}
