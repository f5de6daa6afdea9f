import path from 'node:path';
import { z } from 'zod';

/** Executor names: how pipelines select them (`config.<phase>.executor`). */
export const CommandExecutorName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits and _ . - only, at most 64');

const absolutePath = z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path');

/**
 * One allow-listed phase program. The API never carries a command line: pipelines can only name
 * one of these, and everything that runs is fixed here by the worker's operator.
 */
export const CommandExecutorSpec = z.strictObject({
  /** Program and arguments, no shell: `["python3", "/opt/executors/prune.py"]`. */
  argv: z.array(z.string().min(1)).min(1),
  /** The program's whole environment besides PATH and AGENT_FORGE_CONTEXT: the worker's own env (secrets) is not passed on. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an env var name'), z.string()).default({}),
  /** Working directory of the program; default: the run's own temporary directory. */
  cwd: absolutePath.optional(),
  limits: z
    .strictObject({
      /** RSS cap of the program's whole process group; default AGENT_MEMORY_LIMIT_MB. */
      memory_mb: z.number().int().min(16).max(1_048_576).optional(),
      /** Wall-clock budget of one run; 0 = none (the phase's `timeout_seconds` still applies). */
      timeout_s: z.number().min(0).max(604_800).default(0),
      /** After pause/stop/cancel/timeout, how long the program may take before it is killed; default EXECUTOR_KILL_GRACE_MS. */
      kill_grace_ms: z.number().int().min(0).max(600_000).optional(),
    })
    .default({ timeout_s: 0 }),
});
export type CommandExecutorSpec = z.infer<typeof CommandExecutorSpec>;

/** The allow-list: executor name → spec. */
export const CommandExecutorAllowList = z.record(CommandExecutorName, CommandExecutorSpec);
export type CommandExecutorAllowList = z.infer<typeof CommandExecutorAllowList>;

/** A spec with the worker's defaults filled in: what the executor runs with. */
export interface ResolvedCommandSpec {
  name: string;
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  memoryLimitMb: number;
  timeoutMs: number;
  killGraceMs: number;
}

export function resolveCommandSpec(name: string, spec: CommandExecutorSpec, defaults: { memoryLimitMb: number; killGraceMs: number }): ResolvedCommandSpec {
  return {
    name,
    argv: spec.argv,
    env: spec.env,
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
    memoryLimitMb: spec.limits.memory_mb ?? defaults.memoryLimitMb,
    timeoutMs: spec.limits.timeout_s * 1000,
    killGraceMs: spec.limits.kill_grace_ms ?? defaults.killGraceMs,
  };
}
