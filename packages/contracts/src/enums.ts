import { z } from 'zod';

/** The eight phases, in canonical order (phase numbers 1..8). */
export const PIPELINE_PHASES = [
  'cognate',
  'evomerge',
  'quietstar',
  'bitnet',
  'training',
  'baking',
  'adas',
  'compression',
] as const;
export const PipelinePhase = z.enum(PIPELINE_PHASES);
export type PipelinePhase = z.infer<typeof PipelinePhase>;

export const PIPELINE_STATUSES = [
  'idle',
  'initializing',
  'running',
  'paused',
  'completed',
  'failed',
  'cancelled',
] as const;
export const PipelineStatus = z.enum(PIPELINE_STATUSES);
export type PipelineStatus = z.infer<typeof PipelineStatus>;

export const TERMINAL_STATUSES: readonly PipelineStatus[] = ['completed', 'failed', 'cancelled'];
export function isTerminalStatus(status: PipelineStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export const SwarmTopology = z.enum(['hierarchical', 'mesh', 'star', 'ring']);
export type SwarmTopology = z.infer<typeof SwarmTopology>;

export const ControlAction = z.enum(['pause', 'resume', 'stop', 'cancel']);
export type ControlAction = z.infer<typeof ControlAction>;

export const AgentState = z.enum(['idle', 'active', 'executing', 'error', 'stopped']);
export type AgentState = z.infer<typeof AgentState>;

export const PhaseStatus = z.enum(['pending', 'running', 'paused', 'completed', 'failed', 'cancelled']);
export type PhaseStatus = z.infer<typeof PhaseStatus>;

export function phaseNumber(phase: PipelinePhase): number {
  return PIPELINE_PHASES.indexOf(phase) + 1;
}
