import { readFileSync } from 'node:fs';
import { Authenticator, resolveAuthSettings } from '@agent-forge/auth';
import { closeRedis, createLogger, createRedis, initMetrics, installShutdown } from '@agent-forge/runtime';
import { ApiKeyStore, AuditStore, Keys, SessionStore } from '@agent-forge/state';
import { authOff, createUpgradeAuthenticator, upgradeAuditor } from './auth';
import { loadConfig } from './config';
import { registerRealtimeGauges } from './metrics';
import { createRealtimeServer } from './server';

/** Wiring only: config, logger, connections, listen, shutdown. Behaviour lives in server.ts. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('realtime', config.LOG_LEVEL);
  initMetrics('realtime');
  const keys = new Keys(config.AF_KEY_PREFIX);
  const redis = createRedis({ url: config.REDIS_URL, name: 'realtime', logger });
  // The replica's one subscription connection. It waits out Redis outages (null = retry forever);
  // ioredis re-subscribes on reconnect, and the router's canary checks that it really did.
  const subscriber = createRedis({ url: config.REDIS_URL, name: 'realtime-sub', logger, maxRetriesPerRequest: null });

  const sessions = new SessionStore(redis, keys);
  const auth = new Authenticator(resolveAuthSettings(config), new ApiKeyStore(redis, keys));
  if (!auth.enabled) logger.warn('AUTH_MODE=off: every WebSocket sees every tenant. Never run like this outside local development.');
  const audit = new AuditStore(redis, keys, { retentionMs: config.AUDIT_RETENTION_DAYS * 86_400_000, maxEntries: config.AUDIT_MAX_ENTRIES });

  const realtime = createRealtimeServer({
    redis,
    subscriber,
    keys,
    logger,
    config,
    dashboardSource: sessions,
    authenticate: auth.enabled ? createUpgradeAuthenticator(auth, (id) => sessions.tenantOf(id)) : authOff,
    tls: config.TLS_CERT && config.TLS_KEY ? { cert: readFileSync(config.TLS_CERT), key: readFileSync(config.TLS_KEY) } : null,
    onAuthFailure: upgradeAuditor(audit, logger).onAuthFailure,
  });

  registerRealtimeGauges(realtime);

  installShutdown(
    logger,
    [
      { name: 'websockets', run: () => realtime.close() },
      { name: 'redis', run: () => Promise.all([closeRedis(subscriber), closeRedis(redis)]).then(() => undefined) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );

  await realtime.listen(config.REALTIME_PORT, config.REALTIME_HOST);
}

main().catch((err: unknown) => {
  createLogger('realtime').fatal({ err }, 'realtime failed to start');
  process.exit(1);
});
