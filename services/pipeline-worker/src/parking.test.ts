import { ALL_TENANTS } from '@agent-forge/state';
import { createWorkerHarness, waitFor } from './test-harness';

/**
 * A paused session holds no worker slot: 1,000 paused sessions on one worker with concurrency 10
 * leave it free to run other sessions, and every paused one resumes where it stopped.
 */
const h = createWorkerHarness({ label: 'parking', concurrency: 10 });
beforeAll(() => h.start());
afterAll(() => h.stop());

it('1,000 paused sessions do not block a worker with concurrency 10', async () => {
  const slow = { dry_run: { steps: 50, step_ms: 200 } };
  const ids: string[] = [];
  for (let batch = 0; batch < 10; batch++) {
    ids.push(...(await Promise.all(Array.from({ length: 100 }, () => h.startSession(['cognate'], slow)))));
  }
  // pause them all: the 10 running ones park at their next step, the queued ones park when picked up
  const paused = await Promise.all(ids.map((id) => h.store.control(id, 'pause', 'test', ALL_TENANTS)));
  expect(paused.every((r) => r.kind === 'ok')).toBe(true);
  await waitFor(async () => (await h.queues.queue('cognate').getJobCounts('waiting', 'active')) as Record<string, number>, (c) => c.waiting === 0 && c.active === 0, 30_000);

  const t0 = Date.now();
  const other = await h.startSession(['cognate', 'evomerge'], { dry_run: { steps: 3, step_ms: 20 } });
  await waitFor(() => h.status(other), (s) => s.status === 'completed', 10_000);
  expect(Date.now() - t0).toBeLessThan(3_000);

  // every paused session is parked and resumable
  const parked = await Promise.all(ids.slice(0, 50).map((id) => h.store.sessionFields(id, ['status', 'parked'])));
  expect(parked.every((f) => f.status === 'paused' && f.parked === '1')).toBe(true);
  const resumed = await h.store.control(ids[0]!, 'resume', 'test', ALL_TENANTS);
  expect(resumed).toMatchObject({ kind: 'ok', enqueue: true, runGen: 2 });
}, 60_000);
