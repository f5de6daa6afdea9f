import { PIPELINE_PHASES, type TheaterDetection } from '@agent-forge/contracts';
import { allGates, evaluateGates, gatesFor, REQUIRED_METRICS } from './gates';

/** Metrics as the built-in phases report them at default config (values from a real run). */
const PASSING: Record<string, Record<string, unknown>> = {
  cognate: { models_created: 3, initial_val_losses: [4.0, 4.1, 4.0], pretrained_val_losses: [1.8, 1.9, 1.7], val_loss: 1.64 },
  evomerge: { final_fitness: 0.19, fitness_scores: [0.19, 0.18], diversity_final: 0.005, convergence_generation: 10, fitness_improvement: 0.002 },
  quietstar: { ab_test_winner: 'with_thoughts', accuracy_improvement: 0.04, p_value: 0.008, final_convergence_rate: 0.004, iterations_completed: 600, thought_accuracy: 0.43 },
  bitnet: { compression_ratio: 7.9, original_size_mb: 0.07, compressed_size_mb: 0.009, layers_compressed: 5, pre_perplexity: 4.85, post_perplexity: 6.4, accuracy_preserved: 0.88, sparsity_ratio: 0.3 },
  training: { total_steps: 440, final_loss: 1.37, initial_loss: 1.8, final_accuracy: 0.62, initial_val_loss: 1.85, val_loss: 1.33, loss_curve: [[10, 1.8]] },
  baking: { tool_improvement: 0.82, persona_improvement: 0.83, overall_improvement: 0.82, convergence_achieved: true },
  adas: { pareto_front_size: 10, best_architecture_score: 0.04, best_architecture_config: {}, candidates_evaluated: 36, val_loss: 1.42 },
  compression: {
    original_size_mb: 0.036,
    compressed_size_mb: 0.005,
    total_compression_ratio: 7,
    validation_results: { accuracy_retained: 0.96 },
    target_sparsity: 0.5,
    sparsity_achieved: 0.5,
    method: 'prune+codebook',
  },
};

/** One way to break each gate (a metric a real failure would produce). */
const BREAK: Record<string, Record<string, unknown>> = {
  model_creation: { pretrained_val_losses: [1.8, 4.2, 1.7] },
  evolutionary_merge: { fitness_improvement: -0.01 },
  reasoning_quality: { accuracy_improvement: -0.05 },
  compression_efficiency_bitnet: { post_perplexity: 12 },
  training_convergence: { final_loss: 2.1 },
  baking_effectiveness: { overall_improvement: 0 },
  baking_convergence: { convergence_achieved: false },
  architecture_search: { candidates_evaluated: 1 },
  compression_efficiency: { sparsity_achieved: 0.2 },
  performance_validation: { validation_results: { accuracy_retained: 0.5 } },
};

/** Detections as the engine reports them (the detection itself is tested in theater/). */
const honest: TheaterDetection = { theater_detected: false, confidence: 0.6667, theater_score: 0, indicators: {}, recommendations: [] };
const liar: TheaterDetection = {
  theater_detected: true,
  confidence: 0.6667,
  theater_score: 0.6667,
  indicators: {},
  recommendations: ['Report the metrics the phase measured on its output model: the engine re-measured them on held-out data and they differ (final_accuracy vs re-measured accuracy).'],
};
const ok = { weights_finite: true, checksums_verified: true, reproducible: true, theater: honest };

