import {
  PIPELINE_PHASES,
  isTerminalStatus,
  type AgentStatus,
  type ArtifactRef,
  type ExecutionHistory,
  type PhaseMetrics,
  type PhaseStatus,
  type PipelinePhase,
  type PipelineStatus,
  type StatusResponse,
  type SwarmStatus,
  type SwarmTopology,
} from '@agent-forge/contracts';
import type { SessionSnapshot } from './session-store';

/** Pure projections of a session snapshot onto the contract's response shapes. */

/** An agent counts as active while it is active or executing (the session's `active_agents`). */
export const isActiveAgent = (a: Pick<AgentStatus, 'state'>): boolean => a.state === 'active' || a.state === 'executing';

const num = (v: string | undefined | null, fallback = 0): number => {
  const n = Number(v);
  return v === undefined || v === null || v === '' || !Number.isFinite(n) ? fallback : n;
};
const round2 = (n: number) => Math.round(n * 100) / 100;
const json = <T>(v: string | undefined, fallback: T): T => {
  if (!v) return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
};

export function requestedPhases(snap: SessionSnapshot): PipelinePhase[] {
  return json<PipelinePhase[]>(snap.session.phases, []);
}

export function phaseMetrics(snap: SessionSnapshot, nowMs = Date.now()): PhaseMetrics[] {
  return requestedPhases(snap).map((phase) => {
    const h = snap.phases[phase] ?? {};
    const status = (h.status || 'pending') as PhaseStatus;
    const started = num(h.started_ms, NaN);
    const duration = h.duration_seconds
      ? num(h.duration_seconds)
      : Number.isFinite(started)
        ? ((h.ended_ms ? num(h.ended_ms) : status === 'running' ? nowMs : started) - started) / 1000
        : 0;
    return {
      phase,
      status,
      progress_percent: round2(num(h.progress)),
      duration_seconds: round2(Math.max(0, duration)),
      memory_usage_mb: round2(num(h.memory_mb)),
      gpu_utilization_percent: h.gpu ? num(h.gpu) : null,
      custom_metrics: json<Record<string, unknown>>(h.custom_metrics, {}),
      error_message: h.error_message || null,
      artifacts: json<Record<string, ArtifactRef>>(h.artifacts, {}),
    };
  });
}

export function elapsedSeconds(snap: SessionSnapshot, nowMs = Date.now()): number {
  const start = num(snap.session.created_ms, nowMs);
  const end = snap.session.ended_ms ? num(snap.session.ended_ms, nowMs) : nowMs;
  return round2(Math.max(0, (end - start) / 1000));
}

export function toStatusResponse(snap: SessionSnapshot, nowMs = Date.now()): StatusResponse {
  const s = snap.session;
  const status = s.status as PipelineStatus;
  const phases = requestedPhases(snap);
  const metrics = phaseMetrics(snap, nowMs);
  const completed = metrics.filter((m) => m.status === 'completed').map((m) => m.phase);
  const remaining = phases.filter((p) => !completed.includes(p));
  const total = status === 'completed' ? 100 : round2(num(s.total_progress));
  const elapsed = elapsedSeconds(snap, nowMs);
  // ETA = elapsed / progress done × progress left; null until measurable or once the run ended.
  const eta = status === 'running' && total > 0 && total < 100 ? round2((elapsed / total) * (100 - total)) : null;
  const active = snap.agents.filter(isActiveAgent);
  return {
    session_id: s.session_id ?? '',
    status,
    current_phase: (s.current_phase || null) as PipelinePhase | null,
    phases_completed: completed,
    phases_remaining: remaining,
    total_progress_percent: total,
    elapsed_seconds: elapsed,
    estimated_remaining_seconds: eta,
    phase_metrics: metrics,
    agent_count: snap.agents.filter((a) => a.state !== 'stopped').length,
    active_agents: active,
    last_checkpoint: s.last_checkpoint || null,
    progress_percent: total,
    phases,
    metrics: Object.fromEntries(metrics.map((m) => [m.phase, m.custom_metrics])),
    created_at: s.created_at ?? new Date(num(s.created_ms, nowMs)).toISOString(),
    updated_at: s.updated_at ?? s.created_at ?? '',
    status_reason: s.status_reason || null,
    heartbeat_age_seconds: status === 'running' && s.heartbeat_ms ? round2(Math.max(0, nowMs - num(s.heartbeat_ms)) / 1000) : null,
    worker_id: s.worker_id || null,
  };
}

/**
 * GPU utilisation of the session's running phases, as last measured on their GPU slots (nvidia-smi);
 * null when no running phase holds a measured GPU — never a made-up figure.
 */
function runningGpuUsage(snap: SessionSnapshot): number | null {
  const measured = Object.values(snap.phases)
    .filter((h) => h?.status === 'running' && h.gpu !== undefined && h.gpu !== '')
    .map((h) => num(h!.gpu));
  return measured.length === 0 ? null : round2(measured.reduce((a, b) => a + b, 0));
}

export function toSwarmStatus(snap: SessionSnapshot): SwarmStatus {
  const agents = snap.agents;
  const live = agents.filter((a) => a.state !== 'stopped');
  const active = live.filter(isActiveAgent).length;
  const distribution: Record<string, number> = {};
  for (const a of live) distribution[a.phase] = (distribution[a.phase] ?? 0) + 1;
  const latency = snap.session.communication_latency_ms;
  return {
    topology: (snap.session.swarm_topology || 'hierarchical') as SwarmTopology,
    total_agents: live.length,
    active_agents: active,
    idle_agents: live.filter((a) => a.state === 'idle').length,
    agents,
    memory_usage_mb: round2(live.reduce((sum, a) => sum + a.memory_usage_mb, 0)),
    cpu_usage_percent: round2(live.reduce((sum, a) => sum + a.cpu_usage_percent, 0)),
    gpu_usage_percent: runningGpuUsage(snap),
    communication_latency_ms: latency ? num(latency) : null,
    session_id: snap.session.session_id ?? '',
    agent_distribution: distribution,
    max_agents: num(snap.session.max_agents, 0),
  };
}

export function toHistoryEntry(snap: SessionSnapshot, nowMs = Date.now()): ExecutionHistory {
  const status = snap.session.status as PipelineStatus;
  const terminal = isTerminalStatus(status);
  const metrics = phaseMetrics(snap, nowMs);
  return {
    session_id: snap.session.session_id ?? '',
    start_time: snap.session.created_at ?? '',
    end_time: snap.session.ended_at || null,
    status,
    phases: requestedPhases(snap),
    success: status === 'completed',
    duration_seconds: terminal ? elapsedSeconds(snap, nowMs) : null,
    final_metrics: terminal
      ? Object.fromEntries(metrics.filter((m) => m.status === 'completed').map((m) => [m.phase, m.custom_metrics]))
      : null,
  };
}

export interface DashboardSummary {
  /** The owning tenant (frames about the session go only to sockets that may see it). */
  tenant?: string;
  status: PipelineStatus;
  current_phase: PipelinePhase | null;
  progress_percent: number;
  active_agents: number;
  metrics: Record<string, unknown>;
}

export function agentsOf(snap: SessionSnapshot): AgentStatus[] {
  return snap.agents;
}

export { PIPELINE_PHASES };
