import { ForgeExecutor } from '@agent-forge/forge';
import { ALL_TENANTS } from '@agent-forge/state';
import { createWorkerHarness, waitFor } from './test-harness';

/**
 * Quality gates that gate: after each forge phase the worker judges the phase's gates on measured
 * metrics plus evidence it measures itself; a failed blocking gate pauses the session with the
 * reason, a plain resume is refused, and resume with force carries on.
 */
const h = createWorkerHarness({ label: 'gates', executors: [new ForgeExecutor()] });
beforeAll(() => h.start());
afterAll(() => h.stop());

// small but real: one model with the default pre-training (fewer steps leave it near chance, which the gates rightly refuse)
const tiny = { executor: 'forge', cognate: { base_models: ['tiny-gpt-a'], models_created: 1 }, evomerge: { population_size: 2, generations: 1 } };

it('stores the gate results of a passing phase and moves on', async () => {
  const id = await h.startSession(['cognate'], tiny);
  const final = await waitFor(() => h.status(id), (s) => s.status === 'completed' || s.status === 'paused', 60_000);
  expect(final.status).toBe('completed');
  const snap = await h.store.snapshot(id, ALL_TENANTS);
  const gates = JSON.parse(snap!.phases.cognate!.gate_results!) as { gate_name: string; passed: boolean; details: { checks: { metric: string; value: unknown }[] } }[];
  expect(gates.map((g) => [g.gate_name, g.passed])).toEqual([['Model Creation', true], ['Integrity', true]]);
  const integrity = gates.find((g) => g.gate_name === 'Integrity')!;
  // evidence measured by the engine, not reported by the phase
  expect(Object.fromEntries(integrity.details.checks.map((c) => [c.metric, c.value]))).toMatchObject({ weights_finite: true, checksums_verified: true, metrics_complete: true });
}, 60_000);

it('a failed blocking gate pauses the session; plain resume is refused, force resumes', async () => {
  // an impossible threshold: the pre-training gain must exceed 100 nats
  const id = await h.startSession(['cognate', 'evomerge'], { ...tiny, quality_gates: { model_creation: { min_pretraining_gain: 100 } } });
  const paused = await waitFor(() => h.status(id), (s) => s.status === 'paused', 60_000);
  expect(paused.status_reason).toMatch(/quality gate failed after cognate: Model Creation/);
  expect(paused.current_phase).toBe('evomerge');
  expect(paused.phases_completed).toEqual(['cognate']);
  expect(await h.store.control(id, 'resume', 'test', ALL_TENANTS)).toEqual({ kind: 'gate_blocked', from: 'paused' });
  const forced = await h.store.control(id, 'resume', 'test', ALL_TENANTS, true);
  expect(forced).toMatchObject({ kind: 'ok', to: 'running', enqueue: true, currentPhase: 'evomerge' });
  if (forced.kind !== 'ok') throw new Error('unreachable');
  await h.queues.enqueue({ sessionId: id, phase: 'evomerge', runGen: forced.runGen }, await h.store.pipelineConfig(id));
  const done = await waitFor(() => h.status(id), (s) => s.status === 'completed', 60_000);
  expect(done.phases_completed).toEqual(['cognate', 'evomerge']);
}, 90_000);

it('verifies reproducibility by a re-run from the same seed when asked', async () => {
  const id = await h.startSession(['cognate'], { ...tiny, quality_gates: { verify_reproducibility: true } });
  await waitFor(() => h.status(id), (s) => s.status === 'completed', 60_000);
  const snap = await h.store.snapshot(id, ALL_TENANTS);
  const integrity = (JSON.parse(snap!.phases.cognate!.gate_results!) as { gate_name: string; passed: boolean; details: { checks: { metric: string; value: unknown }[] } }[]).find((g) => g.gate_name === 'Integrity')!;
  expect(integrity.passed).toBe(true);
  expect(integrity.details.checks.find((c) => c.metric === 'reproducible')).toMatchObject({ value: true });
}, 60_000);
