import { EventReader } from '@agent-forge/state';
import { Stack, waitFor, type RunningService } from './support/stack';

/**
 * A worker killed with SIGKILL mid-phase loses nothing: its job stalls, another worker takes it
 * over, the phase resumes from its last in-phase checkpoint, and every phase completes once.
 */
const stack = new Stack('e2e-crash');
let gateway: RunningService;
const workerEnv = (id: string) => ({ WORKER_ID: id, WORKER_LOCK_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' });

beforeAll(async () => {
  gateway = await stack.start('gateway');
}, 30_000);
afterAll(() => stack.stopAll());

async function status(id: string): Promise<Record<string, any>> {
  return (await fetch(`${gateway.url}/api/v1/pipeline/status/${id}`, { headers: stack.headers() })).json() as Promise<Record<string, any>>;
}

// Both ways a phase reaches a worker: through its queue (chaining off), and chained into the job
// of the phase before it (a budget long enough that evomerge runs inside cognate's job, so the
// crash leaves no job of evomerge's own: the redelivered cognate job must re-enqueue it).
it.each([
  ['through its own queue', '0'],
  ['chained into the previous phase\'s job', '60000'],
])('recovers a phase reached %s from a SIGKILLed worker and completes every phase exactly once', async (_how, chainMs) => {
  const workers = new Map<string, RunningService>();
  for (const id of [`w-a-${chainMs}`, `w-b-${chainMs}`]) workers.set(id, await stack.start('pipeline-worker', { ...workerEnv(id), WORKER_CHAIN_MS: chainMs }));
  const res = await fetch(`${gateway.url}/api/v1/pipeline/start`, {
    method: 'POST',
    headers: stack.headers(true),
    body: JSON.stringify({ phases: ['cognate', 'evomerge', 'quietstar'], config: { dry_run: { steps: 12, step_ms: 80 } } }),
  });
  const sessionId = ((await res.json()) as { session_id: string }).session_id;

  // Kill whichever worker owns the second phase once it is well under way.
  const s = await waitFor(() => status(sessionId), (v) => v.current_phase === 'evomerge' && v.phase_metrics[1].progress_percent >= 40, 15_000, 'evomerge at 40 %');
  const owner = (await stack.redis.redis.hget(stack.redis.keys.session(sessionId), 'worker_id')) as string;
  expect(workers.has(owner)).toBe(true);
  await workers.get(owner)!.stop('SIGKILL');
  const killedAt = s.phase_metrics[1].progress_percent as number;

  const final = await waitFor(() => status(sessionId), (v) => v.status === 'completed', 30_000, 'completion after the crash');
  expect(final.phases_completed).toEqual(['cognate', 'evomerge', 'quietstar']);
  const evomerge = final.phase_metrics[1].custom_metrics;
  // resumed from its in-phase checkpoint, not from scratch, and never past the end
  expect(evomerge.resumed_from_step).toBeGreaterThanOrEqual(Math.floor((killedAt / 100) * 12) - 1);
  expect(evomerge.resumed_from_step + evomerge.steps_run).toBe(12);

  const events = await new EventReader(stack.redis.redis, stack.redis.keys).readAfter(sessionId, '0', 10_000);
  const completes = events.filter((e) => e.event_type === 'phase_complete').map((e) => e.data.phase);
  expect(completes).toEqual(['cognate', 'evomerge', 'quietstar']);
  const evomergeJob = await stack.redis.redis.exists(`${stack.redis.keys.queuePrefix()}:phase-evomerge:${sessionId}.evomerge.g1`);
  expect(evomergeJob).toBe(1);
  for (const w of workers.values()) await w.stop();
}, 60_000);
