import type { IncomingMessage } from 'node:http';
import { createLogger } from '@agent-forge/runtime';
import { WebSocket } from 'ws';
import { loadConfig } from './config';
import type { SessionSummary } from './dashboard-source';
import { ConnectionHub, MAX_BUFFERED_BYTES } from './hub';
import { parseClientFrame } from './protocol';
import { MAX_LISTED_SESSIONS, overviewDashboard, sessionDashboard, Ticker } from './ticker';
import { channelFromPath, parseUpgradeTarget, splitUrl } from './upgrade';

/** Pure module tests: no Redis, no network. */
const logger = createLogger('realtime-test', 'silent');

describe('config', () => {
  test('defaults', () => {
    expect(loadConfig({})).toMatchObject({
      REALTIME_HOST: '127.0.0.1',
      REALTIME_PORT: 8082,
      METRICS_INTERVAL_MS: 1_000,
      DASHBOARD_INTERVAL_MS: 2_000,
      WS_MAX_PAYLOAD_BYTES: 65_536,
      WS_HEARTBEAT_MS: 25_000,
    });
  });
  test('intervals cannot be set slower than the contract promises', () => {
    expect(() => loadConfig({ METRICS_INTERVAL_MS: '5000' })).toThrow(/METRICS_INTERVAL_MS/);
    expect(() => loadConfig({ DASHBOARD_INTERVAL_MS: '2001' })).toThrow(/DASHBOARD_INTERVAL_MS/);
    expect(loadConfig({ METRICS_INTERVAL_MS: '250' }).METRICS_INTERVAL_MS).toBe(250);
  });
});

describe('parseClientFrame', () => {
  const text = (s: string) => parseClientFrame(Buffer.from(s), false);
  test('ping', () => expect(text('{"type":"ping"}')).toEqual({ kind: 'message', message: { type: 'ping' } }));
  test.each(['', 'null', '42', '"ping"', '[]', '{"type":7}', '{'])('%p is INVALID_MESSAGE', (s) => {
    expect(text(s)).toMatchObject({ kind: 'error', code: 'INVALID_MESSAGE' });
  });
  test('unknown type; a long type is not echoed in full', () => {
    const result = text(JSON.stringify({ type: 'x'.repeat(10_000) }));
    expect(result).toMatchObject({ kind: 'error', code: 'UNKNOWN_MESSAGE_TYPE' });
    expect(result.kind === 'error' && result.message.length).toBeLessThan(200);
  });
  test('binary is refused even when it holds valid JSON', () => {
    expect(parseClientFrame(Buffer.from('{"type":"ping"}'), true)).toMatchObject({ code: 'INVALID_MESSAGE' });
  });
  test('fragmented frames (Buffer[]) are joined', () => {
    expect(parseClientFrame([Buffer.from('{"type":'), Buffer.from('"ping"}')], false)).toMatchObject({ kind: 'message' });
  });
});

describe('upgrade targets', () => {
  const target = (url: string) => parseUpgradeTarget({ url } as IncomingMessage);
  test('channels and filters', () => {
    expect(target('/ws/agents')).toEqual({ ok: true, channel: 'agents', sessionId: null });
    expect(target('/ws/dashboard/?session_id=abc-1')).toEqual({ ok: true, channel: 'dashboard', sessionId: 'abc-1' });
    expect(target('/ws/tasks?session_id=')).toEqual({ ok: true, channel: 'tasks', sessionId: null });
    expect(target('/ws/nope')).toMatchObject({ ok: false, status: 404 });
    expect(target('/ws/pipeline?session_id=a%20b')).toMatchObject({ ok: false, status: 422 });
  });
  test('a protocol-relative target is a path, not another host', () => {
    expect(splitUrl('//evil/ws/agents')?.path).toBe('//evil/ws/agents');
    expect(channelFromPath('//evil/ws/agents')).toBeNull();
    expect(splitUrl('http://x/ws/agents')).toBeNull();
  });
});

/** The hub only touches these members of a socket; a plain object stands in for the peer. */
function fakeSocket(bufferedAmount = 0) {
  return { readyState: WebSocket.OPEN, bufferedAmount, send: jest.fn<void, [string]>(), terminate: jest.fn() };
}
const asSocket = (s: ReturnType<typeof fakeSocket>) => s as unknown as WebSocket;

