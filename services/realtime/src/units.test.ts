import type { IncomingMessage } from 'node:http';
import { makeEnvelope } from '@agent-forge/contracts';
import { createLogger } from '@agent-forge/runtime';
import type { StreamPage } from '@agent-forge/state';
import { WebSocket } from 'ws';
import { loadConfig, type RealtimeServerConfig } from './config';
import { CLOSE_SLOW_CONSUMER, Connection, METRICS_FRAME, PLAIN_FRAME, type FrameMeta } from './connection';
import type { SessionSummary } from './dashboard-source';
import { ConnectionHub } from './hub';
import { SessionSync } from './session-sync';
import { parseClientFrame } from './protocol';
import { compareStreamIds, parseStreamId, type StreamId } from './stream-id';
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
      WS_MAX_BUFFERED_BYTES: 1024 * 1024,
      WS_MAX_BUFFERED_MESSAGES: 4_096,
      WS_MAX_CONNECTIONS_PER_IP: 1_000,
      WS_MAX_CONNECTIONS_PER_TENANT: 10_000,
      WS_CONNECTION_LEASE_MS: 60_000,
      WS_MAX_FRAMES_PER_SECOND: 50,
      CANARY_INTERVAL_MS: 5_000,
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
  test('resume: valid, and a known type with bad fields is INVALID_MESSAGE (not UNKNOWN_MESSAGE_TYPE)', () => {
    expect(text('{"type":"resume","last_event_id":"1700000000000-3","epoch":"17"}')).toEqual({
      kind: 'message',
      message: { type: 'resume', last_event_id: '1700000000000-3', epoch: '17' },
    });
    for (const bad of ['{"type":"resume"}', '{"type":"resume","last_event_id":"abc"}', '{"type":"resume","last_event_id":"1-1","epoch":"x"}']) {
      const result = text(bad);
      expect(result).toMatchObject({ kind: 'error', code: 'INVALID_MESSAGE' });
      expect(result.kind === 'error' && result.message).toMatch(/^resume: /);
    }
    expect(text('{"type":"resume","last_event_id":"abc"}')).toMatchObject({ message: expect.stringContaining('last_event_id') });
  });
  test('fragmented frames (Buffer[]) are joined', () => {
    expect(parseClientFrame([Buffer.from('{"type":'), Buffer.from('"ping"}')], false)).toMatchObject({ kind: 'message' });
  });
});

describe('upgrade targets', () => {
  const target = (url: string) => parseUpgradeTarget({ url } as IncomingMessage);
  test('channels and filters', () => {
    expect(target('/ws/agents')).toEqual({ ok: true, channel: 'agents', sessionId: null, resume: null });
    expect(target('/ws/dashboard/?session_id=abc-1')).toEqual({ ok: true, channel: 'dashboard', sessionId: 'abc-1', resume: null });
    expect(target('/ws/tasks?session_id=')).toEqual({ ok: true, channel: 'tasks', sessionId: null, resume: null });
    expect(target('/ws/nope')).toMatchObject({ ok: false, status: 404 });
    expect(target('/ws/pipeline?session_id=a%20b')).toMatchObject({ ok: false, status: 422 });
  });
  test('resume points: validated, and only with a session filter', () => {
    expect(target('/ws/pipeline?session_id=s1&last_event_id=1700000000000-2&epoch=123')).toEqual({
      ok: true,
      channel: 'pipeline',
      sessionId: 's1',
      resume: { lastEventId: [1700000000000, 2], epoch: '123' },
    });
    expect(target('/ws/pipeline?session_id=s1&last_event_id=5-0')).toMatchObject({ resume: { lastEventId: [5, 0], epoch: null } });
    expect(target('/ws/pipeline?session_id=s1&last_event_id=')).toMatchObject({ ok: true, resume: null });
    for (const bad of ['last_event_id=5-0', 'session_id=s1&last_event_id=nope', 'session_id=s1&last_event_id=99999999999999999999-0', 'session_id=s1&last_event_id=5-0&epoch=x']) {
      expect(target(`/ws/pipeline?${bad}`)).toMatchObject({ ok: false, status: 422, code: 'VALIDATION_ERROR' });
    }
  });
  test('a protocol-relative target is a path, not another host', () => {
    expect(splitUrl('//evil/ws/agents')?.path).toBe('//evil/ws/agents');
    expect(channelFromPath('//evil/ws/agents')).toBeNull();
    expect(splitUrl('http://x/ws/agents')).toBeNull();
  });
});

