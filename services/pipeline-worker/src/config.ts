import { PIPELINE_PHASES, PipelinePhase } from '@agent-forge/contracts';
import { commonEnv, envPort, parseEnv } from '@agent-forge/runtime';
import os from 'node:os';
import { z } from 'zod';

const phaseList = z
  .string()
  .default('all')
  .transform((v, ctx) => {
    if (v.trim() === 'all' || v.trim() === '') return [...PIPELINE_PHASES];
    const phases = v.split(',').map((s) => s.trim());
    for (const p of phases) {
      if (!PipelinePhase.safeParse(p).success) {
        ctx.addIssue({ code: 'custom', message: `unknown phase "${p}" (known: ${PIPELINE_PHASES.join(', ')})` });
        return z.NEVER;
      }
    }
    return [...new Set(phases)] as PipelinePhase[];
  });

export const WorkerEnv = z.object({
  ...commonEnv,
  /** Phases this worker takes, comma separated, or "all" (e.g. `training` for GPU workers). */
  WORKER_PHASES: phaseList,
  /** Jobs run at once per phase queue. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(4),
  WORKER_ID: z.string().min(1).max(128).default(`${os.hostname()}-${process.pid}`),
  WORKER_HEALTH_HOST: z.string().default('127.0.0.1'),
  WORKER_HEALTH_PORT: envPort.default(8083),
  /** How often a running phase publishes its measured metrics and agent figures. */
  METRICS_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  /** BullMQ job lock; renewed while the phase runs. A dead worker's job stalls after this. */
  WORKER_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /** Root of the filesystem artifact store (model weights); a shared volume across worker hosts. */
  ARTIFACT_ROOT: z.string().min(1).default('.agent-forge/artifacts'),
  RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  RETRY_BACKOFF_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_000),
});
export type WorkerConfig = z.infer<typeof WorkerEnv>;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(WorkerEnv, env);
}
