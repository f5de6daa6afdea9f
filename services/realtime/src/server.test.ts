import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { EventEnvelope, WsStatsResponse, type EventData } from '@agent-forge/contracts';
import { closeRedis, createLogger, createRedis, type Redis } from '@agent-forge/runtime';
import { ALL_TENANTS, EventPublisher, Keys, SessionStore } from '@agent-forge/state';
import { WebSocket } from 'ws';
import { loadConfig, type RealtimeServerConfig } from './config';
import { CLIENT_PAGE_TITLE } from './client-page';
import { createRealtimeServer, type RealtimeServer } from './server';
import { authOff } from './auth';

/**
 * Integration tests against the real Redis on 127.0.0.1:6379. Everything lives under a random key
 * prefix so parallel test files (and other services' tests) never see each other's events.
 */
const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `t-rt-${randomBytes(6).toString('hex')}`;
const keys = new Keys(prefix);
const logger = createLogger('realtime-test', 'silent');
const config: RealtimeServerConfig = {
  ...loadConfig({}),
  METRICS_INTERVAL_MS: 100,
  DASHBOARD_INTERVAL_MS: 150,
  WS_MAX_PAYLOAD_BYTES: 1_024,
  WS_HEARTBEAT_MS: 5_000,
};

let redis: Redis;
let publisher: EventPublisher;
const redisConnections: Redis[] = [];
const servers: RealtimeServer[] = [];
const clients: TestClient[] = [];

interface Frame {
  type?: string;
  event_type?: string;
  event_id?: string;
  session_id?: string | null;
  timestamp?: string;
  data?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}
type Predicate = (frame: Frame) => boolean;

/** A WebSocket client that records every frame and lets a test wait for the one it expects. */
class TestClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ predicate: Predicate; since: number; resolve: (f: Frame) => void }> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const frame = JSON.parse(isBinary ? '{}' : data.toString()) as Frame;
      const index = this.frames.push(frame) - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index < w.since || !w.predicate(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(base: string, path: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    const ws = new WebSocket(`${base}${path}`, options);
    const client = new TestClient(ws);
    clients.push(client);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** The first frame at index >= `since` that matches (already received or still to come). */
  waitFor(predicate: Predicate, since = 0, timeoutMs = 3_000): Promise<Frame> {
    const found = this.frames.slice(since).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`)), timeoutMs);
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

  /** Frames that came from the event path (periodic metrics/dashboard frames and the opening snapshot left out). */
  events(): Frame[] {
    return this.frames.filter(
      (f) => f.event_type !== undefined && f.event_type !== 'metrics' && f.event_type !== 'dashboard_update' && f.event_type !== 'snapshot',
    );
  }

  send(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  close(): Promise<unknown> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.ws.close();
    return this.closed;
  }
}

async function startServer(overrides: Partial<RealtimeServerConfig> = {}): Promise<{ realtime: RealtimeServer; http: string; ws: string }> {
  const subscriber = createRedis({ url: REDIS_URL, name: 'realtime-test-sub', maxRetriesPerRequest: null });
  redisConnections.push(subscriber);
  const realtime = createRealtimeServer({ redis, subscriber, keys, logger, config: { ...config, ...overrides }, authenticate: authOff });
  servers.push(realtime);
  const address: AddressInfo = await realtime.listen(0, '127.0.0.1');
  return { realtime, http: `http://127.0.0.1:${address.port}`, ws: `ws://127.0.0.1:${address.port}` };
}

function progress(message: string): EventData<'pipeline_progress'> {
  return { phase: 'cognate', progress_percent: 10, total_progress_percent: 5, status: 'running', message, metrics: {} };
}

/** Poll a condition that settles asynchronously on the server side (no fixed sleep). */
async function eventually(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const isMessage = (message: string): Predicate => (f) => f.data?.message === message;

let main: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  redis = createRedis({ url: REDIS_URL, name: 'realtime-test' });
  redisConnections.push(redis);
  publisher = new EventPublisher(redis, keys);
  main = await startServer();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    if (found.length > 0) await redis.del(...found);
    cursor = next;
  } while (cursor !== '0');
  await Promise.all(redisConnections.map((c) => closeRedis(c)));
});

