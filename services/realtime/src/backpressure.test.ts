import v8 from 'node:v8';
import vm from 'node:vm';
import type { EventData } from '@agent-forge/contracts';
import { EventPublisher } from '@agent-forge/state';
import { WebSocket } from 'ws';
import { eventually, Harness } from './test-support';

/**
 * Slow consumers, connection and frame limits, and hostile input, with real sockets and Redis.
 */
const h = new Harness('rt-backpressure');
const { redis, keys } = h.t;
afterEach(() => h.closeClients());
afterAll(() => h.cleanup());

const MiB = 1024 * 1024;

/**
 * A full GC before each RSS sample: the test pushes 100 MiB of short-lived strings through this
 * one process (publisher, Redis replies, both socket ends), and RSS would otherwise measure how
 * lazily V8 collects them rather than what the server keeps.
 */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;
function rssAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().rss;
}
function progress(message: string, pad = ''): EventData<'pipeline_progress'> {
  return { phase: 'cognate', progress_percent: 10, total_progress_percent: 5, status: 'running', message, metrics: { pad } };
}

describe('slow consumers', () => {
  test('a client that stops reading is closed with 4408, the replica stays bounded, others get everything', async () => {
    const server = await h.startServer({ WS_MAX_BUFFERED_BYTES: MiB });
    // Events without a session: pub/sub only, so the 75 MiB pushed through Redis are not stored there.
    const publisher = new EventPublisher(redis, keys);
    const slow = await h.open(server.ws, '/ws/pipeline');
    slow.stopReading();

    // The healthy client only counts: keeping 100 MiB of frames would measure the test, not the server.
    const healthy = new WebSocket(`${server.ws}/ws/pipeline`);
    let received = 0;
    let lastMessage = '';
    healthy.on('message', (data: Buffer) => {
      if (!data.includes('"event_type":"pipeline_progress"')) return;
      received++;
      if (data.includes('"message":"last"')) lastMessage = 'last';
    });
    await new Promise((resolve, reject) => healthy.once('open', resolve).once('error', reject));

    const pad = 'x'.repeat(64 * 1024);
    const before = rssAfterGc();
    let peak = before;
    let published = 0;
    let cutAt = -1;
    // 75 MiB: without the bound nearly all of it piles up for the slow client (measured: RSS +100 MiB).
    const total = 1_200;
    for (let i = 0; i < total; i++) {
      await publisher.publish('pipeline_progress', null, progress(i === total - 1 ? 'last' : `e${i}`, pad));
      published++;
      if (cutAt < 0 && server.realtime.stats().total_connections === 1) {
        cutAt = i;
        // Cut off: it may read again now. It gets what was in flight, then our 4408 close frame —
        // within the server's 5 s closing-handshake grace even when this loop runs slowly (a busy
        // machine), after which an unanswered close would be cut as 1006.
        slow.startReading();
      }
      if (i % 300 === 299) peak = Math.max(peak, rssAfterGc());
      if (i % 25 === 0) {
        // Let the healthy client keep up (it shares this process); bounded wait on a message count.
        await eventually(() => received >= published - 200, 5_000, 'healthy client keeping up');
      }
    }
    await eventually(() => lastMessage === 'last', 10_000, 'healthy client got the last event');
    peak = Math.max(peak, rssAfterGc());

    expect(cutAt).toBeGreaterThanOrEqual(0); // the slow client was dropped while events kept coming
    expect(received).toBe(published);
    expect(peak - before).toBeLessThan(64 * MiB);

    slow.startReading(); // it reads what was in flight, then our close frame
    expect(await slow.closed).toEqual({ code: 4408, reason: 'slow consumer' });
    healthy.close();
  }, 20_000);
});

describe('limits', () => {
  test('connections per address: the one over the limit is closed with 4429; a freed slot is reusable', async () => {
    const server = await h.startServer({ WS_MAX_CONNECTIONS_PER_IP: 2 });
    const first = await h.open(server.ws, '/ws/agents');
    await h.open(server.ws, '/ws/agents');
    const third = await h.open(server.ws, '/ws/agents');
    expect(await third.closed).toEqual({ code: 4429, reason: 'too many connections' });
    expect(server.realtime.stats().total_connections).toBe(2);
    await first.close();
    await eventually(() => server.realtime.stats().total_connections === 1);
    const again = await h.open(server.ws, '/ws/agents');
    again.send(JSON.stringify({ type: 'ping' }));
    await again.waitFor((f) => f.type === 'pong');
  });

  test('inbound frame rate: RATE_LIMITED error, then 4429 if the flood goes on', async () => {
    const server = await h.startServer({ WS_MAX_FRAMES_PER_SECOND: 5 });
    const polite = await h.open(server.ws, '/ws/tasks');
    for (let i = 0; i < 5; i++) polite.send(JSON.stringify({ type: 'ping' }));
    await polite.waitFor(() => polite.frames.filter((f) => f.type === 'pong').length === 5);

    const flood = await h.open(server.ws, '/ws/tasks');
    for (let i = 0; i < 20; i++) flood.send(JSON.stringify({ type: 'ping' }));
    expect(await flood.closed).toEqual({ code: 4429, reason: 'too many frames' });
    expect(flood.frames.filter((f) => f.type === 'pong')).toHaveLength(5);
    const limited = flood.frames.filter((f) => f.event_type === 'error');
    expect(limited).toHaveLength(1);
    expect(limited[0]?.data).toMatchObject({ error_code: 'RATE_LIMITED', recoverable: true });
    expect(polite.ws.readyState).toBe(WebSocket.OPEN);
  });

  test('fuzzed inbound frames get error events or documented closes, never a crash', async () => {
    const server = await h.startServer({ WS_MAX_FRAMES_PER_SECOND: 10_000, WS_MAX_PAYLOAD_BYTES: 4_096 });
    let seed = 42;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pieces = ['{', '}', '"type"', ':', '"resume"', '"ping"', '"last_event_id"', '"1-1"', ',', '[', ']', 'null', '1e999', '"\\u0000"', '\uFFFF', '"session_id"'];
    const client = await h.open(server.ws, '/ws/pipeline?session_id=fuzz');
    for (let i = 0; i < 300; i++) {
      const kind = rand();
      if (kind < 0.1) client.send(Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))), true);
      else if (kind < 0.2) client.send(JSON.stringify({ type: 'resume', last_event_id: `${Math.floor(rand() * 1e6)}-${Math.floor(rand() * 10)}`, epoch: '' }));
      else client.send(Array.from({ length: 1 + Math.floor(rand() * 12) }, () => pieces[Math.floor(rand() * pieces.length)]).join(''));
    }
    client.send(JSON.stringify({ type: 'ping' }));
    await client.waitFor((f) => f.type === 'pong', 0, 5_000);
    const codes = new Set(client.frames.filter((f) => f.event_type === 'error').map((f) => f.data?.error_code));
    for (const code of codes) expect(['INVALID_MESSAGE', 'UNKNOWN_MESSAGE_TYPE', 'HISTORY_GAP']).toContain(code);

    const huge = await h.open(server.ws, '/ws/pipeline');
    huge.send('x'.repeat(5_000));
    expect((await huge.closed).code).toBe(1009);
    const res = await fetch(`${server.http}/health`);
    expect(res.status).toBe(200);
  });
});
