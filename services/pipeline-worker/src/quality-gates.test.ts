import { PhaseCompleteData, TheaterDetection } from '@agent-forge/contracts';
import type { PhaseContext, PhaseExecutor, PhaseResult } from '@agent-forge/engine';
import { ForgeExecutor } from '@agent-forge/forge';
import { ALL_TENANTS, EventReader } from '@agent-forge/state';
import { createWorkerHarness, waitFor } from './test-harness';

/**
 * A phase program that lies, in process (the way a command executor's self-reported numbers
 * reach the engine): it "trains" by copying its input model unchanged and claims 0.99 accuracy.
 */
class LyingTrainer implements PhaseExecutor {
  readonly name = 'lying-trainer';
  async run(ctx: PhaseContext): Promise<PhaseResult> {
    const input = ctx.previous!.artifacts.model!;
    const model = await ctx.artifacts.put(`${ctx.artifactPrefix}model.bin`, await ctx.artifacts.get(input), input.media_type);
    await ctx.progress({ percent: 100, message: 'trained', metrics: {} });
    return {
      metrics: { total_steps: 5000, initial_loss: 2.1, final_loss: 0.04, final_accuracy: 0.99, initial_val_loss: 2.1, val_loss: 0.06, loss_curve: [[5000, 0.04]] },
      artifacts: { model },
    };
  }
}

/**
 * Quality gates that gate: after each forge phase the worker judges the phase's gates on measured
 * metrics plus evidence it measures itself; a failed blocking gate pauses the session with the
 * reason, a plain resume is refused, and resume with force carries on.
 */
const h = createWorkerHarness({ label: 'gates', executors: [new ForgeExecutor(), new LyingTrainer()] });
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
  expect(gates.map((g) => [g.gate_name, g.passed])).toEqual([['Model Creation', true], ['Integrity', true], ['Theater Elimination', true]]);
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

it('a lying executor fails Theater Elimination: the session pauses, the detection is stored and streamed, force resumes', async () => {
  const id = await h.startSession(['cognate', 'training', 'evomerge'], { ...tiny, training: { executor: 'lying-trainer' } });
  const paused = await waitFor(() => h.status(id), (s) => s.status === 'paused' || s.status === 'completed', 60_000);
  expect(paused.status).toBe('paused');
  expect(paused.status_reason).toMatch(/quality gates? failed after training: .*Theater Elimination/);
  expect(paused.phases_completed).toEqual(['cognate', 'training']);

  const snap = await h.store.snapshot(id, ALL_TENANTS);
  const gates = JSON.parse(snap!.phases.training!.gate_results!) as { gate_name: string; passed: boolean; blocking: boolean; details: Record<string, unknown> }[];
  const theater = gates.find((g) => g.gate_name === 'Theater Elimination')!;
  expect(theater).toMatchObject({ passed: false, blocking: true });
  const detection = TheaterDetection.parse(theater.details.theater_detection);
  expect(detection.theater_detected).toBe(true);
  const indicators = detection.indicators as Record<string, { fired: boolean }>;
  expect(indicators.fake_metrics!.fired).toBe(true);
  expect(indicators.shallow_implementation!.fired).toBe(true);
  // the catalogue gate alone believed the claims: only the re-measurement catches the lie
  expect(gates.find((g) => g.gate_name === 'Training Convergence')!.passed).toBe(true);

  // streamed: phase_complete carries the gate results, detection included, arrays intact
  const events = await new EventReader(h.t.redis, h.t.keys).readAfter(id);
  const complete = PhaseCompleteData.parse(events.find((e) => e.event_type === 'phase_complete' && e.data.phase === 'training')!.data);
  const streamed = complete.quality_gates!.find((g) => g.gate_name === 'Theater Elimination')!;
  expect(streamed.details.theater_detection).toEqual(detection);
  expect(complete.quality_gates!.find((g) => g.gate_name === 'Integrity')!.recommendations).toEqual([]);

  expect(await h.store.control(id, 'resume', 'test', ALL_TENANTS)).toEqual({ kind: 'gate_blocked', from: 'paused' });
  const forced = await h.store.control(id, 'resume', 'test', ALL_TENANTS, true);
  expect(forced).toMatchObject({ kind: 'ok', to: 'running', currentPhase: 'evomerge', gateOverridden: paused.status_reason });
  if (forced.kind !== 'ok') throw new Error('unreachable');
  await h.queues.enqueue({ sessionId: id, phase: 'evomerge', runGen: forced.runGen }, {});
  const done = await waitFor(() => h.status(id), (s) => s.status === 'completed' || s.status === 'paused', 60_000);
  expect(done.phases_completed).toEqual(['cognate', 'training', 'evomerge']);
}, 120_000);

it('the dry-run simulator is not judged on model gates', async () => {
  const id = await h.startSession(['cognate'], { executor: 'dry-run', dry_run: { steps: 2, step_ms: 5 } });
  await waitFor(() => h.status(id), (s) => s.status === 'completed', 30_000);
  const snap = await h.store.snapshot(id, ALL_TENANTS);
  expect(JSON.parse(snap!.phases.cognate!.gate_results!)).toEqual([]);
});
