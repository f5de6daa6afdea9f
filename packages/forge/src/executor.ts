import type { PipelinePhase } from '@agent-forge/contracts';
import type { ExecutorRegistry, PhaseContext, PhaseExecutor, PhaseResult } from '@agent-forge/engine';
import { runAdas } from './phases/adas';
import { runBaking } from './phases/baking';
import { runBitnet } from './phases/bitnet';
import { runCognate } from './phases/cognate';
import { runCompression } from './phases/compression';
import { runEvomerge } from './phases/evomerge';
import { runQuietstar } from './phases/quietstar';
import { runTraining } from './phases/training';

export const FORGE_EXECUTOR_NAME = 'forge';

export const FORGE_PHASES: Record<PipelinePhase, (ctx: PhaseContext) => Promise<PhaseResult>> = {
  cognate: runCognate,
  evomerge: runEvomerge,
  quietstar: runQuietstar,
  bitnet: runBitnet,
  training: runTraining,
  baking: runBaking,
  adas: runAdas,
  compression: runCompression,
};

/** The built-in phases under one executor name; it runs the implementation of `ctx.phase`. */
export class ForgeExecutor implements PhaseExecutor {
  readonly name = FORGE_EXECUTOR_NAME;

  async run(ctx: PhaseContext): Promise<PhaseResult> {
    const impl = FORGE_PHASES[ctx.phase];
    if (!impl) throw new Error(`the forge has no phase "${String(ctx.phase)}"`);
    return impl(ctx);
  }
}

export function forgeExecutors(): PhaseExecutor[] {
  return [new ForgeExecutor()];
}

/** Registers the forge executors (`forge`) on a registry; returns it for chaining. */
export function registerForgeExecutors(registry: ExecutorRegistry): ExecutorRegistry {
  for (const e of forgeExecutors()) registry.register(e);
  return registry;
}