describe('event fan-out from Redis pub/sub', () => {
  test('a session filter gets its events once and in order, nothing of another session; unfiltered gets all', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const onlyA = await TestClient.open(main.ws, `/ws/pipeline?session_id=${a}`);
    const all = await TestClient.open(main.ws, '/ws/pipeline');

    for (const [session, message] of [[a, 'A1'], [b, 'B1'], [a, 'A2'], [b, 'B2'], [a, 'A3'], [b, 'B-last'], [a, 'A-last']] as const) {
      await publisher.publish('pipeline_progress', session, progress(message));
    }
    await onlyA.waitFor(isMessage('A-last'));
    await all.waitFor(isMessage('A-last'));

    expect(onlyA.events().map((f) => f.data?.message)).toEqual(['A1', 'A2', 'A3', 'A-last']);
    expect(onlyA.events().every((f) => f.session_id === a)).toBe(true);
    expect(all.events().map((f) => f.data?.message)).toEqual(['A1', 'B1', 'A2', 'B2', 'A3', 'B-last', 'A-last']);
    // Clients get the stored envelope: contract shape plus the stream id to resume from.
    for (const frame of all.events()) {
      expect(EventEnvelope.safeParse(frame).success).toBe(true);
      expect(frame.event_id).toMatch(/^\d+-\d+$/);
    }
  });

  test('events are routed by channel; error reaches every channel of its session', async () => {
    const session = randomUUID();
    const sockets = {
      agents: await TestClient.open(main.ws, `/ws/agents?session_id=${session}`),
      tasks: await TestClient.open(main.ws, `/ws/tasks?session_id=${session}`),
      metrics: await TestClient.open(main.ws, `/ws/metrics?session_id=${session}`),
      pipeline: await TestClient.open(main.ws, `/ws/pipeline?session_id=${session}`),
      dashboard: await TestClient.open(main.ws, `/ws/dashboard?session_id=${session}`),
    };
    await publisher.publish('agent_update', session, {
      agent_id: 'agent-1', role: 'coordinator', phase: 'cognate', state: 'active', task: null, memory_usage_mb: 12, cpu_usage_percent: 3,
    });
    await publisher.publish('phase_complete', session, { phase: 'cognate', success: true, duration_seconds: 1.5, metrics: {} });
    await publisher.publish('error', session, { error_code: 'PHASE_FAILED', error_message: 'boom', phase: 'cognate', recoverable: false });

    // `error` goes to every channel and comes last, so once it arrived everything before it has too.
    await Promise.all(Object.values(sockets).map((s) => s.waitFor((f) => f.event_type === 'error')));
    const types = (client: TestClient) => client.events().map((f) => f.event_type);
    expect(types(sockets.agents)).toEqual(['agent_update', 'error']);
    expect(types(sockets.tasks)).toEqual(['phase_complete', 'error']);
    expect(types(sockets.metrics)).toEqual(['error']);
    expect(types(sockets.pipeline)).toEqual(['phase_complete', 'error']);
    expect(types(sockets.dashboard)).toEqual(['agent_update', 'phase_complete', 'error']);
  });

  test("a script's several events arrive as one pub/sub message and reach clients as separate frames, in order", async () => {
    const store = new SessionStore(redis, keys);
    const session = randomUUID();
    await store.create({ sessionId: session, tenant: 'default', phases: ['cognate'], config: {}, enableMonitoring: false, enableCheckpoints: false, topology: 'hierarchical', maxAgents: 4, preset: null });
    const dashboard = await TestClient.open(main.ws, `/ws/dashboard?session_id=${session}`);
    const raw = createRedis({ url: REDIS_URL, name: 'realtime-test-raw' });
    redisConnections.push(raw);
    const messages: string[] = [];
    raw.on('message', (_channel: string, message: string) => {
      if (message.includes(session)) messages.push(message);
    });
    await raw.subscribe(keys.eventsChannel());
    // The claim emits the phase's start and records its agent: two events, one announcement.
    const agent = { agent_id: 'cognate-a', role: 'coordinator', phase: 'cognate' as const, state: 'executing' as const, current_task: 'run', memory_usage_mb: 1, cpu_usage_percent: 0, uptime_seconds: 0 };
    expect((await store.startPhase(session, 'cognate', 1, 'w1', agent)).kind).toBe('run');
    await dashboard.waitFor((f) => f.event_type === 'agent_update');
    await eventually(() => messages.length === 1);
    expect(messages[0]!.split('\n')).toHaveLength(2);
    expect(dashboard.events().map((f) => f.event_type)).toEqual(['pipeline_progress', 'agent_update']);
    const ids = dashboard.events().map((f) => f.event_id as string);
    expect(ids[0]! < ids[1]!).toBe(true);
    await raw.unsubscribe();
    // Ended, so the overview frames of the tests below count no session of this one.
    await store.control(session, 'cancel', 'test over', ALL_TENANTS);
  });

  test('two replicas on one Redis both deliver the same events', async () => {
    const second = await startServer();
    const session = randomUUID();
    const one = await TestClient.open(main.ws, `/ws/pipeline?session_id=${session}`);
    const two = await TestClient.open(second.ws, `/ws/pipeline?session_id=${session}`);
    await publisher.publish('pipeline_progress', session, progress('first'));
    await publisher.publish('pipeline_progress', session, progress('second'));
    await one.waitFor(isMessage('second'));
    await two.waitFor(isMessage('second'));
    expect(one.events().map((f) => f.event_id)).toEqual(two.events().map((f) => f.event_id));
    expect(one.events()).toHaveLength(2);
  });
});

