import type { PipelinePhase, TheaterDetection } from '@agent-forge/contracts';
import { DEFAULT_THEATER_TOLERANCES } from './theater/tolerances';

/**
 * The quality-gate catalogue: per phase, gates with thresholds on measured metrics. Pure: it
 * takes a phase's metrics (and, for Integrity and Theater Elimination, evidence the engine
 * measured: checksums, finite weights, the theater detection) and returns results
 * in the contract's `gate_results` shape. `score` = fraction of the gate's checks that passed;
 * a gate passes when all its checks pass (`threshold` = 1). A metric that is missing or not a
 * finite number fails its check (value `null`): nothing is assumed.
 *
 * Default thresholds are calibrated so the built-in phases at their default config pass on the
 * shipped data (see bench/run-pipeline.mjs --gates); failing one means something went wrong.
 * Overrides: `config.quality_gates.<gate_id>.<check metric> = number | boolean`; the theater
 * detection's tolerances sit next to its threshold in `config.quality_gates.theater_elimination`.
 */

export type Op = '>=' | '<=' | '>' | '<' | '==';

export interface Check {
  /** Metric name (a key of the phase's metrics, or a derived quantity documented here). */
  metric: string;
  op: Op;
  threshold: number | boolean;
  /** How the value is obtained from the metrics (default: `metrics[metric]`). */
  value?: (m: Record<string, unknown>, evidence: GateEvidence) => number | boolean | null;
  recommendation: string;
}

export interface GateDefinition {
  id: string;
  gate_name: string;
  phase: PipelinePhase | '*';
  blocking: boolean;
  description: string;
  checks: Check[];
}

/** What the engine measured about a phase's outputs, for the Integrity gate. */
export interface IntegrityEvidence {
  /** No NaN/Inf in the output model's weights. */
  weights_finite?: boolean;
  /** Every output artifact's sha256 verified on read. */
  checksums_verified?: boolean;
  /**
   * Re-running with the same seed gave the same result. Left undefined when the re-run was not
   * asked for (`config.quality_gates.verify_reproducibility`): the check is then reported as not
   * run, neither passed nor failed.
   */
  reproducible?: boolean;
}

/** Everything the engine measured itself that the universal gates judge. */
export interface GateEvidence extends IntegrityEvidence {
  /** The theater detection on this phase (see `theater/detect.ts`); absent = it did not run. */
  theater?: TheaterDetection;
}

export interface CheckResult {
  metric: string;
  value: number | boolean | null;
  op: Op;
  threshold: number | boolean;
  passed: boolean;
}