/** The members of a ws socket a Connection touches; a plain object stands in for the peer. */
function fakeSocket(bufferedAmount = 0) {
  const socket = {
    readyState: WebSocket.OPEN as number,
    bufferedAmount,
    sent: [] as string[],
    /** The payload objects as given to ws (a fan-out shares one Buffer between sockets). */
    payloads: [] as Array<string | Buffer>,
    callbacks: [] as Array<() => void>,
    send: jest.fn((frame: string | Buffer, options: { binary?: boolean }, cb: () => void) => {
      if (options.binary !== false) throw new Error('every frame must go out as a text frame');
      socket.payloads.push(frame);
      socket.sent.push(frame.toString());
      socket.callbacks.push(cb);
    }),
    close: jest.fn((code: number) => {
      socket.readyState = WebSocket.CLOSING;
      socket.closeCode = code;
    }),
    closeCode: 0,
    terminate: jest.fn(),
    /** The kernel took everything: run the write callbacks. */
    flush() {
      socket.bufferedAmount = 0;
      for (const cb of socket.callbacks.splice(0)) cb();
    },
  };
  return socket;
}
type FakeSocket = ReturnType<typeof fakeSocket>;
const limits = { maxBufferedBytes: 1_000, maxBufferedMessages: 10 };
function connect(
  socket: FakeSocket,
  channel: 'agents' | 'pipeline' | 'tasks' | 'metrics' = 'agents',
  sessionId: string | null = null,
  bounds = limits,
) {
  return new Connection(socket as unknown as WebSocket, channel, sessionId, '127.0.0.1', bounds);
}
const id = (ms: number, seq = 0): StreamId => [ms, seq];
const event = (ms: number): FrameMeta => ({ id: id(ms), coalesce: false });

describe('stream ids', () => {
  test('compare numerically, not as strings', () => {
    expect(compareStreamIds(parseStreamId('9-0')!, parseStreamId('10-0')!)).toBeLessThan(0);
    expect(compareStreamIds(parseStreamId('10-2')!, parseStreamId('10-10')!)).toBeLessThan(0);
    expect(compareStreamIds(parseStreamId('0010-1')!, parseStreamId('10-1')!)).toBe(0);
  });
  test.each(['', '1', '1-', '-1', 'a-1', '1-1-1', ' 1-1', '99999999999999999999-0'])('%p is not an id', (s) => {
    expect(parseStreamId(s)).toBeNull();
  });
});

describe('ConnectionHub', () => {
  test('fan-out reaches unfiltered sockets and the matching session only, once each', () => {
    const hub = new ConnectionHub(logger);
    const all = fakeSocket();
    const mine = fakeSocket();
    const other = fakeSocket();
    const wrongChannel = fakeSocket();
    hub.add(connect(all, 'pipeline'));
    hub.add(connect(mine, 'pipeline', 's1'));
    hub.add(connect(other, 'pipeline', 's2'));
    hub.add(connect(wrongChannel, 'agents', 's1'));
    expect(hub.fanOut(['pipeline', 'tasks', 'dashboard'], 's1', 'frame')).toBe(2);
    expect(all.send).toHaveBeenCalledTimes(1);
    expect(mine.sent).toEqual(['frame']);
    expect(mine.payloads[0]).toBe(all.payloads[0]); // encoded once, the same bytes for every socket
    expect(other.send).not.toHaveBeenCalled();
    expect(wrongChannel.send).not.toHaveBeenCalled();
  });

  test('stats and removal keep the indexes consistent', () => {
    const hub = new ConnectionHub(logger);
    const a = hub.add(connect(fakeSocket(), 'agents', 's1'));
    const b = hub.add(connect(fakeSocket(), 'tasks', 's1'));
    hub.add(connect(fakeSocket(), 'tasks', null));
    expect(hub.stats()).toMatchObject({ total_connections: 3, active_sessions: 1, channels: { agents: 1, tasks: 2 } });
    expect([...hub.filteredConnections()]).toEqual([a, b]);
    hub.remove(a);
    hub.remove(a); // idempotent
    expect(hub.stats()).toMatchObject({ total_connections: 2, active_sessions: 1 });
    hub.remove(b);
    expect(hub.stats()).toMatchObject({ total_connections: 1, active_sessions: 0 });
    expect(hub.filteredSessions(['agents', 'tasks']).size).toBe(0);
  });
});

