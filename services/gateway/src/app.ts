import { API_PREFIX } from '@agent-forge/contracts';
import express, { type Application, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { IncomingMessage } from 'node:http';
import { pinoHttp } from 'pino-http';
import { createContext, type GatewayDeps } from './context';
import { cors } from './cors';
import { ValidationError, errorHandler, notFoundHandler } from './errors';
import { QUEUE_DASHBOARD_PATH, httpMetrics, metricsHandler, queueDashboard } from './observability';
import { genReqId } from './request-id';
import { checkpointRoutes } from './routes/checkpoints';
import { dashboardRoutes } from './routes/dashboard';
import { pipelineRoutes } from './routes/pipeline';
import { presetRoutes } from './routes/presets';
import { systemRoutes } from './routes/system';

/**
 * JSON is parsed when the request says so (`application/json`, `*+json`) or says nothing, as
 * FastAPI did; any other content type is refused with a 422 naming the content type.
 */
function isJsonRequest(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (!type) return true;
  const mime = (type.split(';')[0] ?? '').trim().toLowerCase();
  return mime === 'application/json' || mime.endsWith('+json');
}

/** A body that was not parsed because of its content type is reported as such (422), not as missing fields. */
const jsonBodyOnly: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (req.body === undefined && hasBody && !isJsonRequest(req)) {
    const type = req.headers['content-type'] ?? '';
    throw new ValidationError({ body: `expected a JSON object sent as application/json, got ${type}` }, 'request body is not JSON');
  }
  next();
};

/** The gateway's Express app. Stateless: every answer comes from Redis, so replicas are interchangeable. */
export function createGatewayApp(deps: GatewayDeps): Application {
  const ctx = createContext(deps);
  const app = express();
  app.disable('x-powered-by');

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId,
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      autoLogging: { ignore: (req) => req.url === '/health/live' || req.url === '/health/ready' || req.url === '/metrics' },
      // One compact line per request; headers (credentials travel there) are never logged.
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(
    helmet({
      // Plain-HTTP deployments (dev, behind a TLS proxy) would break Swagger UI's assets if upgraded.
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );
  app.use(cors(deps.config.CORS_ORIGINS));
  app.use(httpMetrics());
  app.get('/metrics', metricsHandler);
  if (deps.config.QUEUE_DASHBOARD) app.use(QUEUE_DASHBOARD_PATH, queueDashboard(deps.queues));
  app.use(express.json({ limit: deps.config.BODY_LIMIT_BYTES, strict: false, type: isJsonRequest }));

  app.use(API_PREFIX, jsonBodyOnly, pipelineRoutes(ctx), checkpointRoutes(ctx), presetRoutes(ctx));
  app.use(systemRoutes(ctx));
  app.use(dashboardRoutes());

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
