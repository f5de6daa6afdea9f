import path from 'node:path';
import { Stack, waitFor, type RunningService } from './support/stack';

/**
 * Watchdogs, not hope: a phase that ignores its AbortSignal and spins is killed at its timeout from
 * outside its own code, a phase that allocates without bound is stopped at its memory limit — each
 * fails its session with a clear code, and the same worker keeps serving.
 */
const FIXTURES = path.resolve(__dirname, '..', 'packages', 'engine', 'test-fixtures', 'executors.cjs');
const stack = new Stack('e2e-watchdog');
let gateway: RunningService;

beforeAll(async () => {
  gateway = await stack.start('gateway');
  await stack.start('pipeline-worker', {
    WORKER_EXECUTOR_MODULES: `spinner=${FIXTURES}#spinner,hog=${FIXTURES}#hog`,
    AGENT_MEMORY_LIMIT_MB: '48',
    EXECUTOR_KILL_GRACE_MS: '300',
    RETRY_ATTEMPTS: '1',
  });
}, 30_000);
afterAll(() => stack.stopAll());

async function start(body: unknown): Promise<string> {
  const res = await fetch(`${gateway.url}/api/v1/pipeline/start`, { method: 'POST', headers: stack.headers(true), body: JSON.stringify(body) });
  return ((await res.json()) as { session_id: string }).session_id;
}
const status = async (id: string) => (await (await fetch(`${gateway.url}/api/v1/pipeline/status/${id}`, { headers: stack.headers() })).json()) as Record<string, any>;

it('kills a spinning phase at its timeout (PHASE_TIMEOUT), stops a memory hog (AGENT_MEMORY_LIMIT), and keeps serving', async () => {
  const spinning = await start({ phases: ['training'], config: { training: { executor: 'spinner', timeout_seconds: 0.5 } } });
  const hogging = await start({ phases: ['compression'], config: { compression: { executor: 'hog' } } });

  const t0 = Date.now();
  const spun = await waitFor(() => status(spinning), (s) => s.status === 'failed', 10_000, 'spinner failed');
  expect(Date.now() - t0).toBeLessThan(5_000);
  expect(spun.status_reason).toMatch(/^PHASE_TIMEOUT/);

  const hogged = await waitFor(() => status(hogging), (s) => s.status === 'failed', 15_000, 'hog failed');
  expect(hogged.phase_metrics[0]).toMatchObject({ status: 'failed' });
  expect(hogged.status_reason).toMatch(/^AGENT_MEMORY_LIMIT/);

  const healthy = await start({ phases: ['cognate', 'evomerge'], config: { dry_run: { steps: 3, step_ms: 20 } } });
  await waitFor(() => status(healthy), (s) => s.status === 'completed', 10_000, 'next pipeline completed');
}, 40_000);
