import type { GateResult, PipelineConfig, PipelinePhase } from '@agent-forge/contracts';
import { DryRunExecutor, type ArtifactStore, type PhaseContext, type PhaseExecutor, type PhaseResult } from '@agent-forge/engine';
import { DEFAULT_SEED, FORGE_EXECUTOR_NAME, detectTheater, evaluateGates, measureIntegrity, type GateEvidence, type GateOverrides } from '@agent-forge/forge';

export interface PhaseJudgement {
  gates: (GateResult & { blocking: boolean })[];
  /** Set when a blocking gate failed: why the session pauses. */
  blockedReason?: string;
}

/**
 * Quality gates that gate: after a phase ends (and the session has monitoring on), its catalogue
 * of gates is judged on the executor's metrics plus evidence the engine measures itself: artifact
 * checksums, finite weights, theater detection (the output model re-evaluated on the engine's own
 * held-out split, its real sizes, its weights against the input's) and — when
 * `quality_gates.verify_reproducibility` is true — a re-run from the same seed that must produce
 * the same model bytes.
 *
 * Every executor is judged the same way, the built-in forge as much as command executors and any
 * other registered one: Integrity, Theater Elimination, and the phase's own catalogue gates on
 * the metrics the executor reported. For the forge those metrics are measured (a missing key
 * fails); for a command executor they are self-reported, so only the checks on what it reported
 * are judged (see `MetricsSource`) — and Theater Elimination holds those claims to the artifact. The one exception is the
 * engine's dry-run executor: it simulates orchestration only (steps and timing, no model), claims
 * nothing about a model, and judging it on model gates would only pause every dry run.
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
  if (args.executor instanceof DryRunExecutor) return { gates: [] };
  const settings = (args.pipelineConfig.quality_gates ?? {}) as Record<string, unknown>;
  const evidence: GateEvidence = await measureIntegrity(args.artifacts, args.result.artifacts ?? {});
  if (settings.verify_reproducibility === true) evidence.reproducible = await reproduces(args);
  const overrides = Object.fromEntries(Object.entries(settings).filter(([, v]) => typeof v === 'object' && v !== null)) as GateOverrides;
  evidence.theater = await detectTheater({
    phase: args.phase,
    metrics: args.result.metrics,
    inputModel: args.ctx.previous?.artifacts.model,
    outputArtifacts: args.result.artifacts ?? {},
    store: args.artifacts,
    // the audit split is generated from the pipeline's seed and scale, as the forge's data is
    seed: Number(args.pipelineConfig.seed ?? DEFAULT_SEED),
    scale: Number(args.pipelineConfig.scale ?? 1),
    overrides: overrides.theater_elimination,
  });
  // The forge measures every key of its phase; any other executor reports what its program computes.
  const gates = evaluateGates(args.phase, args.result.metrics, evidence, overrides, args.executorName === FORGE_EXECUTOR_NAME ? 'measured' : 'self-reported');
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
