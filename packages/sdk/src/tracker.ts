import type { AgentStatus, ControlAction, PhaseStatus, PipelinePhase, PipelineStatus, StatusResponse } from '@agent-forge/contracts';
import type { LiveEvent } from './live';

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly PipelineStatus[];
export function isTerminal(status: PipelineStatus | null | undefined): boolean {
  return status != null && (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export interface PhaseView {
  phase: PipelinePhase;
  status: PhaseStatus;
  progress_percent: number;
  duration_seconds: number | null;
  custom_metrics: Record<string, unknown>;
  error_message: string | null;
  /** The last progress message of the phase. */
  message: string | null;
}

export interface MetricsSample {
  /** ms since epoch (the event's timestamp) */
  t: number;
  phase: PipelinePhase | null;
  /** `worker`: measured by the worker running the phase (its process); `host`: realtime's periodic host figures. */
  source: 'worker' | 'host';
  cpu_percent: number | null;
  memory_mb: number | null;
}

export interface SessionView {
  session_id: string;
  /** null until known (snapshot of an unknown session, or nothing heard yet). */
  status: PipelineStatus | null;
  current_phase: PipelinePhase | null;
  total_progress_percent: number;
  phases: PhaseView[];
  agent_count: number;
  agents: AgentStatus[];
  elapsed_seconds: number;
  /** Seconds left, from the server when it has measured one, else elapsed / done × left; null until measurable. */
  eta_seconds: number | null;
  last_checkpoint: string | null;
  /** Error events (recoverable or not), newest last, at most 50. */
  errors: { error_code: string; error_message: string; phase: PipelinePhase | null; recoverable: boolean; at: string }[];
  /** Live `metrics` samples (CPU, memory), at most `maxSamples`, oldest first. */
  samples: MetricsSample[];
  /** Event frames applied. */
  events: number;
  /** The last full status from the server (snapshot or GET /status). */
  status_response: StatusResponse | null;
  /** ms since epoch of the last change. */
  updated_at: number;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const ORDER: readonly PipelinePhase[] = ['cognate', 'evomerge', 'quietstar', 'bitnet', 'training', 'baking', 'adas', 'compression'];

/**
 * Folds GET /status answers, snapshots and live events of one session into a `SessionView`: what
 * the CLI's `follow`, the demo and the dashboard draw. Status answers are authoritative; events
 * carry absolute values, so applying one twice is harmless, and progress never moves backwards
 * within a run.
 */
export class SessionTracker {
  readonly view: SessionView;
  private elapsedBase: { seconds: number; at: number } | null = null;

  constructor(
    sessionId: string,
    private readonly opts: { maxSamples?: number; now?: () => number } = {},
  ) {
    this.view = {
      session_id: sessionId,
      status: null,
      current_phase: null,
      total_progress_percent: 0,
      phases: [],
      agent_count: 0,
      agents: [],
      elapsed_seconds: 0,
      eta_seconds: null,
      last_checkpoint: null,
      errors: [],
      samples: [],
      events: 0,
      status_response: null,
      updated_at: this.now(),
    };
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  get terminal(): boolean {
    return isTerminal(this.view.status);
  }

  private phase(name: PipelinePhase): PhaseView {
    let p = this.view.phases.find((x) => x.phase === name);
    if (!p) {
      p = { phase: name, status: 'pending', progress_percent: 0, duration_seconds: null, custom_metrics: {}, error_message: null, message: null };
      this.view.phases.push(p);
      this.view.phases.sort((a, b) => ORDER.indexOf(a.phase) - ORDER.indexOf(b.phase));
    }
    return p;
  }

  /** A full status (GET /status or a snapshot): replaces what it covers. */
  applyStatus(s: StatusResponse): void {
    const v = this.view;
    v.status_response = s;
    v.status = s.status;
    v.current_phase = s.current_phase;
    v.total_progress_percent = s.total_progress_percent;
    v.agent_count = s.agent_count;
    v.agents = s.active_agents;
    v.last_checkpoint = s.last_checkpoint;
    this.elapsedBase = { seconds: s.elapsed_seconds, at: this.now() };
    v.elapsed_seconds = s.elapsed_seconds;
    const phases = s.phases.length > 0 ? s.phases : s.phase_metrics.map((m) => m.phase);
    v.phases = v.phases.filter((p) => phases.includes(p.phase));
    for (const name of phases) this.phase(name);
    for (const m of s.phase_metrics) {
      const p = this.phase(m.phase);
      p.status = m.status;
      p.progress_percent = m.progress_percent;
      p.duration_seconds = m.status === 'pending' ? null : m.duration_seconds;
      p.custom_metrics = m.custom_metrics;
      p.error_message = m.error_message;
    }
    v.eta_seconds = s.estimated_remaining_seconds;
    this.touch();
  }

  /** A snapshot frame: `null` = the server does not know the session (yet). */
  applySnapshot(s: StatusResponse | null): void {
    if (s) this.applyStatus(s);
    else this.touch();
  }

  applyEvent(e: LiveEvent): void {
    const v = this.view;
    v.events++;
    switch (e.event_type) {
      case 'pipeline_progress': {
        const d = e.data;
        if (!isTerminal(v.status) || isTerminal(d.status)) v.status = d.status;
        v.total_progress_percent = Math.max(v.total_progress_percent, d.total_progress_percent);
        if (d.phase) {
          v.current_phase = d.phase;
          const p = this.phase(d.phase);
          if (p.status !== 'completed' && p.status !== 'failed') {
            p.progress_percent = Math.max(p.progress_percent, d.progress_percent);
            p.status = d.status === 'paused' ? 'paused' : d.status === 'running' || d.status === 'initializing' ? 'running' : p.status;
            if (d.message) p.message = d.message;
          }
          // Phases before the running one are done, even if their phase_complete was missed.
          for (const other of v.phases) {
            if (other.phase === d.phase) break;
            if (other.status === 'pending' || other.status === 'running') {
              other.status = 'completed';
              other.progress_percent = 100;
            }
          }
        }
        break;
      }
      case 'phase_complete': {
        const d = e.data;
        const p = this.phase(d.phase);
        p.status = d.success ? 'completed' : 'failed';
        if (d.success) p.progress_percent = 100;
        p.duration_seconds = d.duration_seconds;
        p.custom_metrics = { ...p.custom_metrics, ...d.metrics };
        if (d.error_message) p.error_message = d.error_message;
        break;
      }
      case 'agent_update': {
        const d = e.data;
        const prev = v.agents.find((a) => a.agent_id === d.agent_id);
        const next: AgentStatus = {
          agent_id: d.agent_id,
          role: d.role,
          phase: d.phase,
          state: d.state,
          current_task: d.task,
          memory_usage_mb: d.memory_usage_mb,
          cpu_usage_percent: d.cpu_usage_percent,
          uptime_seconds: prev?.uptime_seconds ?? 0,
        };
        v.agents = prev ? v.agents.map((a) => (a.agent_id === d.agent_id ? next : a)) : [...v.agents, next];
        v.agent_count = Math.max(v.agent_count, v.agents.length);
        break;
      }
      case 'metrics': {
        const m = e.data.metrics;
        const t = Date.parse(e.timestamp);
        const source = e.event_id || typeof m.worker_id === 'string' ? 'worker' : 'host';
        v.samples.push({ t: Number.isFinite(t) ? t : this.now(), phase: e.data.phase, source, cpu_percent: num(m.cpu_percent), memory_mb: num(m.memory_mb) });
        const max = this.opts.maxSamples ?? 600;
        if (v.samples.length > max) v.samples.splice(0, v.samples.length - max);
        break;
      }
      case 'error': {
        const d = e.data;
        v.errors.push({ ...d, at: e.timestamp });
        if (v.errors.length > 50) v.errors.shift();
        break;
      }
      case 'dashboard_update': {
        const d = e.data;
        if (d.pipeline_status && (!isTerminal(v.status) || isTerminal(d.pipeline_status))) v.status = d.pipeline_status;
        v.total_progress_percent = Math.max(v.total_progress_percent, d.progress_percent);
        v.agent_count = d.active_agents;
        break;
      }
      default:
        break;
    }
    this.touch();
  }

  /** Advance the clock-derived figures (elapsed, ETA) to now. */
  tick(): void {
    const v = this.view;
    if (this.elapsedBase && !isTerminal(v.status) && v.status !== 'paused') {
      v.elapsed_seconds = this.elapsedBase.seconds + (this.now() - this.elapsedBase.at) / 1000;
    }
    if (isTerminal(v.status)) {
      v.eta_seconds = v.status === 'completed' ? 0 : null;
      return;
    }
    const done = v.total_progress_percent;
    if (done >= 100) v.eta_seconds = 0;
    else if (done >= 1 && v.elapsed_seconds > 0) v.eta_seconds = (v.elapsed_seconds / done) * (100 - done);
  }

  private touch(): void {
    this.tick();
    this.view.updated_at = this.now();
  }
}

/**
 * Which control actions a session's status allows (the contract's transition table: a unit test
 * checks this against CONTROL_TRANSITIONS, which the browser entry cannot import without zod).
 */
const CONTROL_FROM = {
  pause: ['initializing', 'running'],
  resume: ['paused'],
  stop: ['idle', 'initializing', 'running', 'paused'],
  cancel: ['idle', 'initializing', 'running', 'paused'],
} as const satisfies Record<ControlAction, readonly PipelineStatus[]>;

export function allowedActions(status: PipelineStatus | null | undefined): ControlAction[] {
  if (!status) return [];
  return (Object.keys(CONTROL_FROM) as ControlAction[]).filter((a) => (CONTROL_FROM[a] as readonly string[]).includes(status));
}

/** The canonical phase order (checked against the contract's PIPELINE_PHASES by a unit test). */
export const PHASE_ORDER = ORDER;
