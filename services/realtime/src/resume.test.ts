import { randomUUID } from 'node:crypto';
import { EventEnvelope, SnapshotData, type EventData } from '@agent-forge/contracts';
import { EventPublisher, EventReader, SessionStore } from '@agent-forge/state';
import { eventually, Harness, type Frame, type StartedServer, type TestClient } from './test-support';

/**
 * Replay, resume and snapshots against the real Redis, across two replicas on one Redis: nothing a
 * client relies on lives in one replica (no sticky sessions).
 */
const h = new Harness('rt-resume');
const { redis, keys } = h.t;
const publisher = new EventPublisher(redis, keys);
const reader = new EventReader(redis, keys);
const store = new SessionStore(redis, keys);
let a: StartedServer;
let b: StartedServer;

beforeAll(async () => {
  [a, b] = await Promise.all([h.startServer(), h.startServer()]);
});
afterEach(() => h.closeClients());
afterAll(() => h.cleanup());

function progress(message: string): EventData<'pipeline_progress'> {
  return { phase: 'cognate', progress_percent: 10, total_progress_percent: 5, status: 'running', message, metrics: {} };
}
const publish = (session: string, message: string) => publisher.publish('pipeline_progress', session, progress(message)) as Promise<string>;

async function newSession(): Promise<string> {
  const sessionId = randomUUID();
  await store.create({
    sessionId,
    tenant: 'default',
    phases: ['cognate', 'evomerge'],
    config: {},
    enableMonitoring: true,
    enableCheckpoints: true,
    topology: 'hierarchical',
    maxAgents: 5,
    preset: null,
  });
  return sessionId;
}

const allIds = async (session: string) => (await reader.readAfter(session, '0', 100_000)).map((e) => e.event_id as string);
const isMessage = (message: string) => (f: Frame) => f.data?.message === message;
const isType = (type: string) => (f: Frame) => f.event_type === type;

/**
 * Publish `count` events in the background, the last one with message "last": back to back, or
 * paced by a 1 ms timer so that the run spans a test's reconnects.
 */
