import { PhaseQueues, phaseJobDefaults } from '@agent-forge/engine';
import { closeRedis, createLogger, createRedis, initMetrics, installShutdown } from '@agent-forge/runtime';
import { Keys } from '@agent-forge/state';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createGatewayApp } from './app';
import { loadConfig } from './config';
import { createGatewayServer } from './server';

/** Wiring only: config, logger, connections, listen, shutdown. Behaviour lives in app.ts. */
async function main(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig();
  const logger = createLogger('gateway', config.LOG_LEVEL);
  initMetrics('gateway');
  const keys = new Keys(config.AF_KEY_PREFIX);
  // No auto-pipelining: a request's commands (rate-limit spends, snapshot script) are written back to
  // back without waiting for answers either way (one round trip on the critical path), and under
  // the status benchmark's load ioredis's auto-pipeline bookkeeping cost more client CPU per request
  // (≈ +40 µs) than the writes it saved.
  const redis = createRedis({ url: config.REDIS_URL, name: 'gateway', logger });
  // The queue connection fails fast too (a Queue never blocks), so an enqueue during an outage is a 503, not a hang.
  const queueRedis = createRedis({ url: config.REDIS_URL, name: 'gateway-queues', logger, maxRetriesPerRequest: 2 });
  const queues = new PhaseQueues(queueRedis, keys, { ...phaseJobDefaults(config), retentionSeconds: config.JOB_RETENTION_SECONDS });

  const app = createGatewayApp({ redis, keys, queues, logger, config, startedAt });
  // HTTPS directly when a certificate is configured; otherwise plain HTTP (TLS ends at the ingress).
  const tls = config.TLS_CERT && config.TLS_KEY ? { cert: readFileSync(config.TLS_CERT), key: readFileSync(config.TLS_KEY) } : null;
  const server = createGatewayServer(app as unknown as http.RequestListener, tls, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, () => resolve());
  });
  logger.info({ host: config.GATEWAY_HOST, port: config.GATEWAY_PORT, tls: tls !== null, auth: config.AUTH_MODE }, 'gateway listening');

  installShutdown(
    logger,
    [
      {
        // Stop accepting, let in-flight requests finish; idle keep-alive sockets are closed at once.
        name: 'http',
        run: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          }),
      },
      { name: 'queues', run: () => queues.close() },
      { name: 'redis', run: () => Promise.all([closeRedis(queueRedis), closeRedis(redis)]).then(() => undefined) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

main().catch((err: unknown) => {
  createLogger('gateway').fatal({ err }, 'gateway failed to start');
  process.exit(1);
});
