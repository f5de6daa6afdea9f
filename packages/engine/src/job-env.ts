import { PIPELINE_PHASES, PipelinePhase } from '@agent-forge/contracts';
import { z } from 'zod';
import { DEFAULT_RETRY_POLICY, type PhaseJobDefaults } from './job-policy';

/** A comma list of phase names, `all` or `none`; empty or unset means `whenEmpty`. */
export const envPhaseList = (whenEmpty: 'all' | 'none') =>
  z
    .string()
    .default(whenEmpty)
    .transform((v, ctx) => {
      const t = v.trim() === '' ? whenEmpty : v.trim();
      if (t === 'all') return [...PIPELINE_PHASES];
      if (t === 'none') return [];
      const phases = t.split(',').map((s) => s.trim());
      for (const p of phases) {
        if (!PipelinePhase.safeParse(p).success) {
          ctx.addIssue({ code: 'custom', message: `unknown phase "${p}" (known: ${PIPELINE_PHASES.join(', ')})` });
          return z.NEVER;
        }
      }
      return [...new Set(phases)] as PipelinePhase[];
    });

/**
 * How phase jobs are enqueued when a pipeline's config does not say: read by every service that
 * enqueues phases (gateway: first phase, resume, checkpoint load; worker: the next phase), so both
 * take them from the one shared ConfigMap.
 */
export const phaseJobEnv = {
  /** Attempts of a phase job, the first run included (`config.retry.attempts` overrides). */
  RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(DEFAULT_RETRY_POLICY.attempts),
  /** `exponential` (delay × 2^(retry−1)) or `fixed`. */
  RETRY_BACKOFF_TYPE: z.enum(['exponential', 'fixed']).default(DEFAULT_RETRY_POLICY.backoff.type),
  /** Base delay before a retry. */
  RETRY_BACKOFF_MS: z.coerce.number().int().min(0).max(3_600_000).default(DEFAULT_RETRY_POLICY.backoff.delay_ms),
  /** Longest delay before a retry (caps the exponential growth). */
  RETRY_MAX_DELAY_MS: z.coerce.number().int().min(0).max(86_400_000).default(DEFAULT_RETRY_POLICY.backoff.max_delay_ms),
  /** Phases that need a GPU slot unless `config.<phase>.gpu` says otherwise; default none. */
  GPU_PHASES: envPhaseList('none'),
};

export type PhaseJobEnv = { [K in keyof typeof phaseJobEnv]: z.infer<(typeof phaseJobEnv)[K]> };

export function phaseJobDefaults(env: PhaseJobEnv): PhaseJobDefaults {
  return {
    retry: {
      attempts: env.RETRY_ATTEMPTS,
      backoff: { type: env.RETRY_BACKOFF_TYPE, delay_ms: env.RETRY_BACKOFF_MS, max_delay_ms: env.RETRY_MAX_DELAY_MS },
    },
    gpuPhases: env.GPU_PHASES,
  };
}