describe('quality gates', () => {
  it('every phase has its own gates plus Integrity and Theater Elimination, and every gate has a failure case here', () => {
    for (const p of PIPELINE_PHASES) {
      expect(gatesFor(p).length).toBeGreaterThanOrEqual(3);
      expect(gatesFor(p).slice(-2).map((g) => [g.gate_name, g.blocking])).toEqual([
        ['Integrity', true],
        ['Theater Elimination', true],
      ]);
    }
    expect(allGates().filter((g) => g.phase !== '*').map((g) => g.id).sort()).toEqual(Object.keys(BREAK).sort());
  });

  it.each(PIPELINE_PHASES)('%s: passes on default-run metrics', (phase) => {
    for (const r of evaluateGates(phase, PASSING[phase]!, ok)) {
      expect({ gate: r.gate_name, passed: r.passed, score: r.score }).toEqual({ gate: r.gate_name, passed: true, score: 1 });
      expect(r.recommendations).toEqual([]);
      expect(r.details.checks.every((c) => c.value !== null)).toBe(true);
    }
  });

  it.each(Object.entries(BREAK))('%s: fails with a specific recommendation', (id, broken) => {
    const gate = allGates().find((g) => g.id === id)!;
    const phase = gate.phase as (typeof PIPELINE_PHASES)[number];
    const r = evaluateGates(phase, { ...PASSING[phase], ...broken }, ok).find((x) => x.gate_id === id)!;
    expect(r.passed).toBe(false);
    expect(r.score).toBeLessThan(1);
    expect(r.score).toBeCloseTo(r.details.checks.filter((c) => c.passed).length / r.details.checks.length, 10);
    const failed = r.details.checks.filter((c) => !c.passed);
    expect(r.recommendations).toHaveLength(failed.length);
    expect(r.blocking).toBe(gate.blocking);
  });

  it('Integrity fails on NaN weights, missing evidence and incomplete metrics', () => {
    const integrity = (m: Record<string, unknown>, e: object) => evaluateGates('training', m, e).find((g) => g.gate_id === 'integrity')!;
    expect(integrity(PASSING.training!, ok).passed).toBe(true);
    const nan = integrity(PASSING.training!, { ...ok, weights_finite: false });
    expect(nan.passed).toBe(false);
    expect(nan.recommendations[0]).toMatch(/NaN/);
    // a re-run that was not asked for is reported as not run: neither a pass nor a failure
    const notRerun = integrity(PASSING.training!, { weights_finite: true, checksums_verified: true });
    expect(notRerun.passed).toBe(true);
    expect(notRerun.details.checks.map((c) => c.metric)).not.toContain('reproducible');
    expect(notRerun.details.not_run).toEqual(['reproducible']);
    // evidence the engine should have measured but did not is a failure
    const unmeasured = integrity(PASSING.training!, { checksums_verified: true, reproducible: true });
    expect(unmeasured.details.checks.find((c) => c.metric === 'weights_finite')).toMatchObject({ value: null, passed: false });
    expect(unmeasured.recommendations[0]).toMatch(/not measured/);
    expect(integrity(PASSING.training!, { ...ok, reproducible: false }).passed).toBe(false);
    const { final_accuracy: _drop, ...incomplete } = PASSING.training!;
    expect(integrity(incomplete, ok).details.checks.find((c) => c.metric === 'metrics_complete')!.passed).toBe(false);
    expect(integrity({ ...PASSING.training!, final_loss: Number.NaN }, ok).passed).toBe(false);
  });

  it('Theater Elimination passes an honest detection and fails a detected one with its specific recommendations', () => {
    const theater = (e: object, over = {}) => evaluateGates('training', PASSING.training!, { ...ok, ...e }, over).find((g) => g.gate_id === 'theater_elimination')!;
    const pass = theater({ theater: honest });
    expect(pass).toMatchObject({ gate_name: 'Theater Elimination', passed: true, blocking: true, score: 1, recommendations: [] });
    expect(pass.details.checks).toEqual([{ metric: 'theater_score', value: 0, op: '<=', threshold: 0.3, passed: true }]);
    expect(pass.details.theater_detection).toEqual(honest);
    const fail = theater({ theater: liar });
    expect(fail).toMatchObject({ passed: false, blocking: true, score: 0 });
    expect(fail.details.checks[0]).toMatchObject({ metric: 'theater_score', value: 0.6667, passed: false });
    expect(fail.details.theater_detection).toEqual(liar);
    expect(fail.recommendations).toEqual([expect.stringMatching(/claims do not match/), liar.recommendations[0]]);
    // a detection that did not run is a failure, not a pass
    const missing = theater({ theater: undefined });
    expect(missing.passed).toBe(false);
    expect(missing.recommendations[0]).toMatch(/theater_score was not measured/);
    // the threshold is overridable per pipeline
    expect(theater({ theater: liar }, { theater_elimination: { theater_score: 0.7 } }).passed).toBe(true);
  });

  it('a missing metric fails its check as not measured; thresholds are overridable', () => {
    const { final_accuracy: _drop, ...m } = PASSING.training!;
    const r = evaluateGates('training', m, ok).find((g) => g.gate_id === 'training_convergence')!;
    expect(r.details.checks.find((c) => c.metric === 'final_accuracy')).toMatchObject({ value: null, passed: false });
    const strict = evaluateGates('training', PASSING.training!, ok, { training_convergence: { final_accuracy: 0.9 } }).find((g) => g.gate_id === 'training_convergence')!;
    expect(strict.passed).toBe(false);
    expect(strict.details.checks.find((c) => c.metric === 'final_accuracy')).toMatchObject({ value: 0.62, threshold: 0.9, passed: false });
  });

  it('required metrics cover the keys the issue names', () => {
    expect(REQUIRED_METRICS.bitnet).toEqual(expect.arrayContaining(['compression_ratio', 'original_size_mb', 'compressed_size_mb', 'layers_compressed', 'pre_perplexity', 'post_perplexity', 'accuracy_preserved', 'sparsity_ratio']));
  });
});

describe('self-reported metrics (command executors and other installed executors)', () => {
  const evidence = { weights_finite: true, checksums_verified: true, theater: honest };

  it('judges only what the program reported: the rest is not run, and a gate with nothing to check is left out', () => {
    // A pruning program reports sizes and sparsity, not the forge's validation results.
    const reported = { original_size_mb: 0.036, compressed_size_mb: 0.005, total_compression_ratio: 7, sparsity_achieved: 0.5, target_sparsity: 0.5 };
    const gates = evaluateGates('compression', reported, evidence, {}, 'self-reported');
    const byId = Object.fromEntries(gates.map((g) => [g.gate_id, g]));
    expect(byId.performance_validation).toBeUndefined(); // accuracy_retained not reported: nothing to judge
    expect(byId.compression_efficiency).toMatchObject({ passed: true });
    expect(byId.integrity).toMatchObject({ passed: true });
    expect(byId.integrity!.details.checks.map((c) => c.metric)).not.toContain('metrics_complete');
    expect(byId.theater_elimination).toMatchObject({ passed: true });
    // The same metrics from the forge fail Integrity: the forge must report every key of its phase.
    const measured = evaluateGates('compression', reported, evidence, {}, 'measured');
    expect(measured.find((g) => g.gate_id === 'integrity')).toMatchObject({ passed: false });
  });

  it('a reported figure below its threshold still fails its gate, and engine evidence is judged either way', () => {
    const gates = evaluateGates('compression', { total_compression_ratio: 7, sparsity_achieved: 0.2, target_sparsity: 0.5 }, { ...evidence, weights_finite: false }, {}, 'self-reported');
    expect(gates.find((g) => g.gate_id === 'compression_efficiency')).toMatchObject({ passed: false });
    expect(gates.find((g) => g.gate_id === 'integrity')).toMatchObject({ passed: false });
  });
});
