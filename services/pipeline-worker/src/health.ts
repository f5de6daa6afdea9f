import http from 'node:http';
import { errorBody } from '@agent-forge/contracts';
import type { Redis } from '@agent-forge/runtime';
import type { PhaseWorkers } from './worker';

/** Liveness (the process answers) and readiness (Redis answers and the workers run). */
export function createHealthServer(redis: Redis, workers: PhaseWorkers, workerId: string): http.Server {
  return http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/health' || req.url === '/health/live') return send(200, { status: 'ok', worker_id: workerId });
    if (req.url === '/health/ready' || req.url === '/ready') {
      redis
        .ping()
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
