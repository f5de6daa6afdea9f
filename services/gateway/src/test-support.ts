import { PhaseQueues } from '@agent-forge/engine';
import { createLogger } from '@agent-forge/runtime';
import { SessionStore, createTestRedis, type TestRedis } from '@agent-forge/state';
import type { Application } from 'express';
import { createGatewayApp } from './app';
import { loadConfig, type GatewayConfig } from './config';

/**
 * A gateway app on the real Redis under a unique key prefix, with real BullMQ queues under the
 * same prefix (so `cleanup()` removes queue keys too). For tests only.
 */
export interface TestGateway {
  t: TestRedis;
  app: Application;
  queues: PhaseQueues;
  config: GatewayConfig;
  sessions: SessionStore;
  /** Another app on the same Redis prefix and queues, with different settings. */
  makeApp(env?: NodeJS.ProcessEnv): Application;
  close(): Promise<void>;
}

export function bullConnection(url: string): { host: string; port: number; password?: string; db?: number } {
  const u = new URL(url);
  const db = Number(u.pathname.replace('/', ''));
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
  };
}

export function createTestGateway(label: string, env: NodeJS.ProcessEnv = {}): TestGateway {
  const t = createTestRedis(label);
  const queues = new PhaseQueues(bullConnection(t.url), t.keys);
  const logger = createLogger('gateway-test', 'silent');
  const makeConfig = (extra: NodeJS.ProcessEnv) =>
    loadConfig({ REDIS_URL: t.url, AF_KEY_PREFIX: t.prefix, LOG_LEVEL: 'silent', ...env, ...extra });
  const config = makeConfig({});
  const startedAt = Date.now();
  const makeApp = (extra: NodeJS.ProcessEnv = {}) =>
    createGatewayApp({ redis: t.redis, keys: t.keys, queues, logger, config: makeConfig(extra), startedAt });
  return {
    t,
    app: makeApp(),
    queues,
    config,
    sessions: new SessionStore(t.redis, t.keys),
    makeApp,
    async close() {
      await queues.close();
      await t.cleanup();
    },
  };
}
