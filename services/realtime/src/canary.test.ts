import { randomUUID } from 'node:crypto';
import type { EventData } from '@agent-forge/contracts';
import { EventPublisher } from '@agent-forge/state';
import { eventually, Harness, type Frame } from './test-support';

/**
 * Never silently deaf: a replica whose subscription stops delivering notices it through its own
 * canary, reports not ready, resubscribes, and brings its clients up to date.
 */
const CANARY_INTERVAL_MS = 40;
const h = new Harness('rt-canary', { CANARY_INTERVAL_MS });
const { redis, keys } = h.t;
const publisher = new EventPublisher(redis, keys);
afterEach(() => h.closeClients());
afterAll(() => h.cleanup());

function progress(message: string): EventData<'pipeline_progress'> {
  return { phase: 'cognate', progress_percent: 10, total_progress_percent: 5, status: 'running', message, metrics: {} };
}
const isMessage = (message: string) => (f: Frame) => f.data?.message === message;
const readyStatus = async (base: string) => (await fetch(`${base}/ready`)).status;

test('a subscription dropped behind the router’s back: /ready 503, resubscribed, /ready 200, missed events replayed', async () => {
  const server = await h.startServer();
  const session = randomUUID();
  const watcher = await h.open(server.ws, `/ws/pipeline?session_id=${session}`);
  const overview = await h.open(server.ws, '/ws/pipeline');
  await watcher.waitFor((f) => f.event_type === 'snapshot');
  const before = await publisher.publish('pipeline_progress', session, progress('before'));
  await watcher.waitFor(isMessage('before'));
  expect(await readyStatus(server.http)).toBe(200);

  // The subscriber stops listening without the router knowing (what a lost subscription looks like).
  await server.subscriber.unsubscribe(keys.eventsChannel());
  const missed: string[] = [];
  for (const message of ['missed-1', 'missed-2', 'missed-3']) {
    missed.push((await publisher.publish('pipeline_progress', session, progress(message))) as string);
  }

  let sawNotReady = false;
  await eventually(async () => (sawNotReady = (await readyStatus(server.http)) === 503), 3_000, '/ready 503');
  expect(sawNotReady).toBe(true);
  await eventually(async () => (await readyStatus(server.http)) === 200, 3_000, '/ready 200 again');

  // The session socket gets what it missed, once, in order; the unfiltered one is told.
  await watcher.waitFor(isMessage('missed-3'));
  const notice = await overview.waitFor((f) => f.event_type === 'error');
  expect(notice).toMatchObject({ session_id: null, data: { error_code: 'HISTORY_GAP', recoverable: true } });
  const after = await publisher.publish('pipeline_progress', session, progress('after'));
  await watcher.waitFor(isMessage('after'));
  await overview.waitFor(isMessage('after'));
  expect(watcher.eventIds()).toEqual([before, ...missed, after]);
});

test('the subscriber connection killed in Redis: not ready until it is back, then events flow again', async () => {
  const name = `rt-canary-sub-${randomUUID().slice(0, 8)}`;
  const server = await h.startServer({}, name);
  const session = randomUUID();
  const watcher = await h.open(server.ws, `/ws/pipeline?session_id=${session}`);
  await watcher.waitFor((f) => f.event_type === 'snapshot');

  const list = (await redis.client('LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  const id = /(?:^|\s)id=(\d+)/.exec(line ?? '')?.[1];
  expect(id).toBeDefined();
  await redis.client('KILL', 'ID', id as string);
  const missed = (await publisher.publish('pipeline_progress', session, progress('while-down'))) as string;

  await eventually(() => !server.realtime.ready(), 2_000, 'not ready after the kill');
  await eventually(() => server.realtime.ready(), 5_000, 'ready again');
  await watcher.waitFor(isMessage('while-down'), 0, 3_000);
  const after = await publisher.publish('pipeline_progress', session, progress('after'));
  await watcher.waitFor(isMessage('after'));
  expect(watcher.eventIds()).toEqual([missed, after]);
});

test('other replicas’ canaries are ignored and never reach clients', async () => {
  const [one, two] = await Promise.all([h.startServer(), h.startServer()]);
  const client = await h.open(one.ws, '/ws/pipeline');
  // Several canary periods of both replicas go by; a ping round trip then proves the socket is live.
  await eventually(() => one.realtime.ready() && two.realtime.ready());
  await new Promise((r) => setTimeout(r, CANARY_INTERVAL_MS * 4));
  client.send(JSON.stringify({ type: 'ping' }));
  await client.waitFor((f) => f.type === 'pong');
  expect(client.frames.filter((f) => f.type !== 'pong')).toEqual([]);
});