describe('Connection: send buffer bounds', () => {
  test('past the byte bound the socket is closed with 4408, not written to', () => {
    const socket = fakeSocket(limits.maxBufferedBytes);
    const dropped: number[] = [];
    const c = new Connection(socket as unknown as WebSocket, 'agents', null, 'ip', limits, (_c, code) => dropped.push(code));
    expect(c.deliver('frame', PLAIN_FRAME)).toBe(false);
    expect(socket.send).not.toHaveBeenCalled();
    expect(socket.close).toHaveBeenCalledWith(CLOSE_SLOW_CONSUMER, 'slow consumer');
    expect(dropped).toEqual([CLOSE_SLOW_CONSUMER]);
    expect(c.deliver('later', PLAIN_FRAME)).toBe(false);
  });

  test('past the message bound (frames not flushed yet) as well', () => {
    const socket = fakeSocket();
    const c = connect(socket);
    for (let i = 0; i < limits.maxBufferedMessages; i++) expect(c.deliver(`f${i}`, PLAIN_FRAME)).toBe(true);
    expect(c.unflushed).toBe(limits.maxBufferedMessages);
    expect(c.deliver('one too many', PLAIN_FRAME)).toBe(false);
    expect(socket.closeCode).toBe(CLOSE_SLOW_CONSUMER);
  });

  test("a tick's frames to one socket are written corked and leave together once the tick is over", async () => {
    const socket = fakeSocket();
    const transport = { corks: 0, uncorks: 0, cork: () => void transport.corks++, uncork: () => void transport.uncorks++ };
    const c = new Connection(socket as unknown as WebSocket, 'agents', null, '127.0.0.1', limits, undefined, transport);
    for (let i = 0; i < 5; i++) c.deliver(`f${i}`, PLAIN_FRAME);
    expect(socket.sent).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    expect(transport).toMatchObject({ corks: 1, uncorks: 0 });
    await new Promise((r) => setImmediate(r));
    expect(transport).toMatchObject({ corks: 1, uncorks: 1 });
    c.deliver('next tick', PLAIN_FRAME);
    expect(transport).toMatchObject({ corks: 2, uncorks: 1 });
    await new Promise((r) => setImmediate(r));
    expect(transport).toMatchObject({ corks: 2, uncorks: 2 });
  });

  test('a flushed socket takes more', () => {
    const socket = fakeSocket();
    const c = connect(socket);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < limits.maxBufferedMessages; i++) c.deliver('f', PLAIN_FRAME);
      socket.flush();
    }
    expect(socket.sent).toHaveLength(3 * limits.maxBufferedMessages);
    expect(socket.close).not.toHaveBeenCalled();
  });

  test('metrics for a slow socket are coalesced (latest wins), never a reason to close it, and keep their order', () => {
    const socket = fakeSocket(limits.maxBufferedBytes); // full
    const c = connect(socket, 'metrics');
    for (let i = 0; i < 50; i++) expect(c.deliver(`m${i}`, METRICS_FRAME)).toBe(true);
    expect(socket.sent).toEqual([]);
    expect(socket.close).not.toHaveBeenCalled();
    socket.bufferedAmount = 0;
    c.deliver('event', PLAIN_FRAME); // the held metrics frame is older: it goes first
    expect(socket.sent).toEqual(['m49', 'event']);
  });

  test('a held metrics frame goes out once the socket drained', () => {
    const socket = fakeSocket();
    const c = connect(socket, 'metrics');
    c.deliver('e1', PLAIN_FRAME);
    socket.bufferedAmount = limits.maxBufferedBytes / 2; // slow, not yet past the bound
    c.deliver('m1', METRICS_FRAME);
    c.deliver('m2', METRICS_FRAME);
    expect(socket.sent).toEqual(['e1']);
    socket.flush();
    expect(socket.sent).toEqual(['e1', 'm2']);
  });
});

