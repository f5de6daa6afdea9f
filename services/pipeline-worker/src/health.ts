import http from 'node:http';
import { errorBody } from '@agent-forge/contracts';
import type { PipelinePhase } from '@agent-forge/contracts';
import type { PhaseQueues } from '@agent-forge/engine';
import { pingWithin, serveMetrics, type Redis } from '@agent-forge/runtime';
import type { PhaseWorkers } from './worker';


export interface StuckCheck {
  queues: PhaseQueues;
  phases: readonly PipelinePhase[];
  /** Work waiting this long while this worker, with a free slot, took nothing: it is stuck. */
  afterMs: number;
}

/**
 * Users of BullMQ report workers that silently stop taking jobs (e.g. after a Redis failover).
 * A worker with a free slot in a queue that holds a job waiting longer than `afterMs`, and which has
 * started nothing for that long, says so: readiness and liveness fail, so the orchestrator
 * restarts it.
 */
async function stuckReason(workers: PhaseWorkers, check: StuckCheck): Promise<string | null> {
  if (Date.now() - workers.lastJobStartedAt() < check.afterMs) return null;
  // Only queues this worker could take from count: one whose slots are all held is busy, not stuck.
  const free = check.phases.filter((p) => workers.canTake(p));
  if (free.length === 0) return null;
  const stats = await check.queues.stats(free);
  const waiting = Object.entries(stats).filter(([, s]) => (s.oldest_waiting_age_seconds ?? 0) * 1000 > check.afterMs);
  return waiting.length > 0 ? `jobs of ${waiting.map(([p]) => p).join(', ')} have waited over ${check.afterMs} ms and this worker took none` : null;
}

/** Liveness (the process answers) and readiness (Redis answers and the workers run). */
export function createHealthServer(redis: Redis, workers: PhaseWorkers, workerId: string, stuck: StuckCheck): http.Server {
  return http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/metrics') return serveMetrics(res, req);
    if (req.url === '/health' || req.url === '/health/live') {
      if (redis.status !== 'ready') return send(200, { status: 'ok', worker_id: workerId });
      stuckReason(workers, stuck)
        .then((reason) => (reason ? send(503, errorBody('UNAVAILABLE', `worker stuck: ${reason}`)) : send(200, { status: 'ok', worker_id: workerId })))
        .catch(() => send(200, { status: 'ok', worker_id: workerId }));
      return;
    }
    if (req.url === '/health/ready' || req.url === '/ready') {
      // The worker's connection retries forever (maxRetriesPerRequest: null), so a PING would wait
      // out the whole outage: readiness looks at the connection state and bounds the PING.
      (redis.status === 'ready' ? pingWithin(redis, 1_000) : Promise.resolve(false))
        .then(async (up) => {
          if (!up) return send(503, errorBody('UNAVAILABLE', 'redis is not reachable'));
          if (!workers.isRunning()) return send(503, errorBody('UNAVAILABLE', 'workers are not running'));
          const reason = await stuckReason(workers, stuck);
          return reason ? send(503, errorBody('UNAVAILABLE', `worker stuck: ${reason}`)) : send(200, { status: 'ready', worker_id: workerId });
        })
        .catch(() => send(503, errorBody('UNAVAILABLE', 'redis is not reachable')));
      return;
    }
    send(404, errorBody('NOT_FOUND', `no route ${req.url ?? ''}`));
  });
}
