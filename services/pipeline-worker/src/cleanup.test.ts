import type { PhaseExecutor } from '@agent-forge/engine';
import { ALL_TENANTS } from '@agent-forge/state';
import { ArtifactReaper } from './reaper';
import { createWorkerHarness, waitFor } from './test-harness';

/** Nothing grows without bound: finished sessions expire, history is capped, artifacts are reaped. */
const modelWriter: PhaseExecutor = {
  name: 'model-writer',
  async run(ctx) {
    const model = await ctx.artifacts.put(`${ctx.artifactPrefix}model.bin`, new Uint8Array(64));
    return { metrics: { bytes: 64 }, artifacts: { model } };
  },
};
const h = createWorkerHarness({
  label: 'cleanup',
  executors: [modelWriter],
  store: { retentionSeconds: 1, historyMax: 5 },
  retry: { attempts: 1, backoff: { type: 'fixed', delay_ms: 10, max_delay_ms: 10 } },
  jobRetentionSeconds: 1,
});
beforeAll(() => h.start());
afterAll(() => h.stop());

async function keyCount(): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await h.t.redis.scan(cursor, 'MATCH', `${h.t.prefix}:*`, 'COUNT', 1000);
    n += keys.length;
    cursor = next;
  } while (cursor !== '0');
  return n;
}

async function runToEnd(count: number): Promise<string[]> {
  // monitoring off: 64 zero bytes are no model, and the quality gates would rightly pause the session
  const ids = await Promise.all(Array.from({ length: count }, () => h.startSession(['cognate', 'evomerge'], { executor: 'model-writer' }, true, { enableMonitoring: false })));
  await Promise.all(ids.map((id) => waitFor(() => h.status(id), (s) => s.status === 'completed')));
  return ids;
}

it('returns to the same key count after many sessions, keeps capped history, and reaps expired artifacts', async () => {
  const reaper = new ArtifactReaper({ artifacts: h.artifacts, sessions: h.store, logger: h.logger, intervalMs: 60_000, tempFileAgeMs: 0 });
  // Warm up: queues and indexes exist, one session ran and expired.
  await runToEnd(1);
  await new Promise((r) => setTimeout(r, 1_300));
  await runToEnd(1); // completing a job removes BullMQ's jobs older than their retention
  await new Promise((r) => setTimeout(r, 1_300));
  const baseline = await keyCount();

  const ids = await runToEnd(12);
  expect(await keyCount()).toBeGreaterThan(baseline + 12 * 4); // every session really wrote its keys
  expect((await h.artifacts.topLevel()).length).toBeGreaterThanOrEqual(12);
  await new Promise((r) => setTimeout(r, 1_300));
  await runToEnd(1);
  await new Promise((r) => setTimeout(r, 1_300));

  expect(await keyCount()).toBe(baseline);
  // history outlives the sessions but is capped: the newest 5 records remain, readable — the last
  // run's session and 4 of the 12 (which 4 depends on creation order: they were created together)
  const kept = await h.t.redis.zrevrange(h.t.keys.history(), 0, -1);
  expect(kept).toHaveLength(5);
  expect(await h.t.redis.hlen(h.t.keys.historyEntries())).toBe(5);
  expect(kept.filter((id) => ids.includes(id))).toHaveLength(4);
  for (const id of kept) expect(await h.store.historyEntry(id, ALL_TENANTS)).toMatchObject({ session_id: id, status: 'completed', success: true });
  // artifacts of expired sessions are swept (the files do not expire by themselves)
  const swept = await reaper.sweep();
  expect(swept.sessions).toBeGreaterThanOrEqual(12);
  expect(await h.artifacts.topLevel()).toEqual([]);
}, 30_000);
