import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { mintToken } from '@agent-forge/auth';
import { createTestRedis, type TestRedis } from '@agent-forge/state';

/**
 * Starts the real services as child processes (built `dist/main.js`) on free loopback ports with
 * a key prefix of their own, so e2e files can run in parallel with every other test.
 */
const ROOT = path.resolve(__dirname, '..', '..');
export type ServiceName = 'gateway' | 'realtime' | 'pipeline-worker';

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export interface RunningService {
  name: ServiceName;
  port: number;
  url: string;
  child: ChildProcess;
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const PORT_VAR: Record<ServiceName, string> = {
  gateway: 'GATEWAY_PORT',
  realtime: 'REALTIME_PORT',
  'pipeline-worker': 'WORKER_HEALTH_PORT',
};
const HEALTH_PATH: Record<ServiceName, string> = {
  gateway: '/api/v1/pipeline/health',
  realtime: '/health',
  'pipeline-worker': '/health',
};

export const E2E_AUDIENCE = 'agent-forge-e2e';

/**
 * The services run with auth ON (as in production), sharing one HS256 secret per stack; `token()`
 * mints any identity and `headers()` carries an admin token of tenant `default`. Rate limits are
 * set far above what a test sends unless a test passes its own.
 */
export class Stack {
  readonly redis: TestRedis;
  readonly services: RunningService[] = [];
  readonly secret = randomBytes(32).toString('hex');

  constructor(label: string, redisUrl?: string) {
    this.redis = createTestRedis(label, redisUrl);
  }

  token(roles: string[] = ['admin'], tenant = 'default'): string {
    return mintToken({ secret: this.secret, sub: `e2e-${tenant}-${roles.join('+')}`, tenant, roles, audience: E2E_AUDIENCE, ttlSeconds: 3600 });
  }

  /** Request headers with an admin token (plus JSON content type when `json`). */
  headers(json = false, token = this.token()): Record<string, string> {
    return { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) };
  }

  async start(name: ServiceName, env: Record<string, string> = {}): Promise<RunningService> {
    const port = await freePort();
    const output: string[] = [];
    const child = spawn(process.execPath, [path.join(ROOT, 'services', name, 'dist', 'main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL: this.redis.url,
        AF_KEY_PREFIX: this.redis.prefix,
        LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
        [PORT_VAR[name]]: String(port),
        GATEWAY_HOST: '127.0.0.1',
        REALTIME_HOST: '127.0.0.1',
        WORKER_HEALTH_HOST: '127.0.0.1',
        // Orchestration tests walk phases with the dry-run executor unless a test asks for the forge.
        DEFAULT_EXECUTOR: 'dry-run',
        JWT_SECRET: this.secret,
        JWT_AUDIENCE: E2E_AUDIENCE,
        RATE_LIMIT_READ_PER_SUBJECT: '1000000',
        RATE_LIMIT_READ_PER_IP: '1000000',
        RATE_LIMIT_WRITE_PER_SUBJECT: '1000000',
        RATE_LIMIT_WRITE_PER_IP: '1000000',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const svc: RunningService = {
      name,
      port,
      url,
      child,
      output,
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
        child.kill(signal);
        const [code] = (await once(child, 'exit')) as [number | null];
        return code;
      },
    };
    this.services.push(svc);
    await this.waitHealthy(svc);
    return svc;
  }

  private async waitHealthy(svc: RunningService, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (svc.child.exitCode !== null) throw new Error(`${svc.name} exited early:\n${svc.output.join('')}`);
      try {
        const res = await fetch(svc.url + HEALTH_PATH[svc.name]);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`${svc.name} did not become healthy:\n${svc.output.join('')}`);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop()));
    await this.redis.cleanup();
  }
}

export async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
    await sleep(50);
  }
}
