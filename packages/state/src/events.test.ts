import { randomUUID } from 'node:crypto';
import { EventPublisher, EventReader, stampEvent } from './events';
import { createTestRedis } from './test-support';

const t = createTestRedis('state-events');
const reader = new EventReader(t.redis, t.keys);
afterAll(() => t.cleanup());

const progress = (message: string) => ({
  phase: 'cognate' as const,
  progress_percent: 1,
  total_progress_percent: 1,
  status: 'running' as const,
  message,
  metrics: {},
});

describe('stampEvent', () => {
  it('puts event_id and epoch first, as the emit script publishes them', () => {
    expect(stampEvent('1-2', '77', '{"event_type":"x"}')).toBe('{"event_id":"1-2","epoch":"77","event_type":"x"}');
    expect(stampEvent('1-2', '', '{}')).toBe('{"event_id":"1-2","epoch":""}');
  });
});

describe('EventReader.page', () => {
  it('reads after an id together with the stream position, epoch and whether it was trimmed', async () => {
    const session = randomUUID();
    await t.redis.hset(t.keys.session(session), 'status', 'running'); // a session hash: the stream gets an epoch
    const publisher = new EventPublisher(t.redis, t.keys);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await publisher.publish('pipeline_progress', session, progress(`m${i}`))) as string);
    const page = await reader.page(session, ids[0]!, 2);
    expect(page.entries.map(([id]) => id)).toEqual([ids[1], ids[2]]);
    expect(page).toMatchObject({ oldestId: ids[0], latestId: ids[3], trimmed: false, epoch: await reader.epoch(session) });
    expect(page.epoch).toMatch(/^\d+$/);
    // The stored payload stamped like the live message is the envelope readAfter returns.
    const [id, payload] = page.entries[0]!;
    const [fromReadAfter] = await reader.readAfter(session, ids[0]!, 1);
    expect(JSON.parse(stampEvent(id, page.epoch, payload))).toEqual(fromReadAfter);
  });

  it('a trimmed stream says so; a missing one has no position', async () => {
    const session = randomUUID();
    const tiny = new EventPublisher(t.redis, t.keys, 5);
    await Promise.all(Array.from({ length: 250 }, (_, i) => tiny.publish('pipeline_progress', session, progress(`t${i}`))));
    expect((await reader.page(session, null, 0)).trimmed).toBe(true);
    expect(await reader.page(randomUUID(), '0-0', 10)).toEqual({ entries: [], oldestId: null, latestId: null, epoch: '', trimmed: false });
  });
});
