import type { GateResult, PipelineConfig, PipelinePhase } from '@agent-forge/contracts';
import type { ArtifactStore, PhaseContext, PhaseExecutor, PhaseResult } from '@agent-forge/engine';
import { FORGE_EXECUTOR_NAME, evaluateGates, measureIntegrity, type GateOverrides, type IntegrityEvidence } from '@agent-forge/forge';

export interface PhaseJudgement {
  gates: (GateResult & { blocking: boolean })[];
  /** Set when a blocking gate failed: why the session pauses. */
  blockedReason?: string;
}

/**
 * Quality gates that gate: after a phase of the forge ends (and the session has monitoring on),
 * its catalogue of gates is judged on its measured metrics plus evidence the engine measures
 * itself (artifact checksums, finite weights, and — when `quality_gates.verify_reproducibility`
 * is true — a re-run from the same seed that must produce the same model bytes).
 */
export async function judgePhase(args: {
  phase: PipelinePhase;
  executorName: string;
  executor: PhaseExecutor;
  result: PhaseResult;
  ctx: PhaseContext;
  pipelineConfig: PipelineConfig;
  artifacts: ArtifactStore;
}): Promise<PhaseJudgement> {
  if (args.executorName !== FORGE_EXECUTOR_NAME) return { gates: [] };
  const settings = (args.pipelineConfig.quality_gates ?? {}) as Record<string, unknown>;
  const evidence: IntegrityEvidence = await measureIntegrity(args.artifacts, args.result.artifacts ?? {});
  if (settings.verify_reproducibility === true) evidence.reproducible = await reproduces(args);
  const overrides = Object.fromEntries(Object.entries(settings).filter(([, v]) => typeof v === 'object' && v !== null)) as GateOverrides;
  const gates = evaluateGates(args.phase, args.result.metrics, evidence, overrides);
  const failed = gates.filter((g) => g.blocking && !g.passed);
  return {
    gates,
    ...(failed.length > 0
      ? { blockedReason: `quality gate${failed.length > 1 ? 's' : ''} failed after ${args.phase}: ${failed.map((g) => `${g.gate_name} (${g.recommendations[0] ?? 'see quality-gates'})`).join('; ')}` }
      : {}),
  };
}

/** Run the phase again from scratch with the same seed and inputs; same model bytes = reproducible. */
async function reproduces(args: { executor: PhaseExecutor; result: PhaseResult; ctx: PhaseContext; artifacts: ArtifactStore }): Promise<boolean> {
  const original = args.result.artifacts?.model;
  if (!original) return false;
  const prefix = `${args.ctx.artifactPrefix}repro/`;
  const again = await args.executor.run({ ...args.ctx, resumeState: null, artifactPrefix: prefix, progress: async () => undefined });
  const same = again.artifacts?.model?.sha256 === original.sha256;
  for (const ref of Object.values(again.artifacts ?? {})) await args.artifacts.delete(ref);
  return same;
}
