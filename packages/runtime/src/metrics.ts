import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Counter, Gauge, Histogram } from 'prom-client';

/**
 * Prometheus metrics of one service process: one registry, the process/Node defaults
 * (`process_*`, `nodejs_*`), and get-or-create helpers so a module can declare its metrics where
 * they are used (and tests that build several apps in one process do not register twice).
 * Every name starts with `af_`.
 */
export const metricsRegistry = new Registry();
let defaultsOn = false;

/** Label every series with the service and turn on the process metrics (once per process). */
export function initMetrics(service: string): Registry {
  metricsRegistry.setDefaultLabels({ service });
  if (!defaultsOn) {
    collectDefaultMetrics({ register: metricsRegistry });
    defaultsOn = true;
  }
  return metricsRegistry;
}

type Cfg<T extends string> = { name: string; help: string; labelNames?: readonly T[] };

export function counter<T extends string = string>(cfg: Cfg<T>): Counter<T> {
  const existing = metricsRegistry.getSingleMetric(cfg.name);
  if (existing) return existing as Counter<T>;
  return new Counter<T>({ ...cfg, labelNames: cfg.labelNames ?? [], registers: [metricsRegistry] });
}

export function gauge<T extends string = string>(cfg: Cfg<T> & { collect?: (this: Gauge<T>) => void | Promise<void> }): Gauge<T> {
  const existing = metricsRegistry.getSingleMetric(cfg.name);
  if (existing) return existing as Gauge<T>;
  return new Gauge<T>({ ...cfg, labelNames: cfg.labelNames ?? [], registers: [metricsRegistry] });
}

export function histogram<T extends string = string>(cfg: Cfg<T> & { buckets?: number[] }): Histogram<T> {
  const existing = metricsRegistry.getSingleMetric(cfg.name);
  if (existing) return existing as Histogram<T>;
  return new Histogram<T>({ ...cfg, labelNames: cfg.labelNames ?? [], registers: [metricsRegistry] });
}

/** Errors seen on Redis connections (counted by createRedis for every connection it makes). */
export const redisErrors = (): Counter<'connection'> =>
  counter({ name: 'af_redis_errors_total', help: 'Redis connection errors, by connection name', labelNames: ['connection'] });

/** The Prometheus text exposition of this process's metrics. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

/** `GET /metrics` for a plain node:http server. */
export function serveMetrics(res: ServerResponse, req?: IncomingMessage): void {
  renderMetrics()
    .then(({ contentType, body }) => {
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
      res.end(req?.method === 'HEAD' ? undefined : body);
    })
    .catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`metrics failed: ${err instanceof Error ? err.message : String(err)}`);
    });
}

/** Seconds buckets for request latencies (1 ms .. 10 s). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds buckets for phase durations (10 ms .. 6 h). */
export const DURATION_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600];
