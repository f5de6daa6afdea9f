import type { ArtifactRef, PipelinePhase, TheaterDetection } from '@agent-forge/contracts';
import type { FsArtifactStore, PreviousPhase } from '@agent-forge/engine';
import { FORGE_PHASES } from '../executor';
import { decodeModel, encodeModel } from '../model/serialize';
import { runBitnet } from '../phases/bitnet';
import { asPrevious, cognateFixture, makeTestContext, makeTestStore } from '../test-support';
import { detectTheater } from './detect';
import type { IndicatorReport } from './indicator';

/**
 * Theater detection on evidence: a phase that lies is caught by the indicator that matches its
 * lie, with the claim, the measurement and the tolerance in the evidence; the built-in phases,
 * which measure what they report, are not flagged.
 */
let store: FsArtifactStore;
let cleanup: () => Promise<void>;
let fixture: PreviousPhase;
beforeAll(async () => {
  ({ store, cleanup } = await makeTestStore());
  fixture = await cognateFixture(store, 'theater');
});
afterAll(() => cleanup());

const indicator = (d: TheaterDetection, k: string) => (d.indicators as Record<string, IndicatorReport>)[k]!;
const check = (d: TheaterDetection, k: string, name: string) => indicator(d, k).checks.find((c) => c.check === name);

async function detect(phase: PipelinePhase, metrics: Record<string, unknown>, output: Record<string, ArtifactRef>, previous: PreviousPhase | null = fixture, overrides?: Record<string, unknown>) {
  return detectTheater({ phase, metrics, inputModel: previous?.artifacts.model, outputArtifacts: output, store, seed: 1337, scale: 1, overrides });
}

describe('a liar: the input model copied unchanged, claiming 0.99 accuracy after training', () => {
  let d: TheaterDetection;
  beforeAll(async () => {
    const input = await store.get(fixture.artifacts.model!);
    const copy = await store.put('liar/training/model.bin', input, 'application/x-agent-forge-model');
    d = await detect('training', { total_steps: 1000, final_loss: 0.05, final_accuracy: 0.99, initial_accuracy: 0.3, loss_curve: [] }, { model: copy });
  });

  it('is detected, with fake metrics and shallow implementation firing', () => {
    expect(d.theater_detected).toBe(true);
    expect(d.theater_score).toBeGreaterThan(0.3);
    expect(indicator(d, 'fake_metrics')).toMatchObject({ fired: true, score: 1 });
    expect(indicator(d, 'shallow_implementation')).toMatchObject({ fired: true, score: 1 });
    // nothing about sizes was claimed: that indicator had nothing to measure, which the confidence says
    expect(indicator(d, 'performance_theater')).toMatchObject({ fired: false, measured: false, score: 0 });
    expect(d.theater_score).toBeCloseTo(2 / 3, 4);
    expect(d.confidence).toBeCloseTo(2 / 3, 4);
  });

  it('carries the evidence: claim, re-measurement and tolerance', () => {
    const acc = check(d, 'fake_metrics', 'final_accuracy vs re-measured accuracy')!;
    expect(acc).toMatchObject({ claimed: 0.99, tolerance: 0.05, passed: false, severity: 1 });
    // the fixture is a briefly pre-trained model: far from 0.99
    expect(acc.measured as number).toBeGreaterThan(0.05);
    expect(acc.measured as number).toBeLessThan(0.6);
    // the engine's own evaluation of the output model is the number in the check
    const audit = (d.indicators.evidence as { output_audit: { accuracy: number; examples: number } }).output_audit;
    expect(audit.accuracy).toBeCloseTo(acc.measured as number, 5);
    expect(audit.examples).toBeGreaterThan(500);
    // the claimed gain (0.3 → 0.99) against the measured one (none: same weights)
    expect(check(d, 'fake_metrics', 'improvement initial_accuracy → final_accuracy')).toMatchObject({ claimed: 0.69, measured: 0, passed: false });
    expect(check(d, 'fake_metrics', 'final_loss is perfect')).toBeUndefined(); // 0.05 is not zero
    expect(check(d, 'shallow_implementation', 'output file differs from input file')).toMatchObject({ passed: false, claimed: fixture.artifacts.model!.sha256 });
    expect(check(d, 'shallow_implementation', 'weights changed')).toMatchObject({ measured: 0, passed: false });
    expect(d.recommendations.join('\n')).toMatch(/re-measured them on held-out data.*final_accuracy/);
    expect(d.recommendations.join('\n')).toMatch(/unchanged.*weights changed/);
  });
});

