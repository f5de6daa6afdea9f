import { makeEnvelope, type EventData, type WsChannel } from '@agent-forge/contracts';
import { HostCpuMeter, hostMemoryMb, processMemoryMb, round2, type Logger } from '@agent-forge/runtime';
import type { TenantScope } from '@agent-forge/state';
import type { RealtimeServerConfig } from './config';
import type { DashboardSource, SessionSummary } from './dashboard-source';
import { METRICS_FRAME, PLAIN_FRAME } from './connection';
import type { ConnectionHub } from './hub';

const METRICS_CHANNELS: readonly WsChannel[] = ['metrics', 'dashboard'];
const DASHBOARD_CHANNELS: readonly WsChannel[] = ['dashboard'];
/** The unfiltered dashboard lists at most this many sessions (aggregates still count all of them). */
export const MAX_LISTED_SESSIONS = 100;
const FAILURE_LOG_EVERY_MS = 10_000;

export interface HostFigures {
  cpu_percent: number;
  memory_mb: number;
  memory_total_mb: number;
  process_rss_mb: number;
  gpu_utilization: null;
}

/** Measured host figures; CPU is the share used since the previous sample. */
export class HostSampler {
  private readonly cpu = new HostCpuMeter();

  sample(): HostFigures {
    const memory = hostMemoryMb();
    return {
      cpu_percent: this.cpu.sample(),
      memory_mb: round2(memory.total - memory.available),
      memory_total_mb: memory.total,
      process_rss_mb: processMemoryMb(),
      // No GPU is measured by this service; the contract wants null rather than an invented number.
      gpu_utilization: null,
    };
  }
}

export interface TickerDeps {
  hub: ConnectionHub;
  source: DashboardSource;
  config: RealtimeServerConfig;
  logger: Logger;
  /** Events fanned out since the previous call (for `throughput_ops`). */
  takeEventsRouted: () => number;
}

type Summaries = Map<string, SessionSummary | null>;

/**
 * The periodic frames: `metrics` to /ws/metrics and /ws/dashboard, `dashboard_update` to
 * /ws/dashboard. Each frame is built and serialized once per tick and per audience (all unfiltered
 * sockets share one; each filtered session gets one), and each session summary is read once per
 * tick however many sockets watch it: the cost of a tick does not grow with the number of
 * clients beyond the writes themselves. `metrics` frames are coalescible (a slow socket keeps
 * only the latest).
 */
export class Ticker {
  private readonly sampler = new HostSampler();
  private timers: NodeJS.Timeout[] = [];
  private metricsBusy = false;
  private dashboardBusy = false;
  private lastMetricsAt = performance.now();
  private lastFailureLog = 0;

  constructor(private readonly deps: TickerDeps) {}

  start(): void {
    if (this.timers.length > 0) return;
    const { METRICS_INTERVAL_MS, DASHBOARD_INTERVAL_MS } = this.deps.config;
    this.lastMetricsAt = performance.now();
    this.timers = [
      setInterval(() => void this.guard('metrics', () => this.metricsTick()), METRICS_INTERVAL_MS),
      setInterval(() => void this.guard('dashboard', () => this.dashboardTick()), DASHBOARD_INTERVAL_MS),
    ];
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  async metricsTick(now: Date = new Date()): Promise<void> {
    const { hub } = this.deps;
    // Sample every tick, listened to or not, so each figure covers exactly one interval.
    const elapsedSec = Math.max((performance.now() - this.lastMetricsAt) / 1000, 1e-3);
    this.lastMetricsAt = performance.now();
    const figures = {
      ...this.sampler.sample(),
      throughput_ops: round2(this.deps.takeEventsRouted() / elapsedSec),
      connections: hub.size,
    };
    if (hub.hasUnfiltered(METRICS_CHANNELS)) {
      hub.sendUnfiltered(METRICS_CHANNELS, frame(makeEnvelope('metrics', null, { metrics: figures, phase: null }, now)), METRICS_FRAME);
    }
    const sessions = hub.filteredSessions(METRICS_CHANNELS);
    if (sessions.size === 0) return;
    const summaries = await this.readSummaries(sessions);
    for (const sessionId of sessions) {
      const data = sessionMetrics(figures, summaries?.get(sessionId));
      hub.sendToSession(METRICS_CHANNELS, sessionId, frame(makeEnvelope('metrics', sessionId, data, now)), METRICS_FRAME, summaries?.get(sessionId)?.tenant);
    }
  }

  async dashboardTick(now: Date = new Date()): Promise<void> {
    const { hub, source } = this.deps;
    const sessions = hub.filteredSessions(DASHBOARD_CHANNELS);
    // One overview per audience: each tenant with unfiltered dashboards sees only its own sessions
    // (read from that tenant's own active index), admins see every tenant's.
    const scopes = [...hub.unfilteredScopes(DASHBOARD_CHANNELS)];
    if (sessions.size === 0 && scopes.length === 0) return;

    const activeByScope = new Map<TenantScope, string[] | null>();
    await Promise.all(
      scopes.map(async (scope) => {
        try {
          activeByScope.set(scope, await this.withinTick(source.activeSessionIds(scope), this.deps.config.DASHBOARD_INTERVAL_MS));
        } catch (err) {
          this.noteFailure(err);
          activeByScope.set(scope, null);
        }
      }),
    );
    // One read per distinct session, shared by the overviews and the filtered sockets.
    const wanted = new Set(sessions);
    for (const ids of activeByScope.values()) for (const id of ids ?? []) wanted.add(id);
    const summaries = await this.readSummaries(wanted, this.deps.config.DASHBOARD_INTERVAL_MS);

    for (const sessionId of sessions) {
      const summary = summaries?.get(sessionId) ?? null;
      const data = sessionDashboard(summary);
      hub.sendToSession(DASHBOARD_CHANNELS, sessionId, frame(makeEnvelope('dashboard_update', sessionId, data, now)), PLAIN_FRAME, summary?.tenant);
    }
    for (const scope of scopes) {
      const activeIds = activeByScope.get(scope) ?? null;
      const data = overviewDashboard(activeIds && summaries ? { activeIds, summaries } : null);
      hub.sendUnfilteredScope(DASHBOARD_CHANNELS, scope, frame(makeEnvelope('dashboard_update', null, data, now)));
    }
  }

  /** Summaries of `ids`, or null when the source failed (frames then go out without session data). */
  private async readSummaries(ids: Set<string>, intervalMs = this.deps.config.METRICS_INTERVAL_MS): Promise<Summaries | null> {
    if (ids.size === 0) return new Map();
    try {
      const list = [...ids];
      const values = await this.withinTick(Promise.all(list.map((id) => this.deps.source.summary(id))), intervalMs);
      return new Map(list.map((id, i) => [id, values[i] ?? null]));
    } catch (err) {
      this.noteFailure(err);
      return null;
    }
  }

  /**
   * Bound a read to most of one interval: a slow or unreachable Redis must not stall the frames
   * the contract promises at a fixed rate.
   */
  private withinTick<T>(promise: Promise<T>, intervalMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('session state read timed out')), Math.max(10, intervalMs * 0.8));
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private async guard(kind: 'metrics' | 'dashboard', tick: () => Promise<void>): Promise<void> {
    const busy = kind === 'metrics' ? this.metricsBusy : this.dashboardBusy;
    if (busy) return; // the previous tick is still reading; never pile up reads behind a slow Redis
    this.setBusy(kind, true);
    try {
      await tick();
    } catch (err) {
      this.deps.logger.error({ err, tick: kind }, 'tick failed');
    } finally {
      this.setBusy(kind, false);
    }
  }

