import http from 'node:http';
import { errorBody } from '@agent-forge/contracts';
import { serveMetrics, type Redis } from '@agent-forge/runtime';
import type { PhaseWorkers } from './worker';

const PING_TIMEOUT_MS = 1_000;

/** Liveness (the process answers), readiness (Redis answers within 1 s and the workers run) and /metrics. */
export function createHealthServer(redis: Redis, workers: PhaseWorkers, workerId: string): http.Server {
  return http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/health' || req.url === '/health/live') return send(200, { status: 'ok', worker_id: workerId });
    if (req.url === '/metrics') return serveMetrics(res, req);
    if (req.url === '/health/ready' || req.url === '/ready') {
      // The worker's connection retries forever (BullMQ needs that): bound the probe's wait here.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), PING_TIMEOUT_MS);
      });
      Promise.race([redis.ping(), timeout])
        .finally(() => clearTimeout(timer))
        .then(() =>
          workers.isRunning()
            ? send(200, { status: 'ready', worker_id: workerId })
            : send(503, errorBody('UNAVAILABLE', 'workers are not running')),
        )
        .catch(() => send(503, errorBody('UNAVAILABLE', 'redis is not reachable')));
      return;
    }
    send(404, errorBody('NOT_FOUND', `no route ${req.url ?? ''}`));
  });
}