describe('ConnectionHub', () => {
  test('fan-out reaches unfiltered sockets and the matching session only, once each', () => {
    const hub = new ConnectionHub(logger);
    const all = fakeSocket();
    const mine = fakeSocket();
    const other = fakeSocket();
    const wrongChannel = fakeSocket();
    hub.add(asSocket(all), 'pipeline', null);
    hub.add(asSocket(mine), 'pipeline', 's1');
    hub.add(asSocket(other), 'pipeline', 's2');
    hub.add(asSocket(wrongChannel), 'agents', 's1');
    expect(hub.fanOut(['pipeline', 'tasks', 'dashboard'], 's1', 'frame')).toBe(2);
    expect(all.send).toHaveBeenCalledTimes(1);
    expect(mine.send).toHaveBeenCalledWith('frame');
    expect(other.send).not.toHaveBeenCalled();
    expect(wrongChannel.send).not.toHaveBeenCalled();
  });

  test('a socket whose buffer passed the bound is terminated instead of written to', () => {
    const hub = new ConnectionHub(logger);
    const slow = fakeSocket(MAX_BUFFERED_BYTES + 1);
    hub.add(asSocket(slow), 'agents', null);
    expect(hub.sendUnfiltered(['agents'], 'frame')).toBe(0);
    expect(slow.terminate).toHaveBeenCalled();
    expect(slow.send).not.toHaveBeenCalled();
  });

  test('stats and removal keep the indexes consistent', () => {
    const hub = new ConnectionHub(logger);
    const a = hub.add(asSocket(fakeSocket()), 'agents', 's1');
    const b = hub.add(asSocket(fakeSocket()), 'tasks', 's1');
    hub.add(asSocket(fakeSocket()), 'tasks', null);
    expect(hub.stats()).toMatchObject({ total_connections: 3, active_sessions: 1, channels: { agents: 1, tasks: 2 } });
    hub.remove(a);
    hub.remove(a); // idempotent
    expect(hub.stats()).toMatchObject({ total_connections: 2, active_sessions: 1 });
    hub.remove(b);
    expect(hub.stats()).toMatchObject({ total_connections: 1, active_sessions: 0 });
    expect(hub.filteredSessions(['agents', 'tasks']).size).toBe(0);
  });
});

describe('dashboard frames', () => {
  const summary = (progress: number, agents: number): SessionSummary => ({
    status: 'running',
    current_phase: 'cognate',
    progress_percent: progress,
    active_agents: agents,
    metrics: {},
  });

  test('overview: mean progress, summed agents, unknown sessions skipped, list bounded', () => {
    const ids = Array.from({ length: MAX_LISTED_SESSIONS + 2 }, (_, i) => `s${i}`);
    const summaries = new Map<string, SessionSummary | null>(ids.map((id, i) => [id, i === 0 ? null : summary(i % 2 ? 20 : 40, 2)]));
    const data = overviewDashboard({ activeIds: ids, summaries });
    expect(data).toMatchObject({ pipeline_status: null, current_phase: null, active_agents: 2 * (ids.length - 1) });
    expect(data.progress_percent).toBeCloseTo(30, 0);
    expect(data.metrics).toMatchObject({ active_sessions: ids.length - 1, sessions_truncated: true });
    expect(data.metrics.sessions).toHaveLength(MAX_LISTED_SESSIONS);
  });

  test('overview says when session state could not be read', () => {
    expect(overviewDashboard(null).metrics).toMatchObject({ active_sessions: 0, state_unavailable: true });
  });

  test('a filtered frame for an unknown session carries nulls, not invented figures', () => {
    expect(sessionDashboard(null)).toEqual({ pipeline_status: null, current_phase: null, progress_percent: 0, active_agents: 0, metrics: {} });
  });
});

describe('Ticker', () => {
  test('a session-state source that hangs does not stop the metrics frames', async () => {
    const hub = new ConnectionHub(logger);
    const socket = fakeSocket();
    hub.add(asSocket(socket), 'metrics', 's1');
    const ticker = new Ticker({
      hub,
      logger,
      config: { METRICS_INTERVAL_MS: 50, DASHBOARD_INTERVAL_MS: 50, WS_MAX_PAYLOAD_BYTES: 1024, WS_HEARTBEAT_MS: 1000 },
      source: { activeSessionIds: () => new Promise(() => undefined), summary: () => new Promise(() => undefined) },
      takeEventsRouted: () => 0,
    });
    await ticker.metricsTick();
    expect(socket.send).toHaveBeenCalledTimes(1);
    const frame = JSON.parse(socket.send.mock.calls[0]![0]) as { session_id: string; data: { metrics: Record<string, unknown> } };
    expect(frame.session_id).toBe('s1');
    expect(frame.data.metrics.cpu_percent).toEqual(expect.any(Number));
    expect(frame.data.metrics).not.toHaveProperty('status');
  });
});