  private setBusy(kind: 'metrics' | 'dashboard', value: boolean): void {
    if (kind === 'metrics') this.metricsBusy = value;
    else this.dashboardBusy = value;
  }

  private noteFailure(err: unknown): void {
    const now = Date.now();
    if (now - this.lastFailureLog < FAILURE_LOG_EVERY_MS) return;
    this.lastFailureLog = now;
    this.deps.logger.warn({ err: (err as Error).message }, 'could not read session state for live frames');
  }
}

function frame(envelope: object): string {
  return JSON.stringify(envelope);
}

type MetricsFigures = HostFigures & { throughput_ops: number; connections: number };

/** A filtered socket's metrics: the host figures plus its session's live state (when readable). */
export function sessionMetrics(figures: MetricsFigures, summary: SessionSummary | null | undefined): EventData<'metrics'> {
  if (summary === undefined) return { metrics: { ...figures }, phase: null };
  return {
    metrics: {
      ...figures,
      status: summary?.status ?? null,
      current_phase: summary?.current_phase ?? null,
      progress_percent: summary?.progress_percent ?? null,
      active_agents: summary?.active_agents ?? null,
    },
    phase: summary?.current_phase ?? null,
  };
}

export function sessionDashboard(summary: SessionSummary | null): EventData<'dashboard_update'> {
  return {
    pipeline_status: summary?.status ?? null,
    current_phase: summary?.current_phase ?? null,
    progress_percent: summary?.progress_percent ?? 0,
    active_agents: summary?.active_agents ?? 0,
    metrics: summary?.metrics ?? {},
  };
}

/**
 * The unfiltered dashboard: every active session at a glance. `state` is null when session state
 * could not be read this tick; the frame then says so instead of reporting zero sessions.
 */
export function overviewDashboard(
  state: { activeIds: string[]; summaries: Summaries } | null,
): EventData<'dashboard_update'> {
  const known: Array<{ id: string; summary: SessionSummary }> = [];
  for (const id of state?.activeIds ?? []) {
    const summary = state?.summaries.get(id);
    if (summary) known.push({ id, summary });
  }
  const totalProgress = known.reduce((sum, s) => sum + s.summary.progress_percent, 0);
  return {
    pipeline_status: null,
    current_phase: null,
    progress_percent: known.length > 0 ? round2(totalProgress / known.length) : 0,
    active_agents: known.reduce((sum, s) => sum + s.summary.active_agents, 0),
    metrics: {
      active_sessions: known.length,
      sessions: known.slice(0, MAX_LISTED_SESSIONS).map(({ id, summary }) => ({
        session_id: id,
        status: summary.status,
        current_phase: summary.current_phase,
        progress_percent: summary.progress_percent,
      })),
      sessions_truncated: known.length > MAX_LISTED_SESSIONS,
      ...(state === null ? { state_unavailable: true } : {}),
    },
  };
}
