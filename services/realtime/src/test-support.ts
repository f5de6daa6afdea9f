import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { closeRedis, createLogger, createRedis, type Redis } from '@agent-forge/runtime';
import { createTestRedis, type TestRedis } from '@agent-forge/state';
import { WebSocket, type ClientOptions } from 'ws';
import { loadConfig, type RealtimeServerConfig } from './config';
import { authOff, type UpgradeAuthenticator, type UpgradeFailure } from './auth';
import { createRealtimeServer, type RealtimeServer } from './server';

/**
 * Shared by the realtime integration tests (not part of the build): real Redis under a random
 * prefix per test file, servers on 127.0.0.1 port 0, clients that record what they receive.
 */

export interface Frame {
  type?: string;
  event_type?: string;
  event_id?: string | null;
  epoch?: string;
  session_id?: string | null;
  timestamp?: string;
  data?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}
export type Predicate = (frame: Frame) => boolean;

/** A WebSocket client that records every frame and lets a test wait for the one it expects. */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ predicate: Predicate; since: number; resolve: (f: Frame) => void }> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const frame = JSON.parse(isBinary ? '{}' : data.toString()) as Frame;
      const index = this.frames.push(frame) - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index < w.since || !w.predicate(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    ws.on('error', () => undefined); // surfaced through `closed`
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** The first frame at index >= `since` that matches (already received or still to come). */
  waitFor(predicate: Predicate, since = 0, timeoutMs = 3_000): Promise<Frame> {
    const found = this.frames.slice(since).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-3)).slice(0, 600)}`)),
        timeoutMs,
      );
      this.waiters.push({
        predicate,
        since,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  /** Frames that came from the event path (periodic frames and snapshots left out). */
  events(): Frame[] {
    return this.frames.filter(
      (f) => f.event_type !== undefined && f.event_type !== 'metrics' && f.event_type !== 'dashboard_update' && f.event_type !== 'snapshot',
    );
  }

  /** Stream ids of the recorded events, in arrival order. */
  eventIds(): string[] {
    return this.frames.filter((f) => typeof f.event_id === 'string' && f.event_type !== 'snapshot').map((f) => f.event_id as string);
  }

  send(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The client stops reading: the server's writes pile up in its send buffer. */
  stopReading(): void {
    (this.ws as unknown as { _socket: Socket })._socket.pause();
  }

  startReading(): void {
    (this.ws as unknown as { _socket: Socket })._socket.resume();
  }

  close(): Promise<unknown> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.ws.close();
    return this.closed;
  }
}

export interface StartedServer {
  realtime: RealtimeServer;
  subscriber: Redis;
  http: string;
  ws: string;
}

/** One test file's Redis prefix, servers and clients, torn down in `cleanup`. */
export class Harness {
  readonly t: TestRedis;
  readonly logger = createLogger('realtime-test', 'silent');
  readonly config: RealtimeServerConfig;
  /**
   * How servers started from now on authenticate upgrades: explicitly off by default (suites about
   * delivery, resume, backpressure); the auth suites set a real one.
   */
  authenticate: UpgradeAuthenticator = authOff;
  /** Where servers started from now on report refused upgrades (the audit log in production). */
  onAuthFailure: ((failure: UpgradeFailure) => void) | undefined = undefined;
  private readonly servers: RealtimeServer[] = [];
  private readonly connections: Redis[] = [];
  private readonly clients: TestClient[] = [];

  constructor(label: string, config: Partial<RealtimeServerConfig> = {}) {
    this.t = createTestRedis(label);
    this.config = { ...loadConfig({}), METRICS_INTERVAL_MS: 200, DASHBOARD_INTERVAL_MS: 400, ...config };
  }

  get redis(): Redis {
    return this.t.redis;
  }

  async startServer(overrides: Partial<RealtimeServerConfig> = {}, subscriberName = 'realtime-test-sub'): Promise<StartedServer> {
    const subscriber = createRedis({ url: this.t.url, name: subscriberName, maxRetriesPerRequest: null });
    this.connections.push(subscriber);
    const realtime = createRealtimeServer({
      redis: this.t.redis,
      subscriber,
      keys: this.t.keys,
      logger: this.logger,
      config: { ...this.config, ...overrides },
      authenticate: this.authenticate,
      ...(this.onAuthFailure ? { onAuthFailure: this.onAuthFailure } : {}),
    });
    this.servers.push(realtime);
    const address: AddressInfo = await realtime.listen(0, '127.0.0.1');
    return { realtime, subscriber, http: `http://127.0.0.1:${address.port}`, ws: `ws://127.0.0.1:${address.port}` };
  }

  open(base: string, path: string, options: ClientOptions = {}): Promise<TestClient> {
    const client = new TestClient(new WebSocket(`${base}${path}`, options));
    this.clients.push(client);
    return new Promise((resolve, reject) => {
      client.ws.once('open', () => resolve(client));
      client.ws.once('error', reject);
    });
  }

  /** The HTTP status of an upgrade the server refuses (the test fails if it is accepted). */
  refusedStatus(base: string, path: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${base}${path}`);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error(`${path} was accepted`)));
      ws.on('error', () => undefined);
    });
  }

  async closeClients(): Promise<void> {
    await Promise.all(
      this.clients.splice(0).map((c) => {
        c.startReading();
        return c.ws.readyState === WebSocket.CLOSED ? undefined : Promise.race([c.close(), new Promise((r) => setTimeout(r, 1_000))]);
      }),
    );
  }

  async cleanup(): Promise<void> {
    for (const c of this.clients) c.ws.terminate();
    await Promise.all(this.servers.map((s) => s.close()));
    await Promise.all(this.connections.map((c) => closeRedis(c)));
    await this.t.cleanup();
  }
}

/** Poll a condition that settles asynchronously (no fixed sleep); bounded. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