export interface GateResult {
  gate_id: string;
  gate_name: string;
  phase: PipelinePhase;
  passed: boolean;
  blocking: boolean;
  score: number;
  threshold: number;
  details: { checks: CheckResult[]; description: string; not_run?: string[]; theater_detection?: TheaterDetection };
  recommendations: string[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const get = (m: Record<string, unknown>, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), m);

/** Required metric keys per phase (Integrity: "metrics complete"). */
export const REQUIRED_METRICS: Record<PipelinePhase, string[]> = {
  cognate: ['models_created', 'initial_val_losses', 'val_loss'],
  evomerge: ['final_fitness', 'fitness_scores', 'diversity_final', 'convergence_generation'],
  quietstar: ['ab_test_winner', 'accuracy_improvement', 'p_value', 'final_convergence_rate', 'iterations_completed'],
  bitnet: ['compression_ratio', 'original_size_mb', 'compressed_size_mb', 'layers_compressed', 'pre_perplexity', 'post_perplexity', 'accuracy_preserved', 'sparsity_ratio'],
  training: ['total_steps', 'final_loss', 'final_accuracy', 'loss_curve'],
  baking: ['tool_improvement', 'persona_improvement', 'overall_improvement', 'convergence_achieved'],
  adas: ['pareto_front_size', 'best_architecture_score', 'best_architecture_config'],
  compression: ['original_size_mb', 'compressed_size_mb', 'total_compression_ratio', 'validation_results'],
};

const PHASE_GATES: GateDefinition[] = [
  {
    id: 'model_creation',
    gate_name: 'Model Creation',
    phase: 'cognate',
    blocking: true,
    description: 'Models were created and pre-training reduced every model’s held-out loss.',
    checks: [
      { metric: 'models_created', op: '>=', threshold: 1, recommendation: 'No model was created: check cognate.base_models and models_created.' },
      {
        metric: 'min_pretraining_gain',
        op: '>',
        threshold: 0,
        value: (m) => {
          const a = m.initial_val_losses;
          const b = m.pretrained_val_losses;
          if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length || a.length === 0) return null;
          return Math.min(...a.map((x, i) => Number(x) - Number(b[i])));
        },
        recommendation: 'A model did not improve during pre-training: raise cognate.pretrain_steps or check learning_rate.',
      },
      { metric: 'val_loss', op: '<=', threshold: 3, recommendation: 'The merged model’s validation loss is near chance level: check merge_strategy and pre-training.' },
    ],
  },
  {
    id: 'evolutionary_merge',
    gate_name: 'Evolutionary Merge',
    phase: 'evomerge',
    blocking: true,
    description: 'Evolution kept the best fitness at least at its start and the population did not collapse.',
    checks: [
      { metric: 'fitness_improvement', op: '>=', threshold: 0, recommendation: 'Best fitness fell below the initial population’s: selection is broken.' },
      { metric: 'final_fitness', op: '>=', threshold: 0.1, recommendation: 'Final fitness is near chance: the incoming model or the merge operators are broken.' },
      { metric: 'diversity_final', op: '>', threshold: 0, recommendation: 'The population collapsed to one model: raise evomerge.mutation_rate or population_size.' },
    ],
  },
  {
    id: 'reasoning_quality',
    gate_name: 'Reasoning Quality',
    phase: 'quietstar',
    blocking: true,
    description: 'Thoughts do not make held-out reasoning worse, and the model with thoughts answers above a floor.',
    checks: [
      { metric: 'accuracy_improvement', op: '>=', threshold: 0, recommendation: 'Thoughts hurt held-out accuracy: lower quietstar.learning_rate or raise iterations.' },
      { metric: 'thought_accuracy', op: '>=', threshold: 0.2, recommendation: 'Answer accuracy with thoughts is very low: train the base model longer before quietstar.' },
      { metric: 'iterations_completed', op: '>=', threshold: 1, recommendation: 'No thought training ran.' },
    ],
  },
  {
    id: 'compression_efficiency_bitnet',
    gate_name: 'Compression Efficiency',
    phase: 'bitnet',
    blocking: true,
    description: 'Ternary quantization shrank the artifact and kept most of the accuracy.',
    checks: [
      { metric: 'compression_ratio', op: '>=', threshold: 4, recommendation: 'The quantized artifact is not much smaller: check bitnet.group_size (tiny groups cost a scale each).' },
      { metric: 'accuracy_preserved', op: '>=', threshold: 0.7, recommendation: 'Quantization lost too much accuracy: use calibrate_scales or a smaller group_size.' },
      {
        metric: 'perplexity_ratio',
        op: '<=',
        threshold: 2,
        value: (m) => (num(m.post_perplexity) !== null && num(m.pre_perplexity) ? (m.post_perplexity as number) / (m.pre_perplexity as number) : null),
        recommendation: 'Perplexity more than doubled after quantization: use calibrate_scales or a smaller group_size.',
      },
      { metric: 'layers_compressed', op: '>=', threshold: 1, recommendation: 'No layer was quantized.' },
    ],
  },
  {
    id: 'training_convergence',
    gate_name: 'Training Convergence',
    phase: 'training',
    blocking: true,
    description: 'Training lowered the loss and held-out accuracy is above a floor.',
    checks: [
      {
        metric: 'loss_reduction',
        op: '>',
        threshold: 0,
        value: (m) => (num(m.initial_loss) !== null && num(m.final_loss) !== null ? (m.initial_loss as number) - (m.final_loss as number) : null),
        recommendation: 'The training loss did not fall: lower training.learning_rate or check the optimizer settings.',
      },
      {
        metric: 'val_loss_reduction',
        op: '>=',
        threshold: 0,
        value: (m) => (num(m.initial_val_loss) !== null && num(m.val_loss) !== null ? (m.initial_val_loss as number) - (m.val_loss as number) : null),
        recommendation: 'Held-out loss rose during training (overfitting or divergence): lower learning_rate or epochs.',
      },
      { metric: 'final_accuracy', op: '>=', threshold: 0.4, recommendation: 'Held-out accuracy is low: train longer (epochs / training_steps).' },
    ],
  },
  {
    id: 'baking_effectiveness',
    gate_name: 'Baking Effectiveness',
    phase: 'baking',
    blocking: true,
    description: 'Tool use and persona both improved on held-out examples.',
    checks: [
      { metric: 'overall_improvement', op: '>', threshold: 0, recommendation: 'Baking did not improve the held-out examples: raise baking.iterations or learning_rate.' },
      { metric: 'tool_improvement', op: '>=', threshold: 0, recommendation: 'Tool use got worse: check baking.tool_types.' },
      { metric: 'persona_improvement', op: '>=', threshold: 0, recommendation: 'Persona replies got worse: check baking.persona_traits.' },
    ],
  },
  {
    id: 'baking_convergence',
    gate_name: 'Baking Convergence',
    phase: 'baking',
    blocking: false,
    description: 'The fine-tuning loss has flattened out.',
    checks: [{ metric: 'convergence_achieved', op: '==', threshold: true, recommendation: 'The baking loss was still falling: raise baking.iterations.' }],
  },
  {
    id: 'architecture_search',
    gate_name: 'Architecture Search',
    phase: 'adas',
    blocking: true,
    description: 'The search evaluated candidates, found a Pareto front, and the chosen model is trained.',
    checks: [
      { metric: 'pareto_front_size', op: '>=', threshold: 1, recommendation: 'No Pareto front: the search evaluated nothing.' },
      { metric: 'candidates_evaluated', op: '>=', threshold: 2, recommendation: 'The search evaluated a single architecture: widen adas.search_space or raise iterations.' },
      { metric: 'val_loss', op: '<=', threshold: 3, recommendation: 'The chosen architecture’s model is near chance: raise adas.final_train_steps.' },
    ],
  },
  {
    id: 'compression_efficiency',
    gate_name: 'Compression Efficiency',
    phase: 'compression',
    blocking: true,
    description: 'Pruning and codebooks shrank the model as configured.',
    checks: [
      { metric: 'total_compression_ratio', op: '>=', threshold: 3, recommendation: 'The artifact is not much smaller than float32: lower codebook_size or raise target_sparsity.' },
      {
        metric: 'sparsity_gap',
        op: '<=',
        threshold: 0.01,
        value: (m) => (num(m.target_sparsity) !== null && num(m.sparsity_achieved) !== null && m.method !== 'codebook' ? (m.target_sparsity as number) - (m.sparsity_achieved as number) : m.method === 'codebook' ? 0 : null),
        recommendation: 'The achieved sparsity is below the target: the pruning step did not run as configured.',
      },
    ],
  },
  {
    id: 'performance_validation',
    gate_name: 'Performance Validation',
    phase: 'compression',
    blocking: true,
    description: 'The compressed model keeps most of its held-out accuracy.',
    checks: [
      { metric: 'validation_results.accuracy_retained', op: '>=', threshold: 0.8, recommendation: 'Compression lost too much accuracy: lower target_sparsity, raise codebook_size or finetune_steps.' },
    ],
  },
];