describe('Connection: sync (snapshot/replay) and live events', () => {
  test('live events during a sync are held, then released above the synced position, in order, once', async () => {
    const socket = fakeSocket();
    const c = connect(socket, 'pipeline', 's1');
    const gen = c.beginSync();
    expect(c.deliver('periodic', PLAIN_FRAME)).toBe(false); // nothing before the snapshot
    c.deliver('e2', event(2));
    c.deliver('e3', event(3));
    c.deliver('e4', event(4));
    await c.sendInOrder('replayed-1');
    await c.sendInOrder('replayed-2');
    await c.sendInOrder('replayed-3');
    c.endSync(gen, id(3));
    expect(socket.sent).toEqual(['replayed-1', 'replayed-2', 'replayed-3', 'e4']);
    c.deliver('e4', event(4)); // a second copy (e.g. after a resync) is dropped
    c.deliver('e5', event(5));
    expect(socket.sent.slice(-1)).toEqual(['e5']);
  });

  test('a stale sync cannot release anything; the newest one does', () => {
    const socket = fakeSocket();
    const c = connect(socket, 'pipeline', 's1');
    const first = c.beginSync();
    c.deliver('e1', event(1));
    const second = c.beginSync();
    c.deliver('e2', event(2));
    c.endSync(first, null);
    expect(c.isSyncing).toBe(true);
    expect(socket.sent).toEqual([]);
    c.endSync(second, null);
    expect(socket.sent).toEqual(['e2']);
  });

  test('pending live events are bounded: past the bound the socket is closed with 4408', () => {
    const socket = fakeSocket();
    const c = connect(socket, 'pipeline', 's1');
    c.beginSync();
    for (let i = 1; i < limits.maxBufferedMessages; i++) expect(c.deliver(`e${i}`, event(i))).toBe(true);
    expect(c.deliver('last', event(1_000))).toBe(false);
    expect(socket.closeCode).toBe(CLOSE_SLOW_CONSUMER);
    expect(c.open).toBe(false);
  });

  test('sendInOrder waits for room instead of dropping; a closed socket ends the wait', async () => {
    const socket = fakeSocket(limits.maxBufferedBytes);
    const c = connect(socket, 'pipeline', 's1');
    c.beginSync();
    let done = false;
    const sent = c.sendInOrder('big replay').then((ok) => (done = ok));
    await Promise.resolve();
    expect(done).toBe(false);
    socket.bufferedAmount = 0;
    c.reply('pong'); // any completed write wakes the waiter once below half the bound
    socket.flush();
    await sent;
    expect(done).toBe(true);
    expect(socket.sent).toEqual(['pong', 'big replay']);

    socket.bufferedAmount = limits.maxBufferedBytes;
    const stuck = c.sendInOrder('never');
    c.dispose();
    expect(await stuck).toBe(false);
  });
});

