import type { AgentStatus, ArtifactRef, PhaseSwarmSettings, PipelineConfig, PipelinePhase } from '@agent-forge/contracts';
import type { ArtifactStore } from './artifacts';
import type { Logger } from '@agent-forge/runtime';

export interface ProgressStep {
  /** Percent of this phase done, 0..100. */
  percent: number;
  message?: string;
  /** Measured figures so far; shown as the phase's custom_metrics while it runs. */
  metrics?: Record<string, unknown>;
  /** In-phase checkpoint: what a later run of this phase needs to continue after this step. */
  state?: unknown;
}

/** The output of the phase that ran before this one in the pipeline (its model artifact …). */
export interface PreviousPhase {
  phase: PipelinePhase;
  metrics: Record<string, unknown>;
  artifacts: Record<string, ArtifactRef>;
}

/** The GPU slot a phase holds while it runs (phases that need a GPU only run holding one). */
export interface PhaseGpu {
  /** The slot's id: the GPU's UUID when nvidia-smi reports the device, else a worker-local name. */
  slot: string;
  /** The device behind the slot (for CUDA_VISIBLE_DEVICES); null when the slot is not a detected GPU. */
  uuid: string | null;
  index: number | null;
  name: string | null;
}

/** What a phase executor gets from the engine. */
export interface PhaseContext {
  sessionId: string;
  phase: PipelinePhase;
  /** This phase's section of the pipeline config (`config.<phase>`), defaults filled in. */
  config: Record<string, unknown>;
  /** The whole pipeline config. Read-only: the phases a job runs in a row share one copy. */
  pipelineConfig: PipelineConfig;
  /** Aborted on cancel/stop of the session (and by the phase timeout). */
  signal: AbortSignal;
  /** State saved by the last `progress({state})` of an earlier run of this phase, or null. */
  resumeState: unknown;
  attempt: number;
  logger: Logger;
  /** Where large outputs go; keys are scoped by the engine under `<session>/<phase>/`. */
  artifacts: ArtifactStore;
  /** Key prefix for this phase's artifacts: `<session>/<phase>/`. */
  artifactPrefix: string;
  /** The previous completed phase of this pipeline, or null for the first phase. */
  previous: PreviousPhase | null;
  /** The GPU slot this phase holds, or null when it runs without one. */
  gpu: PhaseGpu | null;
  /**
   * Record a step. Between steps is where control takes effect: when the session was paused the
   * engine parks the phase (the job ends, holding no worker slot) by throwing `PhaseParked`; when
   * it was cancelled it throws an AbortError. Executors just let these propagate.
   */
  progress(step: ProgressStep): Promise<void>;
  /**
   * The session's swarm settings. An executor that runs agents (see @agent-forge/swarm) starts at
   * most `maxAgents − 1` of them: the phase's own runner agent is the swarm's coordinator and
   * counts too. Absent outside a session (unit tests): the executor computes in its own thread.
   */
  swarm?: PhaseSwarmSettings;
  /**
   * Report the phase's agents (their latest state, task, measured CPU/heap/uptime) and the
   * measured mean round-trip latency between them; the engine persists every agent and publishes
   * `agent_update` for it. Call it whenever agents change (throttled by the caller).
   */
  agents?(agents: AgentStatus[], communicationLatencyMs: number | null): Promise<void>;
}

export interface PhaseResult {
  /** The phase's measured outputs; they become `custom_metrics` and the `phase_complete` metrics. */
  metrics: Record<string, unknown>;
  /** Output artifacts by name (e.g. `model`); the next phase receives them in `ctx.previous`. */
  artifacts?: Record<string, ArtifactRef>;
}

export interface PhaseExecutor {
  readonly name: string;
  run(ctx: PhaseContext): Promise<PhaseResult>;
}
