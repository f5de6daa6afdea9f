import type { ArtifactRef, PipelinePhase, TheaterDetection } from '@agent-forge/contracts';
import type { ArtifactStore } from '@agent-forge/engine';
import { fakeMetrics } from './fake-metrics';
import { gatherEvidence, type LoadedModel, type TheaterEvidence } from './evidence';
import { round, type IndicatorReport } from './indicator';
import { performanceTheater } from './performance-theater';
import { shallowImplementation } from './shallow-implementation';
import { theaterTolerances, type TheaterTolerances } from './tolerances';

/**
 * Theater detection: did this phase really do what it reports? The engine compares the phase's
 * claims with its own measurements (see `evidence.ts`) through three indicators; `theater_score`
 * is the mean of their scores, `theater_detected` = score above the threshold, `confidence` the
 * fraction of indicators that had something to measure.
 */
export interface DetectTheaterArgs {
  phase: PipelinePhase;
  /** The executor's result metrics: measured for the forge, self-reported for command executors. */
  metrics: Record<string, unknown>;
  /** `ctx.previous.artifacts.model`; absent for the first phase. */
  inputModel?: ArtifactRef | undefined;
  /** The phase's output artifacts (the `model` one is judged). */
  outputArtifacts: Record<string, ArtifactRef>;
  store: ArtifactStore;
  seed: number;
  scale: number;
  /** `config.quality_gates.theater_elimination` (tolerances and `theater_score`). */
  overrides?: Record<string, unknown> | undefined;
}

const INDICATORS = ['fake_metrics', 'shallow_implementation', 'performance_theater'] as const;

const ADVICE: Record<(typeof INDICATORS)[number], string> = {
  fake_metrics: 'Report the metrics the phase measured on its output model: the engine re-measured them on held-out data and they differ',
  shallow_implementation: 'The phase must write a model of its own: its output is missing, a placeholder, or (nearly) the input model unchanged',
  performance_theater: 'Report sizes, sparsity and speed-ups of the artifact actually written: the real artifact does not match them',
};

/** Said when an indicator had nothing to check: it lowers the confidence, it is no accusation. */
const UNMEASURED: Record<(typeof INDICATORS)[number], string> = {
  fake_metrics: 'fake_metrics checked nothing: no output model the engine could evaluate, or no quality claims (accuracy, loss, perplexity, fitness) to compare.',
  shallow_implementation: 'shallow_implementation checked nothing.',
  performance_theater: 'performance_theater checked nothing: the phase claimed no sizes, compression ratios, sparsity or speed-ups.',
};

function modelSummary(m: LoadedModel | null) {
  if (!m) return null;
  return { uri: m.ref.uri, sha256: m.sha256, bytes: m.bytes, decoded: m.decoded !== null, ...(m.error ? { error: m.error } : {}), ...(m.decoded ? { arch: m.decoded.model.arch, parameters: m.decoded.model.paramCount() } : {}) };
}

function evalSummary(e: TheaterEvidence['outputEval']) {
  return e ? { examples: e.examples, loss: round(e.loss), perplexity: round(e.perplexity), accuracy: round(e.accuracy), inference_ms_per_1k: round(e.inference_ms_per_1k, 3) } : null;
}

/** Pure: the detection from evidence already gathered (unit-testable without a store). */
export function judgeTheater(phase: PipelinePhase, metrics: Record<string, unknown>, e: TheaterEvidence, t: TheaterTolerances): TheaterDetection {
  const reports: Record<(typeof INDICATORS)[number], IndicatorReport> = {
    fake_metrics: fakeMetrics(metrics, e, t),
    shallow_implementation: shallowImplementation(e, t),
    performance_theater: performanceTheater(metrics, e, t),
  };
  const score = round(INDICATORS.reduce((s, k) => s + reports[k].score, 0) / INDICATORS.length, 4);
  const measured = INDICATORS.filter((k) => reports[k].measured).length;
  const recommendations: string[] = [];
  for (const k of INDICATORS) {
    const failed = reports[k].checks.filter((c) => !c.passed);
    if (failed.length) recommendations.push(`${ADVICE[k]} (${failed.map((c) => c.check).join('; ')}).`);
  }
  for (const k of INDICATORS) if (!reports[k].measured) recommendations.push(UNMEASURED[k]);
  return {
    theater_detected: score > t.theater_score,
    confidence: round(measured / INDICATORS.length, 4),
    theater_score: score,
    indicators: {
      ...reports,
      evidence: {
        phase,
        audit_split: 'engine-only held-out examples (grammar lines and arithmetic problems that are in neither the training nor the validation split)',
        output_model: modelSummary(e.output),
        input_model: modelSummary(e.input),
        output_audit: evalSummary(e.outputEval),
        input_audit: evalSummary(e.inputEval),
      },
      thresholds: { ...t },
    },
    recommendations,
  };
}

export async function detectTheater(args: DetectTheaterArgs): Promise<TheaterDetection> {
  const evidence = await gatherEvidence({ store: args.store, input: args.inputModel, output: args.outputArtifacts.model, seed: args.seed, scale: args.scale });
  return judgeTheater(args.phase, args.metrics, evidence, theaterTolerances(args.overrides));
}