describe('client → server frames', () => {
  test('ping → pong', async () => {
    const client = await TestClient.open(main.ws, '/ws/agents');
    client.send(JSON.stringify({ type: 'ping' }));
    const pong = await client.waitFor((f) => f.type === 'pong');
    expect(Number.isNaN(Date.parse(pong.timestamp ?? ''))).toBe(false);
  });

  test.each([
    ['invalid JSON', '{nope', false, 'INVALID_MESSAGE'],
    ['a binary frame', Buffer.from('{"type":"ping"}'), true, 'INVALID_MESSAGE'],
    ['a non-object', '[1,2,3]', false, 'INVALID_MESSAGE'],
    ['an object without type', '{"hello":1}', false, 'INVALID_MESSAGE'],
    ['an unknown type', '{"type":"subscribe"}', false, 'UNKNOWN_MESSAGE_TYPE'],
  ] as const)('%s → error event, socket still answers ping', async (_name, payload, binary, code) => {
    const client = await TestClient.open(main.ws, '/ws/tasks');
    client.send(payload, binary);
    const error = await client.waitFor((f) => f.event_type === 'error');
    expect(error.data).toMatchObject({ error_code: code, phase: null, recoverable: true });
    expect(typeof error.data?.error_message).toBe('string');
    const mark = client.frames.length;
    client.send(JSON.stringify({ type: 'ping' }));
    await client.waitFor((f) => f.type === 'pong', mark);
  });

  test('a frame above WS_MAX_PAYLOAD_BYTES closes that socket with 1009; the server keeps serving', async () => {
    const big = await TestClient.open(main.ws, '/ws/pipeline');
    big.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(config.WS_MAX_PAYLOAD_BYTES) }));
    expect((await big.closed).code).toBe(1009);
    const next = await TestClient.open(main.ws, '/ws/pipeline');
    next.send(JSON.stringify({ type: 'ping' }));
    await next.waitFor((f) => f.type === 'pong');
  });

  test('a connection that stops answering protocol pings is reaped', async () => {
    const fast = await startServer({ WS_HEARTBEAT_MS: 100 });
    const deaf = await TestClient.open(fast.ws, '/ws/agents', { autoPong: false });
    const healthy = await TestClient.open(fast.ws, '/ws/agents');
    expect((await deaf.closed).code).toBe(1006); // terminated without a close frame
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    await eventually(() => fast.realtime.stats().total_connections === 1);
  });
});