describe('SessionSync: live events racing the stream read', () => {
  const stored = (n: number) =>
    JSON.stringify(
      makeEnvelope('pipeline_progress', 's1', { phase: null, progress_percent: n, total_progress_percent: n, status: 'running', metrics: {} }),
    );
  /** What pub/sub delivers: the same envelope with its id and epoch first. */
  const live = (n: number) => `{"event_id":"${n}-0","epoch":"5",${stored(n).slice(1)}`;
  const roomy = { maxBufferedBytes: 1 << 20, maxBufferedMessages: 1_000 };
  const ids = (socket: FakeSocket) => socket.sent.map((f) => (JSON.parse(f) as { event_id: string | null }).event_id);

  /**
   * Each read delivers the listed live events while it is "in flight" (pub/sub racing ahead of the
   * stream read, or behind it), then answers with the listed stream entries.
   */
  function scriptedSync(connection: Connection, steps: Array<{ during: number[]; entries: number[]; latest?: number }>) {
    let call = 0;
    const page = async (): Promise<StreamPage> => {
      const step = steps[call++];
      if (!step) throw new Error('unexpected read');
      await Promise.resolve();
      (connection.socket as unknown as FakeSocket).flush(); // the client reads along
      for (const n of step.during) connection.deliver(live(n), event(n));
      return {
        entries: step.entries.map((n) => [`${n}-0`, stored(n)] as [string, string]),
        oldestId: '1-0',
        latestId: step.latest === undefined ? null : `${step.latest}-0`,
        epoch: '5',
        trimmed: true,
      };
    };
    const sync = new SessionSync({ reader: { page }, snapshot: async () => null, logger, pageSize: 2 });
    return { sync, reads: () => call };
  }

  test('resume: replayed 2..6 over three pages while 2..7 arrive live → 2..7 once each, in order', async () => {
    const socket = fakeSocket();
    const c = connect(socket, 'pipeline', 's1', roomy);
    const { sync, reads } = scriptedSync(c, [
      { during: [2, 3, 4, 5], entries: [2, 3] },
      { during: [6], entries: [4, 5] },
      { during: [7], entries: [6] },
    ]);
    await sync.resume(c, { lastEventId: id(1), epoch: '5' });
    expect(reads()).toBe(3);
    expect(ids(socket)).toEqual(['2-0', '3-0', '4-0', '5-0', '6-0', '7-0']);
    expect(c.isSyncing).toBe(false);
    c.deliver(live(7), event(7));
    c.deliver(live(8), event(8));
    expect(ids(socket)).toEqual(['2-0', '3-0', '4-0', '5-0', '6-0', '7-0', '8-0']);
  });

  test('snapshot: live events at or below its event_id are dropped, later ones follow it', async () => {
    const socket = fakeSocket();
    const c = connect(socket, 'pipeline', 's1', roomy);
    const { sync } = scriptedSync(c, [{ during: [3, 4, 5], entries: [], latest: 4 }]);
    await sync.subscribe(c);
    expect(socket.sent.map((f) => (JSON.parse(f) as { event_type: string }).event_type)).toEqual(['snapshot', 'pipeline_progress']);
    expect(ids(socket)).toEqual(['4-0', '5-0']);
  });

  test('a gap found on a later page (trimmed during the replay) is reported, then a snapshot', async () => {
    const socket = fakeSocket();
    const c = connect(socket, 'pipeline', 's1', roomy);
    let call = 0;
    const page = async (): Promise<StreamPage> => {
      call++;
      if (call === 1) return { entries: [['2-0', stored(2)], ['3-0', stored(3)]], oldestId: '1-0', latestId: '9-0', epoch: '5', trimmed: true };
      return { entries: [['8-0', stored(8)]], oldestId: '8-0', latestId: '9-0', epoch: '5', trimmed: true };
    };
    const sync = new SessionSync({ reader: { page }, snapshot: async () => null, logger, pageSize: 2 });
    await sync.resume(c, { lastEventId: id(1), epoch: null });
    const frames = socket.sent.map((f) => JSON.parse(f) as { event_type: string; event_id?: string; data: { error_code?: string } });
    expect(frames.map((f) => f.event_type)).toEqual(['pipeline_progress', 'pipeline_progress', 'error', 'snapshot']);
    expect(frames[2]?.data.error_code).toBe('HISTORY_GAP');
    expect(frames[3]?.event_id).toBe('9-0');
  });
});