function publishInBackground(session: string, count: number, paced: boolean): { done: Promise<void>; published: () => number } {
  let published = 0;
  const done = (async () => {
    for (let i = 0; i < count; i++) {
      await publish(session, i === count - 1 ? 'last' : `e${i}`);
      published++;
      if (paced) await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return { done, published: () => published };
}

describe('snapshot for a new session subscriber', () => {
  test('the first frame is the session status at the newest event; live events follow, none at or below it', async () => {
    const session = await newSession();
    await publish(session, 'before-1');
    const newest = await publish(session, 'before-2');
    const client = await h.open(a.ws, `/ws/pipeline?session_id=${session}`);
    const snapshot = await client.waitFor(isType('snapshot'));
    expect(client.frames[0]).toBe(snapshot);
    expect(snapshot).toMatchObject({ session_id: session, event_id: newest, epoch: expect.stringMatching(/^\d+$/) });
    expect(EventEnvelope.safeParse(snapshot).success).toBe(true);
    expect(SnapshotData.parse(snapshot.data)).toMatchObject({ session_id: session, status: 'initializing', current_phase: 'cognate' });
    expect(snapshot.epoch).toBe(await reader.epoch(session));

    await publish(session, 'after');
    await client.waitFor(isMessage('after'));
    expect(client.events().map((f) => f.data?.message)).toEqual(['after']);
  });

  test('an unknown session: status null and event_id null, never a blank or invented state', async () => {
    const session = randomUUID();
    const client = await h.open(b.ws, `/ws/dashboard?session_id=${session}`);
    const snapshot = await client.waitFor(isType('snapshot'));
    expect(snapshot).toMatchObject({ session_id: session, event_id: null, epoch: '', data: { session_id: session, status: null } });
    expect(EventEnvelope.safeParse(snapshot).success).toBe(true);
    expect(client.frames.indexOf(snapshot)).toBe(0);
  });
});

describe('resume across replicas', () => {
  test('disconnected from A mid-run, resumed on B with last_event_id: exactly the full sequence', async () => {
    const session = await newSession();
    const total = 200;
    const run = publishInBackground(session, total, true);
    const first = await h.open(a.ws, `/ws/pipeline?session_id=${session}`);
    await first.waitFor(() => first.eventIds().length >= 20, 0, 5_000);
    await first.close();
    const seen = first.eventIds();
    const last = seen.at(-1) as string;
    const epoch = first.frames.find((f) => f.event_id === last)?.epoch ?? '';
    // The run goes on while the client is away.
    const publishedAtClose = run.published();
    await eventually(() => run.published() >= Math.min(publishedAtClose + 20, total), 5_000, 'more events published');

    const second = await h.open(b.ws, `/ws/pipeline?session_id=${session}&last_event_id=${last}&epoch=${epoch}`);
    await run.done;
    await second.waitFor(isMessage('last'), 0, 5_000);
    expect(second.frames.some(isType('snapshot'))).toBe(false);
    expect(second.frames.some(isType('error'))).toBe(false);

    const snapshotId = first.frames.find(isType('snapshot'))?.event_id ?? null;
    const stream = await allIds(session);
    const expected = snapshotId === null ? stream : stream.slice(stream.indexOf(snapshotId) + 1);
    expect([...seen, ...second.eventIds()]).toEqual(expected);
  });

  test('hopping between replicas while events are being published: no gap, no duplicate', async () => {
    const session = await newSession();
    // Back to back: events reach the replicas while each resume is still reading the stream.
    const run = publishInBackground(session, 1_500, false);
    const received: string[] = [];
    let url = `/ws/pipeline?session_id=${session}`;
    let snapshotId: string | null | undefined;
    let gotLast = false;
    for (let hop = 0; hop < 8 && !gotLast; hop++) {
      const client: TestClient = await h.open(hop % 2 === 0 ? a.ws : b.ws, url);
      if (hop === 0) snapshotId = (await client.waitFor(isType('snapshot'))).event_id;
      await client.waitFor(() => client.eventIds().length >= 40 || client.frames.some(isMessage('last')), 0, 5_000);
      await client.close();
      expect(client.frames.some(isType('error'))).toBe(false);
      received.push(...client.eventIds());
      gotLast = client.frames.some(isMessage('last'));
      url = `/ws/pipeline?session_id=${session}&last_event_id=${received.at(-1)}`;
    }
    await run.done;
    if (!gotLast) {
      const final = await h.open(a.ws, url);
      await final.waitFor(isMessage('last'), 0, 5_000);
      received.push(...final.eventIds());
    }

    const stream = await allIds(session);
    const expected = snapshotId ? stream.slice(stream.indexOf(snapshotId) + 1) : stream;
    expect(received).toEqual(expected);
    expect(new Set(received).size).toBe(received.length);
  });

  test('a resume frame on an open session socket replays what was asked, then continues live once', async () => {
    const session = await newSession();
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await publish(session, `r${i}`));
    const client = await h.open(b.ws, `/ws/pipeline?session_id=${session}`);
    await client.waitFor(isType('snapshot'));
    client.send(JSON.stringify({ type: 'resume', session_id: session, last_event_id: ids[1] }));
    await client.waitFor(isMessage('r5'));
    const next = await publish(session, 'r6');
    await client.waitFor(isMessage('r6'));
    expect(client.eventIds()).toEqual([ids[2], ids[3], ids[4], next]);
  });

  test('a replay carries only the events of the socket’s channel', async () => {
    const session = await newSession();
    const start = await publish(session, 'p0');
    await publisher.publish('agent_update', session, {
      agent_id: 'a1', role: 'worker', phase: 'cognate', state: 'active', task: null, memory_usage_mb: 1, cpu_usage_percent: 1,
    });
    await publish(session, 'p1');
    await publisher.publish('error', session, { error_code: 'X', error_message: 'boom', phase: 'cognate', recoverable: false });
    const agents = await h.open(a.ws, `/ws/agents?session_id=${session}&last_event_id=${start}`);
    await agents.waitFor(isType('error'));
    expect(agents.events().map((f) => f.event_type)).toEqual(['agent_update', 'error']);
  });
});

describe('history gaps are explicit', () => {
  test('last_event_id older than the retained history → HISTORY_GAP error, then a snapshot, then live', async () => {
    const session = await newSession();
    const tiny = new EventPublisher(redis, keys, 5);
    const oldest = (await tiny.publish('pipeline_progress', session, progress('first'))) as string;
    // MAXLEN ~ trims whole stream nodes: publish enough that the first node goes.
    await Promise.all(Array.from({ length: 300 }, (_, i) => tiny.publish('pipeline_progress', session, progress(`t${i}`))));
    expect(await reader.oldestId(session)).not.toBe(oldest);
    const newest = (await allIds(session)).at(-1);

    const client = await h.open(b.ws, `/ws/pipeline?session_id=${session}&last_event_id=${oldest}`);
    const snapshot = await client.waitFor(isType('snapshot'));
    const [gap] = client.frames;
    expect(gap).toMatchObject({ event_type: 'error', session_id: session, data: { error_code: 'HISTORY_GAP', recoverable: true, phase: null } });
    expect(String(gap?.data?.error_message)).toContain('no longer retained');
    expect(client.frames[1]).toBe(snapshot);
    expect(snapshot.event_id).toBe(newest);
    expect(client.events().filter((f) => f.event_type !== 'error')).toEqual([]); // nothing replayed silently

    const live = await publish(session, 'live');
    await client.waitFor(isMessage('live'));
    expect(client.eventIds()).toEqual([live]);
  });

  test('a different epoch (history was reset) → HISTORY_GAP + snapshot, by query and by resume frame', async () => {
    const session = await newSession();
    const id = await publish(session, 'x');
    const epoch = (await reader.epoch(session)) as string;
    expect(epoch).toMatch(/^\d+$/);

    const byQuery = await h.open(a.ws, `/ws/pipeline?session_id=${session}&last_event_id=${id}&epoch=1${epoch}`);
    await byQuery.waitFor(isType('snapshot'));
    expect(byQuery.frames[0]).toMatchObject({ event_type: 'error', data: { error_code: 'HISTORY_GAP' } });
    expect(String(byQuery.frames[0]?.data?.error_message)).toContain('reset');

    const sameEpoch = await h.open(b.ws, `/ws/pipeline?session_id=${session}&last_event_id=${id}&epoch=${epoch}`);
    const mark = sameEpoch.frames.length;
    sameEpoch.send(JSON.stringify({ type: 'resume', last_event_id: id, epoch: '42' }));
    const gap = await sameEpoch.waitFor(isType('error'), mark);
    expect(gap.data).toMatchObject({ error_code: 'HISTORY_GAP' });
    await sameEpoch.waitFor(isType('snapshot'), mark);
  });
});

describe('invalid resume requests', () => {
  test('bad ids or filters on upgrade → 422 in the error shape', async () => {
    const session = randomUUID();
    expect(await h.refusedStatus(a.ws, `/ws/pipeline?session_id=${session}&last_event_id=banana`)).toBe(422);
    expect(await h.refusedStatus(a.ws, `/ws/pipeline?last_event_id=1-0`)).toBe(422);
    expect(await h.refusedStatus(a.ws, `/ws/pipeline?session_id=${session}&last_event_id=1-0&epoch=abc`)).toBe(422);
  });

  test('bad resume frames → INVALID_MESSAGE error events; the socket keeps working', async () => {
    const session = randomUUID();
    const filtered = await h.open(a.ws, `/ws/pipeline?session_id=${session}`);
    const unfiltered = await h.open(a.ws, '/ws/pipeline');
    const cases: Array<[TestClient, unknown]> = [
      [filtered, { type: 'resume', last_event_id: 'nope' }],
      [filtered, { type: 'resume' }],
      [filtered, { type: 'resume', last_event_id: '99999999999999999999-1' }],
      [filtered, { type: 'resume', session_id: randomUUID(), last_event_id: '1-0' }],
      [unfiltered, { type: 'resume', session_id: session, last_event_id: '1-0' }],
    ];
    for (const [client, message] of cases) {
      const mark = client.frames.length;
      client.send(JSON.stringify(message));
      const error = await client.waitFor(isType('error'), mark);
      expect(error.data).toMatchObject({ error_code: 'INVALID_MESSAGE', recoverable: true });
    }
    const mark = filtered.frames.length;
    filtered.send(JSON.stringify({ type: 'ping' }));
    await filtered.waitFor((f) => f.type === 'pong', mark);
  });
});
