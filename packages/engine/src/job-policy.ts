import {
  RetryConfig,
  type BackoffPolicy,
  type PipelinePhase,
  type RetryPolicy,
} from '@agent-forge/contracts';
import type { BackoffOptions, BackoffStrategy, JobsOptions, MinimalJob } from 'bullmq';

/**
 * What the deployment decides when a pipeline does not: the retry policy of every phase (worker
 * and gateway read it from the same RETRY_* settings) and which phases need a GPU (GPU_PHASES).
 */
export interface PhaseJobDefaults {
  retry: RetryPolicy;
  gpuPhases: readonly PipelinePhase[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 3,
  backoff: { type: 'exponential', delay_ms: 1_000, max_delay_ms: 300_000 },
};

/** Nothing needs a GPU unless the deployment says so: on a GPU-less machine no phase could run. */
export const DEFAULT_JOB_DEFAULTS: PhaseJobDefaults = { retry: DEFAULT_RETRY_POLICY, gpuPhases: [] };

/** How one phase job of one session is run: its retry policy and whether it needs a GPU slot. */
export interface PhaseJobPlan {
  retry: RetryPolicy;
  gpu: boolean;
}

const section = (config: Record<string, unknown>, phase: PipelinePhase): Record<string, unknown> => {
  const s = config[phase];
  return typeof s === 'object' && s !== null && !Array.isArray(s) ? (s as Record<string, unknown>) : {};
};

/** A stored config was validated at start; a section that somehow is not a retry config counts as absent. */
const retryOf = (v: unknown): RetryConfig => {
  const parsed = RetryConfig.safeParse(v ?? {});
  return parsed.success ? parsed.data : {};
};

/**
 * The policy of one phase: `config.<phase>.retry` beats `config.retry`, which beats the
 * deployment's defaults — field by field, so `{ attempts: 5 }` keeps the default backoff.
 */
export function resolveRetryPolicy(config: Record<string, unknown>, phase: PipelinePhase, defaults: RetryPolicy): RetryPolicy {
  const pipeline = retryOf(config.retry);
  const own = retryOf(section(config, phase).retry);
  return {
    attempts: own.attempts ?? pipeline.attempts ?? defaults.attempts,
    backoff: { ...defaults.backoff, ...stripUndefined(pipeline.backoff), ...stripUndefined(own.backoff) },
  };
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `config.<phase>.gpu` when given, else whether the deployment lists the phase in GPU_PHASES. */
export function phaseNeedsGpu(config: Record<string, unknown>, phase: PipelinePhase, gpuPhases: readonly PipelinePhase[]): boolean {
  const own = section(config, phase).gpu;
  return typeof own === 'boolean' ? own : gpuPhases.includes(phase);
}

/**
 * The executor the pipeline config names for a phase (its own section first, then the
 * pipeline-wide one); null when it names none and the worker's default applies.
 */
export function configuredExecutor(config: Record<string, unknown>, phase: PipelinePhase): string | null {
  const named = section(config, phase).executor ?? config.executor;
  return named === undefined || named === null ? null : String(named);
}

export function planPhaseJob(config: Record<string, unknown>, phase: PipelinePhase, defaults: PhaseJobDefaults): PhaseJobPlan {
  return { retry: resolveRetryPolicy(config, phase, defaults.retry), gpu: phaseNeedsGpu(config, phase, defaults.gpuPhases) };
}

/** Delay before retry number `retry` (1 = the first retry), capped at max_delay_ms. */
export function backoffDelayMs(backoff: BackoffPolicy, retry: number): number {
  const raw = backoff.type === 'fixed' ? backoff.delay_ms : backoff.delay_ms * 2 ** Math.max(0, retry - 1);
  return Math.round(Math.min(raw, backoff.max_delay_ms));
}

/**
 * BullMQ's built-in exponential backoff has no cap, so exponential policies use this custom type;
 * its parameters travel in the job's own `opts.backoff` (stored with the job as JSON).
 */
export const CAPPED_EXPONENTIAL = 'capped-exponential';

interface CappedBackoffOptions extends BackoffOptions {
  type: typeof CAPPED_EXPONENTIAL;
  delay: number;
  maxDelay: number;
}

/** The BullMQ job options that carry a retry policy. */
export function retryJobOptions(policy: RetryPolicy): Pick<JobsOptions, 'attempts' | 'backoff'> {
  const { backoff } = policy;
  if (backoff.type === 'fixed') return { attempts: policy.attempts, backoff: { type: 'fixed', delay: Math.min(backoff.delay_ms, backoff.max_delay_ms) } };
  const capped: CappedBackoffOptions = { type: CAPPED_EXPONENTIAL, delay: backoff.delay_ms, maxDelay: backoff.max_delay_ms };
  return { attempts: policy.attempts, backoff: capped };
}

/** The policy a job was enqueued with, read back from its options (for messages and events). */
export function retryPolicyOfJob(job: Pick<MinimalJob, 'opts'>): RetryPolicy {
  const b = job.opts.backoff as Partial<CappedBackoffOptions> | number | undefined;
  const attempts = job.opts.attempts ?? 1;
  if (typeof b === 'number') return { attempts, backoff: { type: 'fixed', delay_ms: b, max_delay_ms: b } };
  const delay = b?.delay ?? 0;
  if (b?.type === CAPPED_EXPONENTIAL) return { attempts, backoff: { type: 'exponential', delay_ms: delay, max_delay_ms: b.maxDelay ?? delay } };
  if (b?.type === 'exponential') return { attempts, backoff: { type: 'exponential', delay_ms: delay, max_delay_ms: Number.MAX_SAFE_INTEGER } };
  return { attempts, backoff: { type: 'fixed', delay_ms: delay, max_delay_ms: delay } };
}

const priorAttempts = (job: Pick<MinimalJob, 'data'>): number => {
  const n = Number((job.data as { priorAttempts?: unknown } | undefined)?.priorAttempts ?? 0);
  return Number.isInteger(n) && n > 0 ? n : 0;
};

/**
 * Where a job's run stands in its phase's retry policy: the attempt number and the whole policy,
 * counting the attempts the phase made before its job existed (`PhaseJobData.priorAttempts`).
 */
export function attemptOfJob(job: Pick<MinimalJob, 'opts' | 'attemptsMade' | 'data'>): { attempt: number; policy: RetryPolicy } {
  const prior = priorAttempts(job);
  const own = retryPolicyOfJob(job);
  return { attempt: job.attemptsMade + 1 + prior, policy: { ...own, attempts: own.attempts + prior } };
}

/** The Worker's `settings.backoffStrategy`: computes the capped exponential delay of our jobs. */
export const phaseBackoffStrategy: BackoffStrategy = (attemptsMade, type, _err, job) => {
  if (type !== CAPPED_EXPONENTIAL || !job) throw new Error(`unknown backoff type ${String(type)}`);
  return backoffDelayMs(retryPolicyOfJob(job).backoff, attemptsMade + priorAttempts(job));
};