describe('SessionSync: when is it a gap', () => {
  const page = (over: Partial<StreamPage>) => async (): Promise<StreamPage> => ({
    entries: [],
    oldestId: '5-0',
    latestId: '9-0',
    epoch: '',
    trimmed: false,
    ...over,
  });
  async function firstFrame(over: Partial<StreamPage>, from: StreamId, epoch: string | null = null) {
    const socket = fakeSocket();
    const c = connect(socket, 'pipeline', 's1');
    await new SessionSync({ reader: { page: page(over) }, snapshot: async () => null, logger }).resume(c, { lastEventId: from, epoch });
    const frame = socket.sent[0] ? (JSON.parse(socket.sent[0]) as { data: { error_code?: string } }) : null;
    return { code: frame?.data.error_code ?? null, lastId: c.lastId, syncing: c.isSyncing };
  }

  test('before the oldest entry of a stream that was never trimmed: no gap', async () => {
    expect(await firstFrame({ trimmed: false }, id(1))).toEqual({ code: null, lastId: id(1), syncing: false });
    expect(await firstFrame({ trimmed: false }, id(0))).toMatchObject({ code: null });
  });
  test('before the oldest entry of a trimmed stream: gap', async () => {
    expect((await firstFrame({ trimmed: true }, id(1))).code).toBe('HISTORY_GAP');
    expect((await firstFrame({ trimmed: true }, id(5))).code).toBeNull(); // at the oldest: nothing lost
  });
  test('a missing stream: a gap for a real position, nothing to replay from 0-0', async () => {
    expect((await firstFrame({ oldestId: null, latestId: null }, id(3))).code).toBe('HISTORY_GAP');
    expect(await firstFrame({ oldestId: null, latestId: null }, id(0))).toEqual({ code: null, lastId: id(0), syncing: false });
  });
  test('another epoch: gap; the same or none given: no gap', async () => {
    expect((await firstFrame({ epoch: '2' }, id(6), '1')).code).toBe('HISTORY_GAP');
    expect((await firstFrame({ epoch: '2' }, id(6), '2')).code).toBeNull();
    expect((await firstFrame({ epoch: '2' }, id(6), null)).code).toBeNull();
  });
});

describe('Connection: inbound rate', () => {
  test('within the budget ok; over it a warning once, then drops; at twice the budget close', () => {
    const c = connect(fakeSocket());
    const verdicts = Array.from({ length: 11 }, () => c.admitInbound(5, 1_000));
    expect(verdicts).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'warn', 'drop', 'drop', 'drop', 'drop', 'close']);
    expect(c.admitInbound(5, 2_000)).toBe('ok'); // a new second
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
  test('dashboard_update: session state read once per tick and per session, one frame per audience', async () => {
    const hub = new ConnectionHub(logger);
    const mine = [fakeSocket(), fakeSocket(), fakeSocket()];
    const overview = [fakeSocket(), fakeSocket()];
    for (const socket of mine) hub.add(new Connection(socket as unknown as WebSocket, 'dashboard', 's1', 'ip', limits));
    for (const socket of overview) hub.add(new Connection(socket as unknown as WebSocket, 'dashboard', null, 'ip', limits));
    const summary = jest.fn(async (_id: string) => ({ status: 'running' as const, current_phase: null, progress_percent: 5, active_agents: 1, metrics: {} }));
    const activeSessionIds = jest.fn(async () => ['s1', 's2']);
    const ticker = new Ticker({ hub, logger, config: loadConfig({}), source: { activeSessionIds, summary }, takeEventsRouted: () => 0 });
    await ticker.dashboardTick();
    expect(activeSessionIds).toHaveBeenCalledTimes(1);
    expect(summary.mock.calls.map(([id]) => id).sort()).toEqual(['s1', 's2']);
    expect(new Set(mine.map((s) => s.sent[0])).size).toBe(1);
    expect(new Set(overview.map((s) => s.sent[0])).size).toBe(1);
  });

  test('a session-state source that hangs does not stop the metrics frames', async () => {
    const hub = new ConnectionHub(logger);
    const socket = fakeSocket();
    hub.add(connect(socket, 'metrics', 's1'));
    const config: RealtimeServerConfig = { ...loadConfig({}), METRICS_INTERVAL_MS: 50, DASHBOARD_INTERVAL_MS: 50 };
    const ticker = new Ticker({
      hub,
      logger,
      config,
      source: { activeSessionIds: () => new Promise(() => undefined), summary: () => new Promise(() => undefined) },
      takeEventsRouted: () => 0,
    });
    await ticker.metricsTick();
    expect(socket.send).toHaveBeenCalledTimes(1);
    const frame = JSON.parse(socket.sent[0]!) as { session_id: string; data: { metrics: Record<string, unknown> } };
    expect(frame.session_id).toBe('s1');
    expect(frame.data.metrics.cpu_percent).toEqual(expect.any(Number));
    expect(frame.data.metrics).not.toHaveProperty('status');
  });
});
