import { envPhaseList, phaseJobEnv } from '@agent-forge/engine';
import { commonEnv, envPort, parseEnv, retentionEnv } from '@agent-forge/runtime';
import os from 'node:os';
import { z } from 'zod';
import { commandExecutorsEnv } from './command-executors';

const executorModules = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const out: { name: string; module: string; exportName: string }[] = [];
    for (const entry of v.split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = /^([A-Za-z0-9_.-]+)=(\/[^#]+)#([A-Za-z_$][\w$]*)$/.exec(entry);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not name=/absolute/module.js#exportName` });
        return z.NEVER;
      }
      out.push({ name: m[1]!, module: m[2]!, exportName: m[3]! });
    }
    return out;
  });

/** WORKER_CHAIN_MS's default: chains of sub-second phases skip their queue hand-overs. */
export const DEFAULT_CHAIN_MS = 1_000;

export const WorkerEnv = z.object({
  ...commonEnv,
  ...retentionEnv,
  /** Phases this worker takes, comma separated, or "all" (e.g. `training` for GPU workers). */
  WORKER_PHASES: envPhaseList('all'),
  /** Jobs run at once per phase queue. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(4),
  /**
   * Phase chaining: a job goes on to run its session's next phase itself, skipping the queue
   * hand-over, while it has run less than this long (ms); 0 = every phase goes through its queue.
   */
  WORKER_CHAIN_MS: z.coerce.number().int().min(0).max(3_600_000).default(DEFAULT_CHAIN_MS),
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
  /** Executor of phases whose pipeline names none: `forge` (the built-in phases) or `dry-run`. */
  DEFAULT_EXECUTOR: z.string().min(1).max(64).default('forge'),
  /** Heap cap (MB) of each phase that runs in its own thread: the agent's memory limit, enforced. */
  AGENT_MEMORY_LIMIT_MB: z.coerce.number().int().min(16).max(1_048_576).default(1_024),
  /** After a cancel or timeout, how long a threaded phase may take to stop before its thread is killed. */
  EXECUTOR_KILL_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  /**
   * Extra executors an operator installs on this worker, each run in its own thread:
   * `name=/abs/path/module.js#exportName`, comma separated. Pipelines select them by name.
   */
  WORKER_EXECUTOR_MODULES: executorModules,
  /**
   * The allow-list of phase programs (command executors) pipelines may select by name: inline JSON
   * or the absolute path of a JSON file, `{ name: { argv, env, cwd, limits } }`.
   */
  WORKER_COMMAND_EXECUTORS: commandExecutorsEnv,
  /** A worker with a free slot that took no job while one waited this long reports not ready and not live. */
  WORKER_STUCK_AFTER_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
  /** How often expired sessions' artifacts and interrupted temp files are swept. */
  REAPER_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(600_000),
  /** Checkpoints kept per session (phase-boundary and on-demand); older ones and their artifacts are deleted. */
  CHECKPOINT_RETENTION: z.coerce.number().int().min(1).max(1_000).default(5),
  /** Retry defaults and GPU_PHASES: how the next phase's job is enqueued (shared with the gateway). */
  ...phaseJobEnv,
  /**
   * GPU slots this worker offers: a count, or `auto` = the GPUs nvidia-smi reports (0 without
   * nvidia-smi). A worker with slots also takes the phases that need a GPU, one per free slot.
   */
  WORKER_GPUS: z
    .union([z.literal('auto'), z.coerce.number().int().min(0).max(64)])
    .default('auto'),
  /** A GPU slot lease expires this long after its holder last renewed it (renewed every third of it). */
  GPU_LEASE_TTL_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
});
export type WorkerConfig = z.infer<typeof WorkerEnv>;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(WorkerEnv, env);
}
