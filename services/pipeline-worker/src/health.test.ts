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

it('a queue whose slots this worker holds (a long job, or a chain of phases) is busy, not stuck', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let started = 0;
  const busy = new PhaseWorkers({
    connection: conn,
    prefix: t.keys.queuePrefix(),
    phases: ['baking', 'compression'],
    concurrency: 1,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    // Holds every job it takes, as a job running a long phase (or a chain of them) does.
    runner: { run: async () => (started++, await held, { outcome: 'completed', next: null }) } as unknown as PhaseRunner,
    logger: createLogger('test', 'silent'),
  });
  const busyServer = createHealthServer(conn, busy, 'w-busy', { queues, phases: ['baking', 'compression'], afterMs: 1_000 });
  await new Promise<void>((r) => busyServer.listen(0, '127.0.0.1', r));
  const busyBase = `http://127.0.0.1:${(busyServer.address() as AddressInfo).port}`;
  try {
    busy.start();
    await queues.enqueue({ sessionId: 'long-1', phase: 'baking', runGen: 1 }, {});
    while (started === 0) await new Promise((r) => setTimeout(r, 20));
    await queues.enqueue({ sessionId: 'long-2', phase: 'baking', runGen: 1 }, {});
    await new Promise((r) => setTimeout(r, 1_300));
    // baking's one slot is held and its second job waits: busy.
    expect((await fetch(`${busyBase}/health/ready`)).status).toBe(200);
    expect(busy.canTake('baking')).toBe(false);
    expect(busy.canTake('compression')).toBe(true);
    expect(busy.canTake('adas')).toBe(false); // not served here
  } finally {
    release();
    await busy.close();
    await new Promise((r) => busyServer.close(r));
  }
});