const INTEGRITY: GateDefinition = {
  id: 'integrity',
  gate_name: 'Integrity',
  phase: '*',
  blocking: true,
  description: 'No NaN/Inf weights, artifact checksums verify, metrics complete, result reproducible from the seed.',
  checks: [
    { metric: 'weights_finite', op: '==', threshold: true, value: (_m, e) => e.weights_finite ?? null, recommendation: 'The output model has NaN/Inf weights: lower the learning rate; the phase diverged.' },
    { metric: 'checksums_verified', op: '==', threshold: true, value: (_m, e) => e.checksums_verified ?? null, recommendation: 'An artifact failed its checksum: it was corrupted or replaced after it was written.' },
    { metric: 'metrics_complete', op: '==', threshold: true, recommendation: 'The phase did not report all of its metric keys.' },
    { metric: 'reproducible', op: '==', threshold: true, value: (_m, e) => e.reproducible ?? null, recommendation: 'Re-running with the same seed gave a different result: the phase is not deterministic.' },
  ],
};

/**
 * Did the phase really do what it reports? The theater detection's score (mean of its three
 * indicators, see theater/detect.ts) must not exceed the threshold; the detection itself is kept
 * in the gate's details (`theater_detection`) so the API can serve it.
 */
const THEATER_ELIMINATION: GateDefinition = {
  id: 'theater_elimination',
  gate_name: 'Theater Elimination',
  phase: '*',
  blocking: true,
  description: 'The phase’s claims hold up against the engine’s own re-measurement of its output model (fake metrics, shallow implementation, performance theater).',
  checks: [
    {
      metric: 'theater_score',
      op: '<=',
      threshold: DEFAULT_THEATER_TOLERANCES.theater_score,
      value: (_m, e) => e.theater?.theater_score ?? null,
      recommendation: 'The phase’s claims do not match what the engine measured: see theater_detection.indicators for the claims that failed.',
    },
  ],
};

