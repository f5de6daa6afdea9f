import { z } from 'zod';
import { PIPELINE_PHASES, type PipelinePhase } from './enums';

/**
 * Per-phase configuration, under `config.<phase>` of a start request.
 * Known keys are type- and range-checked and defaulted; unknown keys are kept and passed to the
 * phase (the original's clients send keys we do not interpret yet).
 */
const unit = z.number().min(0).max(1);
const positiveInt = (max: number) => z.int().min(1).max(max);

/**
 * How a failed phase job is retried. The resolved policy (every field set) is what a job carries;
 * `config.retry` and `config.<phase>.retry` may give any subset, the rest comes from the worker
 * defaults (RETRY_* env). `attempts` counts the first run: 3 = up to two retries.
 */
export const BackoffPolicy = z.strictObject({
  /** `exponential`: delay_ms × 2^(retry − 1), capped at max_delay_ms; `fixed`: delay_ms every time. */
  type: z.enum(['exponential', 'fixed']),
  delay_ms: z.int().min(0).max(3_600_000),
  max_delay_ms: z.int().min(0).max(86_400_000),
});
export type BackoffPolicy = z.infer<typeof BackoffPolicy>;

export const RetryPolicy = z.strictObject({
  attempts: z.int().min(1).max(100),
  backoff: BackoffPolicy,
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/** A partial retry policy as a pipeline config gives it (unknown keys are typos: rejected). */
export const RetryConfig = z
  .strictObject({
    attempts: RetryPolicy.shape.attempts.optional(),
    backoff: BackoffPolicy.partial().optional(),
  })
  .refine((r) => r.backoff?.delay_ms === undefined || r.backoff.max_delay_ms === undefined || r.backoff.delay_ms <= r.backoff.max_delay_ms, {
    message: 'backoff.delay_ms must not exceed backoff.max_delay_ms',
    path: ['backoff', 'delay_ms'],
  });
export type RetryConfig = z.infer<typeof RetryConfig>;

/** Keys every phase understands: which executor runs it, its dry-run pacing and its time budget. */
const commonPhaseKeys = {
  /** Retry policy of this phase; overrides `config.retry` field by field. */
  retry: RetryConfig.optional(),
  /** Run this phase only on a worker with a free GPU slot (default: the deployment's GPU_PHASES). */
  gpu: z.boolean().optional(),
  executor: z.string().min(1).max(64).optional(),
  steps: positiveInt(100_000).optional(),
  step_ms: z.int().min(0).max(600_000).optional(),
  timeout_seconds: z.number().positive().max(7 * 24 * 3600).optional(),
  /** Forge executors: write an in-phase checkpoint every this many steps (default per phase). */
  checkpoint_every: positiveInt(100_000).optional(),
};

/** Keys of the built-in (forge) executors; optional here, their defaults live in @agent-forge/forge. */
const lr = z.number().positive().max(10);
const forgeTrainingKeys = {
  batch_size: positiveInt(4096).optional(),
  learning_rate: lr.optional(),
};

export const PHASE_CONFIG_SCHEMAS = {
  cognate: z.looseObject({
    ...commonPhaseKeys,
    base_models: z.array(z.string().min(1).max(128)).min(1).max(16).default(['tiny-gpt-a', 'tiny-gpt-b', 'tiny-gpt-c']),
    init_strategy: z.enum(['xavier_uniform', 'kaiming_normal', 'random', 'custom']).default('xavier_uniform'),
    merge_strategy: z.enum(['average', 'weighted', 'evolutionary']).default('evolutionary'),
    models_created: positiveInt(16).default(3),
    ...forgeTrainingKeys,
    pretrain_steps: z.int().min(0).max(1_000_000).optional(),
    init_std: z.number().positive().max(10).optional(),
    merge_trials: z.int().min(0).max(1000).optional(),
  }),
  evomerge: z.looseObject({
    ...commonPhaseKeys,
    population_size: z.int().min(2).max(256).default(8),
    generations: positiveInt(1000).default(10),
    mutation_rate: unit.default(0.1),
    merge_operators: z.array(z.enum(['linear', 'slerp', 'ties', 'dare'])).min(1).default(['linear', 'slerp', 'ties', 'dare']),
    mutation_scale: z.number().min(0).max(10).optional(),
    merge_density: z.number().gt(0).max(1).optional(),
    eval_samples: positiveInt(1_000_000).optional(),
    convergence_threshold: z.number().min(0).max(1).optional(),
    /** mesh/ring swarms: island count cap (one island per agent). */
    islands: positiveInt(64).optional(),
  }),
  quietstar: z.looseObject({
    ...commonPhaseKeys,
    thought_length: positiveInt(256).default(8),
    num_thoughts: positiveInt(64).default(4),
    ...forgeTrainingKeys,
    iterations: positiveInt(1_000_000).optional(),
    eval_problems: positiveInt(100_000).optional(),
    thought_dim: positiveInt(1024).optional(),
  }),
  bitnet: z.looseObject({
    ...commonPhaseKeys,
    group_size: positiveInt(4096).default(64),
    calibration_samples: positiveInt(100_000).default(128),
    calibrate_scales: z.boolean().optional(),
  }),
  training: z.looseObject({
    ...commonPhaseKeys,
    batch_size: positiveInt(4096).default(32),
    learning_rate: z.number().positive().max(10).default(0.001),
    epochs: positiveInt(10_000).default(1),
    training_steps: positiveInt(10_000_000).optional(),
    optimizer: z.enum(['adamw', 'sgd']).default('adamw'),
    grokfast: z
      .looseObject({
        enabled: z.boolean().default(false),
        ema_alpha: unit.default(0.98),
        lambda: z.number().min(0).max(100).default(2),
      })
      .optional(),
    weight_decay: z.number().min(0).max(10).optional(),
    momentum: unit.optional(),
    eval_samples: positiveInt(1_000_000).optional(),
  }),
  baking: z.looseObject({
    ...commonPhaseKeys,
    tool_types: z.array(z.string().min(1).max(64)).max(32).default(['calculator', 'search', 'code']),
    persona_traits: z.array(z.string().min(1).max(64)).max(32).default(['helpful', 'precise']),
    ...forgeTrainingKeys,
    iterations: positiveInt(1_000_000).optional(),
    examples_per_label: positiveInt(10_000).optional(),
  }),
  adas: z.looseObject({
    ...commonPhaseKeys,
    iterations: positiveInt(10_000).default(10),
    population_size: z.int().min(2).max(256).default(12),
    search_space: z.record(z.string(), z.unknown()).optional(),
    ...forgeTrainingKeys,
    train_steps: positiveInt(1_000_000).optional(),
    final_train_steps: z.int().min(0).max(10_000_000).optional(),
    size_weight: z.number().min(0).max(10).optional(),
  }),
  compression: z.looseObject({
    ...commonPhaseKeys,
    target_sparsity: z.number().min(0).max(0.99).default(0.5),
    codebook_size: z.int().min(2).max(65_536).default(16),
    method: z.string().min(1).max(64).optional(),
    ...forgeTrainingKeys,
    finetune_steps: z.int().min(0).max(1_000_000).optional(),
    kmeans_iterations: positiveInt(1000).optional(),
  }),
} as const satisfies Record<PipelinePhase, z.ZodType>;

export type PhaseConfig<P extends PipelinePhase = PipelinePhase> = z.infer<(typeof PHASE_CONFIG_SCHEMAS)[P]>;

/** Dry-run pacing shared by all phases unless a phase overrides `steps` / `step_ms`. */
export const DryRunConfig = z.looseObject({
  steps: positiveInt(100_000).default(10),
  step_ms: z.int().min(0).max(600_000).default(100),
});

/** Pipeline-level config: the per-phase sections plus knobs that apply to every phase. */
export const PipelineConfig = z.looseObject({
  ...Object.fromEntries(PIPELINE_PHASES.map((p) => [p, z.record(z.string(), z.unknown()).optional()])),
  /** Executor of every phase without its own `config.<phase>.executor`; unset: the worker's DEFAULT_EXECUTOR. */
  executor: z.string().min(1).max(64).optional(),
  /** Seed of every random choice of the built-in executors (default 1337 there): same seed, same result. */
  seed: z.int().min(0).max(2 ** 31 - 1).optional(),
  /** Grows the built-in executors' model and data (default 1). */
  scale: z.number().positive().max(64).optional(),
  dry_run: DryRunConfig.optional(),
  quality_gates: z.record(z.string(), z.unknown()).optional(),
  /** Retry policy of every phase without its own `config.<phase>.retry` (fields it leaves out too). */
  retry: RetryConfig.optional(),
});
export type PipelineConfig = z.infer<typeof PipelineConfig>;

/**
 * The config schema for one start request: every requested phase gets its section parsed with
 * defaults filled in (prefault runs the section's own defaults on `{}`); sections of phases that
 * were not requested are still checked if present, so a typo'd value never slips through.
 */
// zod compiles a schema on its first parse, which costs far more than a parse: one schema per
// set of phases (at most 2^8), built once.
const pipelineConfigSchemas = new Map<string, ReturnType<typeof buildPipelineConfigSchema>>();

export function pipelineConfigSchema(phases: readonly PipelinePhase[]) {
  const key = PIPELINE_PHASES.filter((p) => phases.includes(p)).join(',');
  let schema = pipelineConfigSchemas.get(key);
  if (!schema) {
    schema = buildPipelineConfigSchema(phases);
    pipelineConfigSchemas.set(key, schema);
  }
  return schema;
}

function buildPipelineConfigSchema(phases: readonly PipelinePhase[]) {
  const sections = Object.fromEntries(
    PIPELINE_PHASES.map((p) => {
      const section: z.ZodType = PHASE_CONFIG_SCHEMAS[p];
      return [p, phases.includes(p) ? section.prefault({}) : section.optional()];
    }),
  );
  return PipelineConfig.extend(sections).extend({ dry_run: DryRunConfig.prefault({}) });
}