describe('periodic frames', () => {
  test('/ws/metrics gets measured metrics frames at least every second', async () => {
    const client = await TestClient.open(main.ws, '/ws/metrics');
    const isMetrics: Predicate = (f) => f.event_type === 'metrics';
    const first = await client.waitFor(isMetrics);
    const firstAt = Date.now();
    const third = await client.waitFor((f) => isMetrics(f) && client.frames.filter(isMetrics).length >= 3);
    expect(Date.now() - firstAt).toBeLessThan(2_000);
    for (const frame of [first, third]) {
      const metrics = frame.data?.metrics as Record<string, unknown>;
      expect(Number.isFinite(metrics.cpu_percent) && (metrics.cpu_percent as number) >= 0).toBe(true);
      expect(metrics.memory_mb as number).toBeGreaterThan(0);
      expect(metrics.process_rss_mb as number).toBeGreaterThan(0);
      expect(metrics.gpu_utilization).toBeNull();
      expect(Number.isFinite(metrics.throughput_ops)).toBe(true);
      expect(frame.metrics).toEqual(metrics); // top-level alias the original declared
      expect(frame.session_id).toBeNull();
    }
  });

  test('throughput_ops counts the events this replica fanned out', async () => {
    const client = await TestClient.open(main.ws, '/ws/metrics');
    const throughput = (f: Frame) => (f.event_type === 'metrics' ? (f.data?.metrics as Record<string, number>).throughput_ops : undefined);
    // Start from an idle interval so the non-zero figure below can only come from these events.
    await client.waitFor((f) => throughput(f) === 0);
    const mark = client.frames.length;
    const session = randomUUID();
    for (let i = 0; i < 5; i++) await publisher.publish('pipeline_progress', session, progress(`t${i}`));
    const busy = await client.waitFor((f) => (throughput(f) ?? 0) > 0, mark);
    // At most 5 events in one interval (timer jitter may shorten it, hence the slack).
    expect(throughput(busy)).toBeLessThanOrEqual(5 / (config.METRICS_INTERVAL_MS / 2 / 1000));
  });

  test('filtered dashboard and metrics frames reflect the session hash; the overview sums active sessions', async () => {
    const session = randomUUID();
    await redis.hset(keys.session(session), { status: 'running', current_phase: 'evomerge', total_progress: '40', active_agents: '3' });
    await redis.sadd(keys.active(), session);
    const filtered = await TestClient.open(main.ws, `/ws/dashboard?session_id=${session}`);
    const overview = await TestClient.open(main.ws, '/ws/dashboard');

    const update = await filtered.waitFor((f) => f.event_type === 'dashboard_update');
    expect(update.session_id).toBe(session);
    expect(update.data).toMatchObject({ pipeline_status: 'running', current_phase: 'evomerge', progress_percent: 40, active_agents: 3 });

    const metrics = await filtered.waitFor((f) => f.event_type === 'metrics');
    expect(metrics.session_id).toBe(session);
    expect(metrics.data).toMatchObject({ phase: 'evomerge', metrics: { status: 'running', current_phase: 'evomerge', progress_percent: 40 } });

    const summary = await overview.waitFor((f) => f.event_type === 'dashboard_update');
    expect(summary.session_id).toBeNull();
    expect(summary.data).toMatchObject({ pipeline_status: null, current_phase: null, progress_percent: 40, active_agents: 3 });
    expect(summary.data?.metrics).toMatchObject({
      active_sessions: 1,
      sessions: [{ session_id: session, status: 'running', current_phase: 'evomerge', progress_percent: 40 }],
    });
  });

  test('an unknown session is reported as unknown, not invented', async () => {
    const client = await TestClient.open(main.ws, `/ws/dashboard?session_id=${randomUUID()}`);
    const update = await client.waitFor((f) => f.event_type === 'dashboard_update');
    expect(update.data).toMatchObject({ pipeline_status: null, current_phase: null, progress_percent: 0, active_agents: 0 });
  });
});

describe('HTTP', () => {
  test('/ws/stats counts connections per channel and distinct session filters', async () => {
    const own = await startServer();
    const [a, b] = [randomUUID(), randomUUID()];
    await TestClient.open(own.ws, `/ws/pipeline?session_id=${a}`);
    await TestClient.open(own.ws, `/ws/agents?session_id=${a}`);
    await TestClient.open(own.ws, `/ws/pipeline?session_id=${b}`);
    await TestClient.open(own.ws, '/ws/dashboard');
    const res = await fetch(`${own.http}/ws/stats`);
    expect(res.status).toBe(200);
    const body = WsStatsResponse.parse(await res.json());
    const channels = { agents: 1, tasks: 0, metrics: 0, pipeline: 2, dashboard: 1 };
    expect(body).toEqual({ total_connections: 4, active_sessions: 2, channels, connections_by_channel: channels });
  });

  test('/ws/client serves the test page', async () => {
    const res = await fetch(`${main.http}/ws/client`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain(`<title>Agent Forge WebSocket Client</title>`);
    expect(CLIENT_PAGE_TITLE).toBe('Agent Forge WebSocket Client');
    for (const channel of ['agents', 'tasks', 'metrics', 'pipeline', 'dashboard']) expect(html).toContain(`/ws/${channel}`);
  });

  test('/health and /ready', async () => {
    expect(await (await fetch(`${main.http}/health`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${main.http}/ready`)).status).toBe(200);
  });

  test('unknown HTTP path → 404 with the contract error body', async () => {
    const res = await fetch(`${main.http}/nope`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error_code: 'NOT_FOUND', details: null });
    expect(body.detail).toBe(body.error);
  });

  test('upgrade on an unknown path is refused with 404; a bad session filter with 422', async () => {
    const statusOf = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${main.ws}${path}`);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => reject(new Error(`${path} was accepted`)));
        ws.on('error', () => undefined);
      });
    expect(await statusOf('/ws/unknown')).toBe(404);
    expect(await statusOf('/elsewhere')).toBe(404);
    expect(await statusOf('/ws/pipeline?session_id=%7Bbad%7D')).toBe(422);
  });
});

describe('shutdown', () => {
  test('close() ends every socket with 1012 "service restart" and stops accepting', async () => {
    const doomed = await startServer();
    const client = await TestClient.open(doomed.ws, '/ws/pipeline');
    await doomed.realtime.close();
    expect(await client.closed).toEqual({ code: 1012, reason: 'service restart' });
    await expect(fetch(`${doomed.http}/health`)).rejects.toThrow();
  });
});
