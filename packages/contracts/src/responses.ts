import { z } from 'zod';
import { AgentState, PhaseStatus, PipelinePhase, PipelineStatus, SwarmTopology } from './enums';

const Json = z.record(z.string(), z.unknown());
const IsoTime = z.string();

export const StartPipelineResponse = z.object({ session_id: z.string(), status: z.literal('started') });
export type StartPipelineResponse = z.infer<typeof StartPipelineResponse>;

export const ControlResponse = z.object({
  status: z.literal('success'),
  action: z.string(),
  session_id: z.string(),
  /** Our addition: the session's status after the action. */
  pipeline_status: PipelineStatus,
});
export type ControlResponse = z.infer<typeof ControlResponse>;

/** A stored artifact (e.g. model weights), referenced by URI and verified by checksum. */
export const ArtifactRef = z.object({
  uri: z.string(),
  sha256: z.string(),
  size_bytes: z.int().min(0),
  media_type: z.string(),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;

export const PhaseMetrics = z.object({
  phase: PipelinePhase,
  status: PhaseStatus,
  progress_percent: z.number().min(0).max(100),
  duration_seconds: z.number().min(0),
  memory_usage_mb: z.number().min(0),
  gpu_utilization_percent: z.number().nullable(),
  custom_metrics: Json,
  error_message: z.string().nullable(),
  /** Our addition: the phase's output artifacts (model weights …) by name. */
  artifacts: z.record(z.string(), ArtifactRef),
});
export type PhaseMetrics = z.infer<typeof PhaseMetrics>;

export const AgentStatus = z.object({
  agent_id: z.string(),
  role: z.string(),
  phase: PipelinePhase,
  state: AgentState,
  current_task: z.string().nullable(),
  memory_usage_mb: z.number().min(0),
  cpu_usage_percent: z.number().min(0),
  uptime_seconds: z.number().min(0),
});
export type AgentStatus = z.infer<typeof AgentStatus>;

export const StatusResponse = z.object({
  session_id: z.string(),
  status: PipelineStatus,
  current_phase: PipelinePhase.nullable(),
  phases_completed: z.array(PipelinePhase),
  phases_remaining: z.array(PipelinePhase),
  total_progress_percent: z.number().min(0).max(100),
  elapsed_seconds: z.number().min(0),
  estimated_remaining_seconds: z.number().min(0).nullable(),
  phase_metrics: z.array(PhaseMetrics),
  agent_count: z.int().min(0),
  active_agents: z.array(AgentStatus),
  last_checkpoint: z.string().nullable(),
  /** alias of total_progress_percent */
  progress_percent: z.number().min(0).max(100),
  /** alias: the requested phases */
  phases: z.array(PipelinePhase),
  /** alias: each phase's custom_metrics keyed by phase name */
  metrics: z.record(z.string(), Json),
  /** Our additions. */
  created_at: IsoTime,
  updated_at: IsoTime,
  status_reason: z.string().nullable(),
  /** Seconds since the worker running the phase last reported (null when no phase runs). */
  heartbeat_age_seconds: z.number().min(0).nullable(),
  /** The worker that runs (or last ran) the current phase. */
  worker_id: z.string().nullable(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

export const SwarmStatus = z.object({
  topology: SwarmTopology,
  total_agents: z.int().min(0),
  active_agents: z.int().min(0),
  idle_agents: z.int().min(0),
  agents: z.array(AgentStatus),
  memory_usage_mb: z.number().min(0),
  cpu_usage_percent: z.number().min(0),
  gpu_usage_percent: z.number().nullable(),
  communication_latency_ms: z.number().min(0).nullable(),
  /** alias */
  session_id: z.string(),
  /** alias: agent count per phase */
  agent_distribution: z.record(z.string(), z.int()),
  /** Our addition: the cap given at start. */
  max_agents: z.int(),
});
export type SwarmStatus = z.infer<typeof SwarmStatus>;

export const GateResult = z.object({
  gate_name: z.string(),
  passed: z.boolean(),
  score: z.number().min(0).max(1),
  threshold: z.number(),
  details: Json,
  recommendations: z.array(z.string()),
});
export type GateResult = z.infer<typeof GateResult>;

export const TheaterDetection = z.object({
  theater_detected: z.boolean(),
  confidence: z.number().min(0).max(1),
  theater_score: z.number().min(0).max(1),
  indicators: Json,
  recommendations: z.array(z.string()),
});
export type TheaterDetection = z.infer<typeof TheaterDetection>;

export const QualityGateResponse = z.object({
  phase: PipelinePhase,
  all_gates_passed: z.boolean(),
  gates_passed: z.int().min(0),
  gates_failed: z.int().min(0),
  gate_results: z.array(GateResult),
  theater_detection: TheaterDetection.nullable(),
  blocking_failures: z.array(z.string()),
  can_proceed: z.boolean(),
  /** alias */
  session_id: z.string(),
  /** alias of all_gates_passed */
  overall_passed: z.boolean(),
  /** alias: each gate in the original's flat shape */
  results: z.array(
    z.object({
      phase: PipelinePhase,
      gate_name: z.string(),
      passed: z.boolean(),
      score: z.number(),
      threshold: z.number(),
      metrics: Json,
    }),
  ),
});
export type QualityGateResponse = z.infer<typeof QualityGateResponse>;

export const CheckpointResponse = z.object({
  checkpoint_id: z.string(),
  session_id: z.string(),
  phase: PipelinePhase.nullable(),
  timestamp: IsoTime,
  size_mb: z.number().min(0),
  model_included: z.boolean(),
  swarm_included: z.boolean(),
  path: z.string(),
  /** Our addition. */
  checkpoint_name: z.string().nullable(),
});
export type CheckpointResponse = z.infer<typeof CheckpointResponse>;

export const CheckpointLoadResponse = z.object({
  status: z.literal('loaded'),
  checkpoint_id: z.string(),
  session_id: z.string(),
  /** Our addition: the phase the restored session continues with (null: nothing left to run). */
  next_phase: PipelinePhase.nullable(),
});
export type CheckpointLoadResponse = z.infer<typeof CheckpointLoadResponse>;

export const ConfigPresetResponse = z.object({
  preset_name: z.string(),
  config: Json,
  created_at: IsoTime,
  last_used: IsoTime.nullable(),
  usage_count: z.int().min(0),
  /** Our addition: built-in presets cannot be overwritten. */
  builtin: z.boolean(),
});
export type ConfigPresetResponse = z.infer<typeof ConfigPresetResponse>;

export const ExecutionHistory = z.object({
  session_id: z.string(),
  start_time: IsoTime,
  end_time: IsoTime.nullable(),
  status: PipelineStatus,
  phases: z.array(PipelinePhase),
  success: z.boolean(),
  duration_seconds: z.number().min(0).nullable(),
  final_metrics: Json.nullable(),
});
export type ExecutionHistory = z.infer<typeof ExecutionHistory>;

export const QueueStats = z.object({
  waiting: z.int().min(0),
  active: z.int().min(0),
  delayed: z.int().min(0),
  failed: z.int().min(0),
  oldest_waiting_age_seconds: z.number().min(0).nullable(),
});
export type QueueStats = z.infer<typeof QueueStats>;

export const HealthResponse = z.object({
  status: z.enum(['healthy', 'degraded']),
  version: z.string(),
  uptime_seconds: z.number().min(0),
  active_sessions: z.int().min(0),
  total_memory_mb: z.number().min(0),
  available_memory_mb: z.number().min(0),
  /** Our additions. */
  redis: z.enum(['up', 'down']),
  process_memory_mb: z.number().min(0),
  /** Per phase queue: job counts and how long the oldest waiting job has waited (null: none waits). */
  queues: z.record(z.string(), QueueStats).optional(),
  /** Whether requests need credentials (AUTH_MODE). */
  auth: z.enum(['on', 'off']).optional(),
  /** Audit entries this replica failed to write since it started (each is also logged). */
  audit_write_failures: z.int().min(0).optional(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

export const InfoResponse = z.object({
  name: z.literal('Agent Forge API'),
  version: z.string(),
  description: z.string(),
  features: z.array(z.string()),
  endpoints: Json,
});
export type InfoResponse = z.infer<typeof InfoResponse>;

export const WsStatsResponse = z.object({
  total_connections: z.int().min(0),
  active_sessions: z.int().min(0),
  channels: z.record(z.string(), z.int()),
  /** alias */
  connections_by_channel: z.record(z.string(), z.int()),
});
export type WsStatsResponse = z.infer<typeof WsStatsResponse>;
