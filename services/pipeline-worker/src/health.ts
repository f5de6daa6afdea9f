import http from 'node:http';
import { errorBody } from '@agent-forge/contracts';
import type { Redis } from '@agent-forge/runtime';
import type { PhaseWorkers } from './worker';

/** Liveness (the process answers) and readiness (Redis answers and the workers run). */
function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error('redis ping timed out')), ms).unref());
}

export function createHealthServer(redis: Redis, workers: PhaseWorkers, workerId: string): http.Server {
  return http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/health' || req.url === '/health/live') return send(200, { status: 'ok', worker_id: workerId });
    if (req.url === '/health/ready' || req.url === '/ready') {
      // The worker's connection retries forever (maxRetriesPerRequest: null), so a PING would wait
      // out the whole outage: readiness looks at the connection state and bounds the PING.
      (redis.status === 'ready' ? Promise.race([redis.ping(), timeout(1_000)]) : Promise.reject(new Error(redis.status)))
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