/** The catalogue for a phase (its own gates, then the universal Integrity and Theater Elimination). */
export function gatesFor(phase: PipelinePhase): GateDefinition[] {
  return [...PHASE_GATES.filter((g) => g.phase === phase), INTEGRITY, THEATER_ELIMINATION];
}

export function allGates(): GateDefinition[] {
  return [...PHASE_GATES, INTEGRITY, THEATER_ELIMINATION];
}

function compare(v: number | boolean, op: Op, t: number | boolean): boolean {
  if (typeof t === 'boolean' || typeof v === 'boolean') return op === '==' && v === t;
  switch (op) {
    case '>=':
      return v >= t;
    case '<=':
      return v <= t;
    case '>':
      return v > t;
    case '<':
      return v < t;
    case '==':
      return v === t;
  }
}

export type GateOverrides = Record<string, Record<string, number | boolean> | undefined>;

/** Evaluate the phase's gates on its metrics; `overrides` is `config.quality_gates`. */
/**
 * How the metrics were obtained. `measured`: by the built-in forge, which reports every key of its
 * phase — a missing one fails its check. `self-reported`: by a command executor (or any other
 * user-installed one), which reports what its own program computes: a check whose value it did
 * not report is listed under `not_run` instead of failing, the forge's key list (Integrity's
 * "metrics complete") does not apply, and a gate with nothing left to check is left out. What
 * the engine measures itself (checksums, finite weights, theater detection) is judged either way.
 */
export type MetricsSource = 'measured' | 'self-reported';

export function evaluateGates(
  phase: PipelinePhase,
  metrics: Record<string, unknown>,
  evidence: GateEvidence = {},
  overrides: GateOverrides = {},
  source: MetricsSource = 'measured',
): GateResult[] {
  const complete = REQUIRED_METRICS[phase].every((k) => metrics[k] !== undefined && metrics[k] !== null && (typeof metrics[k] !== 'number' || Number.isFinite(metrics[k])));
  const selfReported = source === 'self-reported';
  const valueOf = (c: Check): number | boolean | null => {
    let value: number | boolean | null;
    if (c.value) value = c.value(metrics, evidence);
    else if (c.metric === 'metrics_complete') value = complete;
    else {
      const raw = get(metrics, c.metric);
      value = typeof raw === 'boolean' ? raw : num(raw);
    }
    return typeof value === 'number' && !Number.isFinite(value) ? null : value;
  };
  const results: GateResult[] = [];
  for (const g of gatesFor(phase)) {
    const over = overrides[g.id] ?? {};
    const values = new Map(g.checks.map((c) => [c, valueOf(c)]));
    const active = g.checks.filter((c) => {
      if (c.metric === 'reproducible' && evidence.reproducible === undefined) return false;
      if (selfReported && (c.metric === 'metrics_complete' || values.get(c) === null)) return false;
      return true;
    });
    if (selfReported && active.length === 0) continue;
    const checks: CheckResult[] = active.map((c) => {
      const threshold = over[c.metric] ?? c.threshold;
      const value = values.get(c) ?? null;
      return { metric: c.metric, value, op: c.op, threshold, passed: value !== null && compare(value, c.op, threshold) };
    });
    const passedN = checks.filter((c) => c.passed).length;
    const theater = g.id === THEATER_ELIMINATION.id ? evidence.theater : undefined;
    results.push({
      gate_id: g.id,
      gate_name: g.gate_name,
      phase,
      passed: passedN === checks.length,
      blocking: g.blocking,
      score: checks.length ? passedN / checks.length : 1,
      threshold: 1,
      details: {
        checks,
        description: g.description,
        ...(active.length < g.checks.length ? { not_run: g.checks.filter((c) => !active.includes(c)).map((c) => c.metric) } : {}),
        ...(theater ? { theater_detection: theater } : {}),
      },
      recommendations: [
        ...active.filter((_, i) => !checks[i]!.passed).map((c) => (checks.find((r) => r.metric === c.metric)!.value === null ? `${c.metric} was not measured. ${c.recommendation}` : c.recommendation)),
        // what exactly fired, when the gate failed on it
        ...(theater && passedN < checks.length ? theater.recommendations : []),
      ],
    });
  }
  return results;
}
