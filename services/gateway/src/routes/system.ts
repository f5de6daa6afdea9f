import { API_PREFIX, buildOpenApiDocument, errorBody, type InfoResponse } from '@agent-forge/contracts';
import express, { type Router } from 'express';
import * as swaggerUi from 'swagger-ui-express';
import type { GatewayContext } from '../context';
import { RETRY_AFTER_SECONDS } from '../errors';
import { queuesUp, redisUp } from '../services/health';

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
      openapi: 'GET /openapi.json',
      docs: 'GET /docs',
      websocket: 'WS /ws/{agents|tasks|metrics|pipeline|dashboard}?session_id=',
    },
  };
}

/** Info, docs, OpenAPI, probes, and `/` → `/docs`. */
export function systemRoutes(ctx: GatewayContext): Router {
  const r = express.Router();
  const doc = buildOpenApiDocument({ version: ctx.version });

  r.get('/', (_req, res) => res.redirect(302, '/docs'));
  r.get('/api/v1/info', (_req, res) => res.json(infoResponse(ctx.version)));
  r.get('/openapi.json', (_req, res) => res.json(doc));
  const ui = { customSiteTitle: 'Agent Forge API', swaggerOptions: { validatorUrl: null } };
  r.use('/docs', swaggerUi.serveFiles(doc, ui), swaggerUi.setup(doc, ui));

  r.get('/health/live', (_req, res) => res.json({ status: 'ok' }));
  r.get('/health/ready', async (_req, res) => {
    const [redis, queues] = await Promise.all([redisUp(ctx), queuesUp(ctx)]);
    if (redis && queues) {
      res.json({ status: 'ready' });
      return;
    }
    res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(503).json(errorBody('UNAVAILABLE', 'Redis does not answer PING', { redis: redis ? 'up' : 'down', queues: queues ? 'up' : 'down' }));
  });
  return r;
}
