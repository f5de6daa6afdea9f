import { EventReader } from '@agent-forge/state';
import { Stack, waitFor, type RunningService } from './support/stack';

/**
 * Chaos: the worker running a pipeline is SIGKILLed several times at random steps (a fresh worker
 * joins each time). The run still completes with every phase completed exactly once, no duplicate
 * event, and each takeover resumes from the in-phase checkpoint rather than from scratch.
 */
const stack = new Stack('e2e-chaos');
let gateway: RunningService;
beforeAll(async () => {
  gateway = await stack.start('gateway');
}, 30_000);
afterAll(() => stack.stopAll());

const STEPS = 10;
async function status(id: string): Promise<Record<string, any>> {
  return (await fetch(`${gateway.url}/api/v1/pipeline/status/${id}`, { headers: stack.headers() })).json() as Promise<Record<string, any>>;
}

it('survives repeated SIGKILLs of its worker at random steps', async () => {
  const workers = new Map<string, RunningService>();
  let n = 0;
  const spawnWorker = async () => {
    const id = `chaos-w${n++}`;
    workers.set(id, await stack.start('pipeline-worker', { WORKER_ID: id, WORKER_LOCK_MS: '1500', WORKER_STALLED_INTERVAL_MS: '1000' }));
  };
  await spawnWorker();
  await spawnWorker();
  const res = await fetch(`${gateway.url}/api/v1/pipeline/start`, {
    method: 'POST',
    headers: stack.headers(true),
    body: JSON.stringify({ phases: ['cognate', 'evomerge', 'quietstar'], config: { dry_run: { steps: STEPS, step_ms: 60 } } }),
  });
  const sessionId = ((await res.json()) as { session_id: string }).session_id;

  let kills = 0;
  while (kills < 3) {
    const target = 10 + Math.random() * 70; // total progress at which to strike
    const s = await waitFor(() => status(sessionId), (v) => v.status === 'completed' || v.total_progress_percent >= target, 30_000, `progress ${target.toFixed(0)} %`);
    if (s.status === 'completed') break;
    const owner = (await stack.redis.redis.hget(stack.redis.keys.session(sessionId), 'worker_id')) as string;
    const victim = workers.get(owner);
    if (!victim || victim.child.exitCode !== null || victim.child.signalCode !== null) continue;
    await victim.stop('SIGKILL');
    workers.delete(owner);
    kills++;
    await spawnWorker();
  }

  const final = await waitFor(() => status(sessionId), (v) => v.status === 'completed', 45_000, 'completion');
  expect(kills).toBeGreaterThanOrEqual(1);
  expect(final.phases_completed).toEqual(['cognate', 'evomerge', 'quietstar']);
  for (const m of final.phase_metrics) {
    // no phase ran past its end or twice from scratch after its checkpoint
    expect(m.custom_metrics.resumed_from_step + m.custom_metrics.steps_run).toBe(STEPS);
  }
  const events = await new EventReader(stack.redis.redis, stack.redis.keys).readAfter(sessionId, '0', 10_000);
  expect(events.filter((e) => e.event_type === 'phase_complete').map((e) => e.data.phase)).toEqual(['cognate', 'evomerge', 'quietstar']);
  const ids = events.map((e) => e.event_id);
  expect(new Set(ids).size).toBe(ids.length);
  // no phase was enqueued twice despite the takeovers: at most one BullMQ job each, generation 1
  // (a phase chained into the previous phase's job has one only if a takeover re-enqueued it)
  for (const phase of ['cognate', 'evomerge', 'quietstar']) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await stack.redis.redis.scan(cursor, 'MATCH', `${stack.redis.keys.queuePrefix()}:phase-${phase}:${sessionId}.*`, 'COUNT', 1_000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    const jobs = keys.map((k) => k.split(':').slice(-1)[0]!).filter((id) => id.startsWith(sessionId));
    const firstGeneration = `${sessionId}.${phase}.g1`;
    expect([...new Set(jobs)]).toEqual(phase === 'cognate' || jobs.length > 0 ? [firstGeneration] : []);
  }
  for (const w of workers.values()) await w.stop();
}, 90_000);
