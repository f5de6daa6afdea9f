import type { AddressInfo } from 'node:net';
import { PhaseQueues } from '@agent-forge/engine';
import { createLogger } from '@agent-forge/runtime';
import { createTestRedis } from '@agent-forge/state';
import { Redis } from 'ioredis';
import { createHealthServer } from './health';
import type { PhaseRunner } from './phase-runner';
import { PhaseWorkers } from './worker';

/** A worker that has free slots but takes no job while work waits says so, instead of idling silently. */
const t = createTestRedis('worker-health');
const conn = new Redis(t.url, { maxRetriesPerRequest: null });
const queues = new PhaseQueues(conn, t.keys);
// Never started: like a worker whose blocking connection silently stopped delivering jobs.
const workers = new PhaseWorkers({
  connection: conn,
  prefix: t.keys.queuePrefix(),
  phases: ['adas'],
  concurrency: 1,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  runner: {} as PhaseRunner,
  logger: createLogger('test', 'silent'),
});
const server = createHealthServer(conn, workers, 'w-stuck', { queues, phases: ['adas'], afterMs: 1_000 });
let base = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await queues.close();
  await conn.quit();
  await t.cleanup();
});

it('is live until work has waited past the threshold untaken, then fails liveness with the reason', async () => {
  await queues.enqueue({ sessionId: 'stuck-session', phase: 'adas', runGen: 1 }, {});
  expect((await fetch(`${base}/health`)).status).toBe(200);
  const stats = await queues.stats(['adas']);
  expect(stats.adas).toMatchObject({ waiting: 1, active: 0 });
  await new Promise((r) => setTimeout(r, 1_300));
  const res = await fetch(`${base}/health`);
  expect(res.status).toBe(503);
  expect(((await res.json()) as { error: string }).error).toMatch(/worker stuck: jobs of adas have waited/);
  expect((await queues.stats(['adas'])).adas!.oldest_waiting_age_seconds).toBeGreaterThanOrEqual(1);
});