it('shallow implementation compares decoded weights: a re-encoded, imperceptibly nudged copy is caught', async () => {
  const { model } = decodeModel(await store.get(fixture.artifacts.model!));
  const nudged = model.map((_n, t) => t.map((v) => v * (1 + 1e-5)));
  const ref = await store.put('nudged/model.bin', encodeModel(nudged, { meta: { phase: 'training' } }), 'application/x-agent-forge-model');
  const d = await detect('training', { final_accuracy: 0.05 }, { model: ref });
  expect(check(d, 'shallow_implementation', 'output file differs from input file')!.passed).toBe(true);
  const changed = check(d, 'shallow_implementation', 'weights changed')!;
  expect(changed.passed).toBe(false);
  expect(changed.measured as number).toBeLessThan(1e-4);
  expect(indicator(d, 'fake_metrics').fired).toBe(false); // the claim is modest and true
  expect(d.theater_detected).toBe(true); // one indicator at full severity is over the 0.3 threshold
});

it('placeholder and missing outputs are shallow', async () => {
  const { model } = decodeModel(await store.get(fixture.artifacts.model!));
  const zeros = await store.put('zeros/model.bin', encodeModel(model.map((_n, t) => new Float32Array(t.length))), 'application/x-agent-forge-model');
  const z = await detect('training', {}, { model: zeros });
  expect(check(z, 'shallow_implementation', 'no placeholder weights')).toMatchObject({ passed: false, measured: expect.stringMatching(/constant: embed, h0\.w/) });
  const missing = await detect('training', { final_accuracy: 0.5 }, {});
  expect(check(missing, 'shallow_implementation', 'output model present')).toMatchObject({ passed: false, measured: 'missing' });
  expect(missing.theater_detected).toBe(true);
  // nothing could be re-measured: fake metrics had nothing to compare
  expect(indicator(missing, 'fake_metrics').measured).toBe(false);
  const junk = await store.put('junk/model.bin', new TextEncoder().encode('{"accuracy": 0.99}'), 'application/json');
  expect(check(await detect('training', {}, { model: junk }), 'shallow_implementation', 'output model readable')).toMatchObject({ passed: false, measured: expect.stringMatching(/not a forge model/) });
});

it('perfect scores are flagged as not measured', async () => {
  const own = await runBitnet(makeTestContext({ phase: 'bitnet', config: { group_size: 32, calibration_samples: 64 }, store, previous: fixture, sessionId: 'perfect' }).ctx);
  const d = await detect('bitnet', { ...own.metrics, post_accuracy: 1, val_loss: 0 }, own.artifacts!);
  expect(check(d, 'fake_metrics', 'post_accuracy is perfect')).toMatchObject({ claimed: 1, passed: false });
  expect(check(d, 'fake_metrics', 'val_loss is perfect')).toMatchObject({ claimed: 0, passed: false });
});

