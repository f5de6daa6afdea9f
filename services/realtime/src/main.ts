import { closeRedis, createLogger, createRedis, initMetrics, installShutdown } from '@agent-forge/runtime';
import { Keys, SessionStore } from '@agent-forge/state';
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

  const realtime = createRealtimeServer({
    redis,
    subscriber,
    keys,
    logger,
    config,
    dashboardSource: new SessionStore(redis, keys),
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
