import type { PipelinePhase } from '@agent-forge/contracts';

/**
 * The role catalogue, after the original's: a coordination layer present in every phase, and
 * roles specific to each phase's work. An agent's role says what its tasks are; the swarm assigns
 * a phase's worker agents the phase's roles in order, round-robin when there are more agents.
 */
export const COORDINATION_ROLES = {
  /** The hub of every topology: the phase's runner agent, which owns the swarm, hands out work and collects results. */
  'swarm-coordinator': 'owns the phase swarm: spawns agents, assigns tasks, collects results',
  /** Hierarchical topology only: a sub-coordinator between the hub and a team of workers. */
  'team-lead': 'hierarchical: takes a batch from the coordinator, fans it out to its team by priority and gathers',
  /** Performed by the coordinator: it samples each agent thread's heap and enforces the per-agent memory limit. */
  'memory-manager': 'per-agent heap limits (worker resourceLimits) and heap sampling',
  /** Performed by the coordinator: it samples each agent's event-loop utilisation and probes link latency. */
  'performance-monitor': 'per-agent CPU share and link round-trip latency',
  /** Performed by the coordinator after the phase: the quality gates on the measured metrics. */
  'quality-gate': 'quality gates on the phase metrics',
} as const;

export type CoordinationRole = keyof typeof COORDINATION_ROLES;
export const COORDINATOR_ROLE: CoordinationRole = 'swarm-coordinator';
export const LEAD_ROLE: CoordinationRole = 'team-lead';

/** Worker roles per phase, most important first (an agent with the first role is spawned first). */
export const PHASE_ROLES: Record<PipelinePhase, readonly string[]> = {
  cognate: ['model-initializer', 'architecture-designer', 'validation-evaluator'],
  evomerge: ['fitness-evaluator', 'merge-operator', 'evolutionary-optimizer', 'diversity-monitor'],
  quietstar: ['thought-generator', 'reasoning-evaluator', 'ab-tester'],
  bitnet: ['bitnet-compression', 'quantization-specialist', 'calibration-analyst'],
  training: ['training-orchestrator', 'gradient-filter', 'loss-monitor'],
  baking: ['tool-baker', 'persona-baker', 'behavior-validator'],
  adas: ['architecture-searcher', 'candidate-evaluator', 'pareto-ranker'],
  compression: ['pruning-specialist', 'codebook-quantizer', 'theater-detector'],
};

/** The role of worker agent `index` (0-based) in `phase`. */
export function workerRole(phase: PipelinePhase, index: number): string {
  const roles = PHASE_ROLES[phase];
  return roles[index % roles.length]!;
}