describe('performance theater: bitnet compression claims against the real artifact', () => {
  let honest: { metrics: Record<string, unknown>; artifacts: Record<string, ArtifactRef> };
  beforeAll(async () => {
    const r = await runBitnet(makeTestContext({ phase: 'bitnet', config: { group_size: 32, calibration_samples: 64 }, store, previous: fixture, sessionId: 'perf' }).ctx);
    honest = { metrics: r.metrics, artifacts: r.artifacts! };
  });

  it('honest claims match the bytes exactly', async () => {
    const d = await detect('bitnet', honest.metrics, honest.artifacts);
    expect(d.theater_detected).toBe(false);
    expect(d.theater_score).toBe(0);
    expect(d.confidence).toBe(1);
    const pt = indicator(d, 'performance_theater');
    expect(pt.checks.map((c) => c.check)).toEqual(
      expect.arrayContaining(['compressed_size_mb vs real size', 'compression_ratio vs real sizes', 'sparsity_ratio vs zero weights', 'original_size_bytes vs real size']),
    );
    expect(pt.checks.every((c) => c.passed)).toBe(true);
  });

  it('an inflated compression ratio and shrunken size are detected as performance theater', async () => {
    const m = honest.metrics;
    const inflated = { ...m, compression_ratio: (m.compression_ratio as number) * 4, compressed_size_mb: (m.compressed_size_mb as number) / 4, sparsity_ratio: 0.9 };
    const d = await detect('bitnet', inflated, honest.artifacts);
    expect(d.theater_detected).toBe(true);
    expect(indicator(d, 'performance_theater')).toMatchObject({ fired: true, score: 1 });
    expect(indicator(d, 'fake_metrics').fired).toBe(false);
    expect(indicator(d, 'shallow_implementation').fired).toBe(false);
    const ratio = check(d, 'performance_theater', 'compression_ratio vs real sizes')!;
    expect(ratio.claimed).toBe(inflated.compression_ratio);
    expect(ratio.measured as number).toBeCloseTo(m.compression_ratio as number, 3);
    expect(ratio.tolerance).toBe(0.01);
    expect(check(d, 'performance_theater', 'compressed_size_mb vs real size')).toMatchObject({ passed: false });
    expect(check(d, 'performance_theater', 'sparsity_ratio vs zero weights')).toMatchObject({ passed: false, claimed: 0.9 });
    expect(d.recommendations.join('\n')).toMatch(/sizes, sparsity and speed-ups.*compression_ratio vs real sizes/);
  });

  it('understating is not theater: a smaller ratio, a larger output or less sparsity than real pass (another basis, not a lie)', async () => {
    const m = honest.metrics;
    const modest = { ...m, compression_ratio: (m.compression_ratio as number) / 2, compressed_size_mb: (m.compressed_size_mb as number) * 2, sparsity_ratio: 0 };
    const d = await detect('bitnet', modest, honest.artifacts);
    expect(indicator(d, 'performance_theater')).toMatchObject({ fired: false, score: 0 });
    expect(d.theater_detected).toBe(false);
  });

  it('a claimed speed-up for a model of the same shape is not what the engine times', async () => {
    const d = await detect('bitnet', { ...honest.metrics, inference_speedup: 25 }, honest.artifacts);
    expect(check(d, 'performance_theater', 'inference_speedup vs timed inference')).toMatchObject({ claimed: 25, passed: false });
  });

  it('tolerances and the threshold are overridable', async () => {
    const m = honest.metrics;
    const d = await detect('bitnet', { ...m, compression_ratio: (m.compression_ratio as number) * 1.05 }, honest.artifacts, fixture, { size_tolerance: 0.1, theater_score: 0.5 });
    expect(check(d, 'performance_theater', 'compression_ratio vs real sizes')!.passed).toBe(true);
    expect((d.indicators.thresholds as { theater_score: number }).theater_score).toBe(0.5);
  });
});

/** Tiny configs of every built-in phase (as their own unit tests use), chained like full_pipeline. */
const TINY: [PipelinePhase, Record<string, unknown>][] = [
  ['evomerge', { population_size: 4, generations: 3, eval_samples: 128 }],
  ['quietstar', { iterations: 60, eval_problems: 40, thought_length: 2, num_thoughts: 2, thought_dim: 8 }],
  ['bitnet', { group_size: 32, calibration_samples: 64 }],
  ['training', { training_steps: 120, learning_rate: 0.003 }],
  ['baking', { iterations: 150, examples_per_label: 20, tool_types: ['calculator', 'search'], persona_traits: ['helpful'] }],
  ['adas', { iterations: 2, population_size: 4, train_steps: 15, final_train_steps: 20, search_space: { widths: [8, 16], depths: [1], activations: ['tanh'] } }],
  ['compression', { target_sparsity: 0.6, codebook_size: 8, finetune_steps: 30 }],
];

it('the built-in phases are not flagged (tiny configs, chained; bitnet also as the first phase)', async () => {
  const verdicts: Record<string, unknown>[] = [];
  const cognate = await detect('cognate', fixture.metrics, fixture.artifacts, null);
  verdicts.push({ phase: 'cognate', detected: cognate.theater_detected, score: cognate.theater_score });
  let prev = fixture;
  for (const [phase, config] of TINY) {
    const r = await FORGE_PHASES[phase](makeTestContext({ phase, config, store, previous: prev, sessionId: 'chain' }).ctx);
    const d = await detect(phase, r.metrics, r.artifacts ?? {}, prev);
    verdicts.push({ phase, detected: d.theater_detected, score: d.theater_score });
    expect(indicator(d, 'shallow_implementation').measured).toBe(true);
    prev = asPrevious(phase, r);
  }
  const first = await runBitnet(makeTestContext({ phase: 'bitnet', config: { group_size: 32, calibration_samples: 64 }, store, sessionId: 'first-bitnet' }).ctx);
  const d = await detect('bitnet', first.metrics, first.artifacts!, null);
  verdicts.push({ phase: 'bitnet (first)', detected: d.theater_detected, score: d.theater_score });
  expect(verdicts).toEqual(verdicts.map((v) => ({ ...v, detected: false, score: 0 })));
}, 120_000);
