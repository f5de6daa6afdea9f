import { mintToken } from '@agent-forge/auth';
import { PhaseQueues } from '@agent-forge/engine';
import { createLogger, type Logger } from '@agent-forge/runtime';
import { SessionStore, createTestRedis, type TestRedis } from '@agent-forge/state';
import type { Application } from 'express';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createGatewayApp, type GatewayAppOptions } from './app';
import { loadConfig, type GatewayConfig } from './config';

/**
 * A gateway app on the real Redis under a unique key prefix, with real BullMQ queues under the
 * same prefix (so `cleanup()` removes queue keys too). For tests only.
 *
 * Auth is ON, as in production, with a per-test-file HS256 secret. `app` sends every request that
 * carries no credential of its own as an admin of tenant `default` (so suites about something else
 * need no token plumbing); `rawApp` is the app exactly as a client meets it, and `token()` mints
 * any identity. Rate limits are generous unless a test sets them.
 */
export interface TestGateway {
  t: TestRedis;
  /** As an admin of tenant `default` when the request has no Authorization / X-Api-Key. */
  app: Application;
  /** No credentials added. */
  rawApp: Application;
  queues: PhaseQueues;
  config: GatewayConfig;
  sessions: SessionStore;
  secret: string;
  /** A token for these roles and tenant (default: admin of `default`). */
  token(roles?: string[], tenant?: string, extra?: Partial<TokenOptions>): string;
  /** Another app on the same Redis prefix and queues, with different settings (admin by default, like `app`). */
  makeApp(env?: NodeJS.ProcessEnv): Application;
  /** Same, without credentials added; `options` can turn the fast lane off or give a logger. */
  makeRawApp(env?: NodeJS.ProcessEnv, options?: TestAppOptions): Application;
  /** Another replica: its own Redis connection and queues (same prefix), no credentials added. */
  makeReplica(env?: NodeJS.ProcessEnv): { app: Application; close(): Promise<void> };
  close(): Promise<void>;
}

export interface TokenOptions {
  sub: string;
  ttlSeconds: number;
  audience: string;
  secret: string;
  notBeforeSeconds: number;
}

export const TEST_AUDIENCE = 'agent-forge-test';

export interface TestAppOptions extends GatewayAppOptions {
  logger?: Logger;
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

/** Settings of a test gateway: auth on with this secret, limits far above what a suite sends. */
export function testEnv(secret: string): NodeJS.ProcessEnv {
  return {
    JWT_SECRET: secret,
    JWT_AUDIENCE: TEST_AUDIENCE,
    RATE_LIMIT_READ_PER_SUBJECT: '1000000',
    RATE_LIMIT_READ_PER_IP: '1000000',
    RATE_LIMIT_WRITE_PER_SUBJECT: '1000000',
    RATE_LIMIT_WRITE_PER_IP: '1000000',
  };
}

/**
 * `app` with a default credential: a request without one gets `Authorization: Bearer <token>`.
 * It is still the real app (same middleware, same checks); only the header is filled in.
 */
export function withDefaultToken(app: Application, token: () => string): Application {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.headers.authorization === undefined && req.headers['x-api-key'] === undefined) req.headers.authorization = `Bearer ${token()}`;
    (app as unknown as http.RequestListener)(req, res);
  };
  const listen = (...args: unknown[]) => (http.createServer(handler).listen as (...a: unknown[]) => http.Server)(...args);
  return Object.assign(handler, { listen }) as unknown as Application;
}

export function createTestGateway(label: string, env: NodeJS.ProcessEnv = {}): TestGateway {
  const t = createTestRedis(label);
  const secret = randomBytes(32).toString('hex');
  const queues = new PhaseQueues(bullConnection(t.url), t.keys);
  const logger = createLogger('gateway-test', 'silent');
  const makeConfig = (extra: NodeJS.ProcessEnv) =>
    loadConfig({ REDIS_URL: t.url, AF_KEY_PREFIX: t.prefix, LOG_LEVEL: 'silent', ...testEnv(secret), ...env, ...extra });
  const config = makeConfig({});
  const startedAt = Date.now();
  const token = (roles: string[] = ['admin'], tenant = 'default', extra: Partial<TokenOptions> = {}) =>
    mintToken({
      secret: extra.secret ?? secret,
      sub: extra.sub ?? `${tenant}-${roles.join('+') || 'none'}`,
      tenant,
      roles,
      audience: extra.audience ?? TEST_AUDIENCE,
      ...(extra.ttlSeconds !== undefined ? { ttlSeconds: extra.ttlSeconds } : {}),
      ...(extra.notBeforeSeconds !== undefined ? { notBeforeSeconds: extra.notBeforeSeconds } : {}),
    });
  const adminToken = token();
  const makeRawApp = (extra: NodeJS.ProcessEnv = {}, options: TestAppOptions = {}) =>
    createGatewayApp({ redis: t.redis, keys: t.keys, queues, logger: options.logger ?? logger, config: makeConfig(extra), startedAt }, options);
  const makeApp = (extra: NodeJS.ProcessEnv = {}) => withDefaultToken(makeRawApp(extra), () => adminToken);
  const rawApp = makeRawApp();
  const replicas: Array<() => Promise<void>> = [];
  const makeReplica = (extra: NodeJS.ProcessEnv = {}) => {
    const redis = new Redis(t.url, { maxRetriesPerRequest: 2 });
    const q = new PhaseQueues(bullConnection(t.url), t.keys);
    const app = createGatewayApp({ redis, keys: t.keys, queues: q, logger, config: makeConfig(extra), startedAt });
    const close = async () => {
      await q.close();
      await redis.quit();
    };
    replicas.push(close);
    return { app, close };
  };
  return {
    t,
    app: withDefaultToken(rawApp, () => adminToken),
    rawApp,
    queues,
    config,
    sessions: new SessionStore(t.redis, t.keys),
    secret,
    token,
    makeApp,
    makeRawApp,
    makeReplica,
    async close() {
      await Promise.all(replicas.splice(0).map((c) => c().catch(() => undefined)));
      await queues.close();
      await t.cleanup();
    },
  };
}
