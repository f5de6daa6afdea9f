import path from 'node:path';
import { Stack, waitFor, type RunningService } from './support/stack';

/**
 * Command executors on the real stack, installed the way an operator does it
 * (`WORKER_COMMAND_EXECUTORS`, inline JSON): a pipeline selects the Python example by name and it
 * prunes the forge's model; a paused program phase frees its slot and resumes from the checkpoint
 * the program wrote; a program over its memory limit fails with AGENT_MEMORY_LIMIT while the
 * worker keeps serving; a program that lies (copies its input, claims 0.99 accuracy) is caught by
 * theater detection and the session pauses, while the honest example is not flagged.
 */
const ROOT = path.resolve(__dirname, '..');
const PROGRAM = path.join(ROOT, 'packages', 'engine', 'test-fixtures', 'command', 'program.mjs');
const stack = new Stack('e2e-command');
let gateway: RunningService;

beforeAll(async () => {
  gateway = await stack.start('gateway');
  await stack.start('pipeline-worker', {
    WORKER_COMMAND_EXECUTORS: JSON.stringify({
      'prune-py': { argv: ['python3', path.join(ROOT, 'examples', 'executors', 'prune.py')] },
      liar: { argv: ['python3', path.join(ROOT, 'e2e', 'fixtures', 'executors', 'liar.py')] },
      stepper: { argv: [process.execPath, PROGRAM, 'steps'], limits: { kill_grace_ms: 2000 } },
      hog: { argv: [process.execPath, PROGRAM, 'hog'], limits: { memory_mb: 128 } },
    }),
    RETRY_ATTEMPTS: '1',
  });
}, 30_000);
afterAll(() => stack.stopAll());

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${gateway.url}${p}`, { method, headers: stack.headers(body !== undefined), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}
const start = async (body: unknown) => (await api('POST', '/api/v1/pipeline/start', body)).json.session_id as string;
const status = async (id: string) => (await api('GET', `/api/v1/pipeline/status/${id}`)).json;

it('runs an allow-listed Python program on the forge model; unknown names still fail', async () => {
  const id = await start({ phases: ['cognate', 'compression'], config: { executor: 'forge', cognate: { models_created: 1 }, compression: { executor: 'prune-py', target_sparsity: 0.5 }, quality_gates: { compression_efficiency: { total_compression_ratio: 1 } } } });
  const s = await waitFor(() => status(id), (v) => v.status === 'completed' || v.status === 'failed' || v.status === 'paused', 60_000, 'prune pipeline');
  expect([s.status, s.status_reason]).toEqual(['completed', null]);
  const m = s.phase_metrics[1].custom_metrics;
  expect(m.sparsity_ratio).toBeCloseTo(0.5, 2);
  expect(m.compressed_size_bytes).toBe(s.phase_metrics[1].artifacts.model.size_bytes);
  expect(m.original_size_bytes).toBe(s.phase_metrics[0].artifacts.model.size_bytes);

  const gates = (await api('POST', `/api/v1/pipeline/quality-gates/${id}?phase=compression`)).json;
  expect(gates.theater_detection).toMatchObject({ theater_detected: false, theater_score: 0 });

  const unknown = await start({ phases: ['training'], config: { training: { executor: 'bash -c "rm -rf /"' } } });
  const u = await waitFor(() => status(unknown), (v) => v.status === 'failed', 15_000, 'unknown executor failed');
  expect(u.status_reason).toMatch(/^UNKNOWN_EXECUTOR/);
}, 90_000);

it('pause parks a program phase and resume continues from its checkpoint', async () => {
  // The stepper is a control-flow fixture that writes no model: no quality gates for it.
  const id = await start({ phases: ['training'], enable_monitoring: false, config: { training: { executor: 'stepper', steps: 300, step_ms: 20 } } });
  await waitFor(() => status(id), (v) => v.status === 'running' && (v.phase_metrics[0]?.custom_metrics?.step ?? 0) >= 5, 20_000, 'program running');
  expect((await api('POST', '/api/v1/pipeline/control', { action: 'pause', session_id: id })).status).toBe(200);
  // parked: the worker saw the pause at the program's next line, stopped it and freed the slot
  // (a resume before that would simply let the running program go on)
  await waitFor(
    async () => (await api('GET', `/api/v1/pipeline/swarm/${id}`)).json,
    (sw) => (sw.agents ?? []).some((a: { current_task: string | null }) => a.current_task === 'parked: session paused'),
    10_000,
    'parked',
  );
  expect((await api('POST', '/api/v1/pipeline/control', { action: 'resume', session_id: id })).status).toBe(200);
  const done = await waitFor(() => status(id), (v) => v.status === 'completed' || v.status === 'failed', 30_000, 'completed after resume');
  expect(done.status).toBe('completed');
  const m = done.phase_metrics[0].custom_metrics;
  expect(m.steps_done).toBe(300);
  expect(m.started_at_step).toBeGreaterThanOrEqual(5);
}, 60_000);

it('kills a program over its memory limit with AGENT_MEMORY_LIMIT and keeps serving', async () => {
  const id = await start({ phases: ['compression'], config: { compression: { executor: 'hog' } } });
  const s = await waitFor(() => status(id), (v) => v.status === 'failed', 20_000, 'hog failed');
  expect(s.status_reason).toMatch(/^AGENT_MEMORY_LIMIT/);
  const next = await start({ phases: ['training'], enable_monitoring: false, config: { training: { executor: 'stepper', steps: 3, step_ms: 1 } } });
  await waitFor(() => status(next), (v) => v.status === 'completed', 15_000, 'next pipeline completed');
}, 40_000);

it('a lying program (input copied unchanged, 0.99 accuracy claimed) is caught by theater detection: the session pauses', async () => {
  const id = await start({ phases: ['cognate', 'training'], config: { executor: 'forge', cognate: { models_created: 1 }, training: { executor: 'liar' } } });
  const s = await waitFor(() => status(id), (v) => v.status === 'completed' || v.status === 'failed' || v.status === 'paused', 60_000, 'liar pipeline');
  expect(s.status).toBe('paused');
  expect(s.status_reason).toMatch(/Theater Elimination/);
  const gates = (await api('POST', `/api/v1/pipeline/quality-gates/${id}?phase=training`)).json;
  expect(gates.can_proceed).toBe(false);
  const d = gates.theater_detection;
  expect(d.theater_detected).toBe(true);
  expect(d.indicators.fake_metrics.fired).toBe(true);
  expect(d.indicators.shallow_implementation.fired).toBe(true);
  const accuracy = d.indicators.fake_metrics.checks.find((c: { check: string }) => c.check.startsWith('final_accuracy'));
  expect(accuracy).toMatchObject({ claimed: 0.99, passed: false });
  expect(accuracy.measured).toBeLessThan(0.9);
  expect(d.indicators.shallow_implementation.checks.find((c: { check: string }) => c.check === 'output file differs from input file')).toMatchObject({ passed: false });
  // Plain resume is refused; cancel ends it.
  const refused = await api('POST', '/api/v1/pipeline/control', { session_id: id, action: 'resume' });
  expect([refused.status, refused.json.error_code]).toEqual([400, 'INVALID_STATE_TRANSITION']);
  expect(refused.json.error).toMatch(/blocking quality gate failed.*force: true/);
  expect((await api('POST', '/api/v1/pipeline/control', { session_id: id, action: 'cancel' })).status).toBe(200);
}, 90_000);
