import {
  CONTROL_TRANSITIONS,
  PipelinePhase,
  PipelineStatus,
  PIPELINE_PHASES,
  isTerminalStatus,
  type AgentStatus,
  type EventData,
  type ExecutionHistory,
  type ArtifactRef,
  type ControlAction,
  SwarmTopology,
} from '@agent-forge/contracts';
import { writeTogether } from '@agent-forge/runtime';
import type { Redis } from 'ioredis';
import { DEFAULT_STREAM_MAXLEN } from './events';
import { Keys } from './keys';
import { defineScripts, runScript } from './scripts';
import { ALL_TENANTS, DEFAULT_TENANT, assertTenant, inScope, type TenantScope } from './tenant';
import { isActiveAgent, toHistoryEntry, type DashboardSummary } from './views';

export interface NewSession {
  sessionId: string;
  /** The tenant that owns the session (and everything made from it). */
  tenant: string;
  phases: PipelinePhase[];
  config: Record<string, unknown>;
  enableMonitoring: boolean;
  enableCheckpoints: boolean;
  topology: SwarmTopology;
  maxAgents: number;
  preset: string | null;
}

/** A consistent point-in-time read of everything a session is made of (one MULTI). */
export interface SessionSnapshot {
  session: Record<string, string>;
  phases: Partial<Record<PipelinePhase, Record<string, string>>>;
  agents: AgentStatus[];
}

export type ControlResult =
  | { kind: 'not_found' }
  | { kind: 'invalid'; from: PipelineStatus }
  | { kind: 'gate_blocked'; from: PipelineStatus }
  | {
      kind: 'ok';
      from: PipelineStatus;
      to: PipelineStatus;
      enqueue: boolean;
      runGen: number;
      currentPhase: PipelinePhase | null;
      /** A forced resume passed a failed blocking quality gate: the reason the session had paused for. */
      gateOverridden: string | null;
    };

export interface ClaimedPhase {
  kind: 'run';
  resumeState: unknown;
  attempt: number;
  /** The session's pipeline config (JSON object as stored at start). */
  config: Record<string, unknown>;
  enableCheckpoints: boolean;
  /** Quality gates run after the phase (the session's `enable_monitoring`). */
  enableMonitoring: boolean;
  /** The last completed phase before this one, with its outputs; null for the first. */
  previous: { phase: PipelinePhase; metrics: Record<string, unknown>; artifacts: Record<string, ArtifactRef> } | null;
  /** The session's swarm: its topology and `max_agents` (from the start request). */
  topology: SwarmTopology;
  maxAgents: number;
  /** The session's phases in order (the worker knows the next one before completing this one). */
  phases: PipelinePhase[];
}

/**
 * What a worker already holds from an earlier claim of the same run generation: within one
 * generation the config and phases never change, so a further claim need not send them again.
 */
export type KnownSession = Pick<ClaimedPhase, 'config' | 'phases'>;

export type StartPhaseResult =
  | ClaimedPhase
  | { kind: 'parked' }
  | { kind: 'skip'; reason: string };

export type CompletePhaseResult =
  /** `claim`: the next phase as claimed for the chaining worker, when one was named. */
  | { kind: 'next'; phase: PipelinePhase; runGen: number; claim?: StartPhaseResult }
  | { kind: 'parked'; phase: PipelinePhase }
  | { kind: 'blocked'; phase: PipelinePhase | null }
  | { kind: 'completed' }
  | { kind: 'dup' }
  | { kind: 'stale'; reason: string };

export interface PhaseOutcome {
  customMetrics: Record<string, unknown>;
  durationSeconds: number;
  memoryMb: number;
  gpuUtilization: number | null;
  gateResults: unknown[];
  artifacts?: Record<string, ArtifactRef>;
  /** Set when a blocking quality gate failed: the session pauses with this reason. */
  blockedReason?: string;
  /** The phase's agent in its final state, recorded in the same round trip. */
  agent?: AgentStatus;
}

const now = () => new Date();

/** A session's stored `config` field (JSON written at start); {} when absent or unreadable. */
export function parseStoredConfig(raw: string | null | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Session state in Redis. Every status change is one Lua script over the session's keys (one
 * Cluster slot), so concurrent gateways and workers can never produce a status the transition
 * table forbids. Cross-slot indexes (history, active set) are updated after, idempotently.
 */
export interface SessionStoreOptions {
  /** Approximate length cap of each session's event stream. */
  streamMaxLen?: number;
  /** How long a finished session's keys (state, events, agents, checkpoints) are kept. */
  retentionSeconds?: number;
  /** History records kept (newest); older ones are trimmed. */
  historyMax?: number;
}

export const DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600;
export const DEFAULT_HISTORY_MAX = 10_000;

export class SessionStore {
  private readonly streamMaxLen: number;
  readonly retentionSeconds: number;
  private readonly historyMax: number;

  constructor(
    readonly redis: Redis,
    readonly keys: Keys,
    options: SessionStoreOptions = {},
  ) {
    this.streamMaxLen = options.streamMaxLen ?? DEFAULT_STREAM_MAXLEN;
    this.retentionSeconds = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    this.historyMax = options.historyMax ?? DEFAULT_HISTORY_MAX;
    // Scripts are defined up front: with auto-pipelining, a command defined after the current
    // tick's pipeline was made would be missing from it.
    defineScripts(this.redis);
  }

  /** KEYS of every session script: session, events, then the 8 phase hashes in canonical order. */
  private scriptKeys(sessionId: string): string[] {
    return [this.keys.session(sessionId), this.keys.events(sessionId), ...PIPELINE_PHASES.map((p) => this.keys.phase(sessionId, p))];
  }

  /** The claim and completion scripts also record the phase's agent. */
  private phaseScriptKeys(sessionId: string): string[] {
    return [...this.scriptKeys(sessionId), this.keys.agents(sessionId)];
  }

  async create(input: NewSession): Promise<void> {
    const at = now();
    const first = input.phases[0];
    if (!first) throw new Error('a session needs at least one phase');
    assertTenant(input.tenant);
    const fields: Record<string, string | number> = {
      session_id: input.sessionId,
      tenant: input.tenant,
      status: 'initializing',
      phases: JSON.stringify(input.phases),
      current_phase: first,
      phase_progress: 0,
      total_progress: 0,
      completed_count: 0,
      created_at: at.toISOString(),
      created_ms: at.getTime(),
      started_ms: at.getTime(),
      updated_at: at.toISOString(),
      ended_at: '',
      ended_ms: '',
      config: JSON.stringify(input.config),
      enable_monitoring: input.enableMonitoring ? '1' : '0',
      enable_checkpoints: input.enableCheckpoints ? '1' : '0',
      swarm_topology: input.topology,
      max_agents: input.maxAgents,
      preset: input.preset ?? '',
      run_gen: 1,
      parked: '0',
      status_reason: '',
      end_reason: '',
      last_checkpoint: '',
      active_agents: 0,
      worker_id: '',
    };
    // The session and its phase hashes in one script; then the indexes, which live in other
    // Cluster slots than the session (and than each other): separate commands, one socket write.
    await runScript(this.redis, 'createSession', this.scriptKeys(input.sessionId), Object.entries(fields).flat());
    await Promise.all(
      writeTogether(this.redis, () => [
        this.redis.zadd(this.keys.history(), at.getTime(), input.sessionId),
        this.redis.zadd(this.keys.tenantHistory(input.tenant), at.getTime(), input.sessionId),
        this.redis.sadd(this.keys.active(), input.sessionId),
        this.redis.sadd(this.keys.tenantActive(input.tenant), input.sessionId),
      ]),
    );
  }

  /** Does the session exist within `scope` (another tenant's reads as missing)? */
  async exists(sessionId: string, scope: TenantScope): Promise<boolean> {
    const [status, tenant] = await this.redis.hmget(this.keys.session(sessionId), 'status', 'tenant');
    return status !== null && inScope(scope, tenant);
  }

  /** The owning tenant, or null when the session does not exist. */
  async tenantOf(sessionId: string): Promise<string | null> {
    const [status, tenant] = await this.redis.hmget(this.keys.session(sessionId), 'status', 'tenant');
    return status === null ? null : tenant || DEFAULT_TENANT;
  }

  /**
   * A consistent read of the session, or null when it does not exist within `scope`: the tenant
   * check runs inside the snapshot script, so another tenant's session is never even read out.
   */
  async snapshot(sessionId: string, scope: TenantScope): Promise<SessionSnapshot | null> {
    return parseSnapshot(await runScript<string>(this.redis, 'snapshot', this.phaseScriptKeys(sessionId), [scope]));
  }

  async status(sessionId: string): Promise<PipelineStatus | null> {
    return (await this.redis.hget(this.keys.session(sessionId), 'status')) as PipelineStatus | null;
  }

  /**
   * Apply a control action; a session outside `scope` is `not_found` (checked inside the script).
   * `force` lets `resume` pass a failed blocking quality gate.
   */
  async control(sessionId: string, action: ControlAction, reason: string, scope: TenantScope, force = false): Promise<ControlResult> {
    const rule = CONTROL_TRANSITIONS[action];
    const at = now();
    const r = await runScript<string[]>(this.redis, 'control', this.scriptKeys(sessionId), [
      action,
      rule.from.join(','),
      rule.to,
      at.toISOString(),
      at.getTime(),
      this.keys.eventsChannel(),
      this.streamMaxLen,
      reason,
      this.keys.controlChannel(),
      scope,
      force ? '1' : '0',
    ]);
    if (r[0] === 'not_found') return { kind: 'not_found' };
    if (r[0] === 'invalid') return { kind: 'invalid', from: r[1] as PipelineStatus };
    if (r[0] === 'gate_blocked') return { kind: 'gate_blocked', from: r[1] as PipelineStatus };
    const to = r[2] as PipelineStatus;
    if (isTerminalStatus(to)) await this.finalize(sessionId);
    return {
      kind: 'ok',
      from: r[1] as PipelineStatus,
      to,
      enqueue: r[3] === '1',
      runGen: Number(r[4]),
      currentPhase: (r[5] || null) as PipelinePhase | null,
      gateOverridden: r[6] || null,
    };
  }

  /**
   * Claim a phase. `agent`, when the caller already knows the phase's agent, is recorded
   * (executing) in the same round trip when the claim succeeds; `known`: the session's config and
   * phases from an earlier claim of this run generation, not read again.
   */
  async startPhase(sessionId: string, phase: PipelinePhase, runGen: number, workerId: string, agent?: AgentStatus, known?: KnownSession): Promise<StartPhaseResult> {
    const at = now();
    const r = await runScript<(string | number)[]>(this.redis, 'startPhase', this.phaseScriptKeys(sessionId), [
      phase,
      runGen,
      workerId,
      at.toISOString(),
      at.getTime(),
      this.keys.eventsChannel(),
      this.streamMaxLen,
      ...agentArgv(agent),
      known ? '1' : '',
    ]);
    return parseClaim(r, known);
  }

  /** Returns the session's status after the step ('stale' when this job no longer owns the phase). */
  async progress(
    sessionId: string,
    phase: PipelinePhase,
    runGen: number,
    step: {
      percent: number;
      metrics: Record<string, unknown>;
      message: string;
      memoryMb: number;
      resumeState?: unknown;
      /** Latest measured utilisation of the phase's GPU; null/absent when it has none. */
      gpuUtilization?: number | null;
    },
  ): Promise<PipelineStatus | 'stale' | 'gone'> {
    const at = now();
    const r = await runScript<string[]>(this.redis, 'progress', this.scriptKeys(sessionId), [
      phase,
      runGen,
      Math.max(0, Math.min(100, step.percent)),
      JSON.stringify(step.metrics),
      step.message,
      at.toISOString(),
      at.getTime(),
      step.memoryMb,
      this.keys.eventsChannel(),
      this.streamMaxLen,
      step.resumeState === undefined ? '' : JSON.stringify(step.resumeState),
      step.gpuUtilization ?? '',
    ]);
    return r[0] as PipelineStatus | 'stale' | 'gone';
  }

  async park(sessionId: string, phase: PipelinePhase, runGen: number, resumeState: unknown): Promise<'parked' | 'continue' | 'stopped' | 'stale'> {
    const r = await runScript<string[]>(this.redis, 'park', this.scriptKeys(sessionId), [
      phase,
      runGen,
      resumeState === undefined ? '' : JSON.stringify(resumeState),
      now().toISOString(),
    ]);
    return r[0] as 'parked' | 'continue' | 'stopped' | 'stale';
  }

  /**
   * Record a completed phase. With `chain`, a next phase is claimed for that worker in the same
   * script (phase chaining: the caller runs it in the same job instead of enqueuing it).
   */
  async completePhase(
    sessionId: string,
    phase: PipelinePhase,
    runGen: number,
    jobId: string,
    outcome: PhaseOutcome,
    chain?: { workerId: string; agent: AgentStatus; known: KnownSession },
  ): Promise<CompletePhaseResult> {
    const at = now();
    const r = await runScript<string[]>(this.redis, 'completePhase', this.phaseScriptKeys(sessionId), [
      phase,
      runGen,
      jobId,
      JSON.stringify(outcome.customMetrics),
      outcome.durationSeconds,
      outcome.memoryMb,
      JSON.stringify(outcome.gateResults),
      at.toISOString(),
      at.getTime(),
      this.keys.eventsChannel(),
      this.streamMaxLen,
      outcome.gpuUtilization ?? '',
      JSON.stringify(outcome.artifacts ?? {}),
      outcome.blockedReason ? '1' : '0',
      outcome.blockedReason ?? '',
      ...agentArgv(outcome.agent),
      chain?.workerId ?? '',
      ...agentArgv(chain?.agent),
    ]);
    switch (r[0]) {
      case 'next':
        return { kind: 'next', phase: r[1] as PipelinePhase, runGen: Number(r[2]), ...(r.length > 3 ? { claim: parseClaim(r.slice(3), chain?.known) } : {}) };
      case 'parked':
        return { kind: 'parked', phase: r[1] as PipelinePhase };
      case 'blocked':
        return { kind: 'blocked', phase: (r[1] || null) as PipelinePhase | null };
      case 'completed':
        await this.finalize(sessionId);
        return { kind: 'completed' };
      case 'dup':
        return { kind: 'dup' };
      default:
        return { kind: 'stale', reason: String(r[1]) };
    }
  }

  async failPhase(
    sessionId: string,
    phase: PipelinePhase,
    runGen: number,
    error: { code: string; message: string; durationSeconds: number },
  ): Promise<'failed' | 'stale'> {
    const at = now();
    const r = await runScript<string[]>(this.redis, 'failPhase', this.scriptKeys(sessionId), [
      phase,
      runGen,
      error.code,
      error.message,
      error.durationSeconds,
      at.toISOString(),
      at.getTime(),
      this.keys.eventsChannel(),
      this.streamMaxLen,
    ]);
    if (r[0] === 'failed') {
      await this.finalize(sessionId);
      return 'failed';
    }
    return 'stale';
  }

  /** Restore from a snapshot; 'busy' when the target session is live. */
  async restore(snapshot: SessionSnapshot): Promise<{ kind: 'busy'; status: PipelineStatus } | { kind: 'ok'; runGen: number; nextPhase: PipelinePhase | null }> {
    const sessionId = snapshot.session.session_id;
    if (!sessionId) throw new Error('snapshot has no session_id');
    const at = now();
    const r = await runScript<string[]>(this.redis, 'restore', this.scriptKeys(sessionId), [
      JSON.stringify({ session: snapshot.session, phases: snapshot.phases }),
      at.toISOString(),
      at.getTime(),
      this.keys.eventsChannel(),
      this.streamMaxLen,
    ]);
    if (r[0] === 'busy') return { kind: 'busy', status: r[1] as PipelineStatus };
    const nextPhase = (r[2] || null) as PipelinePhase | null;
    const created = Number(snapshot.session.created_ms) || at.getTime();
    const tenant = snapshot.session.tenant || DEFAULT_TENANT;
    // Live again: its kept keys no longer expire, and its history comes from the live session.
    // One pipeline per Cluster slot (ioredis refuses a pipeline whose keys span nodes): the
    // session's own keys, the history keys ({history}), the active sets, each checkpoint's owner keys.
    const checkpointIds = await this.redis.zrange(this.keys.sessionCheckpoints(sessionId), '0', '-1');
    const sessionSlot = this.redis
      .pipeline()
      .del(this.keys.agents(sessionId))
      .persist(this.keys.events(sessionId))
      .persist(this.keys.sessionCheckpoints(sessionId));
    for (const id of checkpointIds) sessionSlot.persist(this.keys.checkpoint(sessionId, id));
    const active = (key: string) => (nextPhase ? this.redis.sadd(key, sessionId) : this.redis.srem(key, sessionId));
    await Promise.all([
      sessionSlot.exec(),
      this.redis
        .pipeline()
        .zadd(this.keys.history(), created, sessionId)
        .zadd(this.keys.tenantHistory(tenant), created, sessionId)
        .hdel(this.keys.historyEntries(), sessionId)
        .exec(),
      active(this.keys.active()),
      active(this.keys.tenantActive(tenant)),
      ...checkpointIds.flatMap((id) => [this.redis.persist(this.keys.checkpointOwner(id)), this.redis.persist(this.keys.tenantCheckpointOwner(tenant, id))]),
    ]);
    if (!nextPhase) await this.finalize(sessionId);
    return { kind: 'ok', runGen: Number(r[1]), nextPhase };
  }

  /**
   * A session reached a terminal status: it leaves the active set, its history record is written
   * (it outlives the session), and every key of the session expires after the retention period.
   */
  async finalize(sessionId: string): Promise<void> {
    // Two round trips: the session read and set to expire in one script, then the indexes, the
    // checkpoints' keys and the history record, sent together (they live in other Cluster slots).
    const ttlMs = this.retentionSeconds * 1000;
    const reply = await runScript<string[]>(this.redis, 'finalizeSession', [...this.phaseScriptKeys(sessionId), this.keys.sessionCheckpoints(sessionId)], [ttlMs]);
    const snap = parseSnapshot(reply[0]);
    const tenant = snap?.session.tenant || DEFAULT_TENANT;
    const terminal = reply[1] === '1';
    const checkpointIds = reply.slice(2);
    await Promise.all(
      writeTogether(this.redis, () => [
        this.redis.srem(this.keys.active(), sessionId),
        this.redis.srem(this.keys.tenantActive(tenant), sessionId),
        ...(snap && terminal
          ? [
              ...checkpointIds.map((id) => this.redis.pexpire(this.keys.checkpoint(sessionId, id), ttlMs)),
              // Each owner key is in a slot of its own (Cluster).
              ...checkpointIds.flatMap((id) => [this.redis.pexpire(this.keys.checkpointOwner(id), ttlMs), this.redis.pexpire(this.keys.tenantCheckpointOwner(tenant, id), ttlMs)]),
              // History outlives the session and is capped in count: the oldest records beyond the cap go.
              runScript(this.redis, 'recordHistory', [this.keys.history(), this.keys.historyEntries(), this.keys.tenantHistory(tenant)], [
                sessionId,
                JSON.stringify({ ...toHistoryEntry(snap), tenant }),
                this.historyMax,
              ]),
            ]
          : []),
      ]),
    );
  }

  /**
   * The history record of a session within `scope`: from the live session, else the record kept
   * after it expired (which remembers its tenant, so scoping still holds).
   */
  async historyEntry(sessionId: string, scope: TenantScope): Promise<ExecutionHistory | null> {
    const snap = await this.snapshot(sessionId, scope);
    if (snap) return toHistoryEntry(snap);
    const raw = await this.redis.hget(this.keys.historyEntries(), sessionId);
    if (!raw) return null;
    const { tenant, ...entry } = JSON.parse(raw) as ExecutionHistory & { tenant?: string };
    return inScope(scope, tenant ?? DEFAULT_TENANT) ? entry : null;
  }

  async setField(sessionId: string, field: string, value: string | number): Promise<void> {
    await this.redis.hset(this.keys.session(sessionId), field, value);
  }

  // ── agents ──────────────────────────────────────────────────────────────────────────────

  /**
   * Record an agent's latest state and emit its agent_update event, in one script (the session's
   * `active_agents` count follows from the agents hash). Nothing is written for a vanished session.
   */
  async updateAgent(sessionId: string, agent: AgentStatus): Promise<void> {
    await runScript(this.redis, 'agentUpdate', [this.keys.session(sessionId), this.keys.events(sessionId), this.keys.agents(sessionId)], [
      ...agentArgv(agent),
      now().toISOString(),
      this.keys.eventsChannel(),
      this.streamMaxLen,
    ]);
  }

  // ── indexes ─────────────────────────────────────────────────────────────────────────────

  /** Non-terminal sessions of `scope` (one tenant's own index, or every tenant's). */
  async activeSessionIds(scope: TenantScope): Promise<string[]> {
    return this.redis.smembers(scope === ALL_TENANTS ? this.keys.active() : this.keys.tenantActive(scope));
  }

  /** Session ids of `scope` newest first, in pages (history is filtered by the caller before the limit). */
  async *historyIds(scope: TenantScope, pageSize = 100): AsyncGenerator<string> {
    const key = scope === ALL_TENANTS ? this.keys.history() : this.keys.tenantHistory(scope);
    let offset = 0;
    for (;;) {
      const ids = await this.redis.zrevrange(key, offset, offset + pageSize - 1);
      for (const id of ids) yield id;
      if (ids.length < pageSize) return;
      offset += pageSize;
    }
  }

  /** The compact live view dashboards show; null when the session is unknown. */
  async summary(sessionId: string): Promise<DashboardSummary | null> {
    const [status, phase, progress, agents, tenant] = await this.redis.hmget(
      this.keys.session(sessionId),
      'status',
      'current_phase',
      'total_progress',
      'active_agents',
      'tenant',
    );
    const parsed = PipelineStatus.safeParse(status);
    if (!parsed.success) return null;
    const current = PipelinePhase.safeParse(phase);
    const pct = Number(progress);
    const agentCount = Number(agents);
    return {
      tenant: tenant || DEFAULT_TENANT,
      status: parsed.data,
      current_phase: current.success ? current.data : null,
      // Same rule as the status view: a completed run is 100 % whatever the last step said.
      progress_percent: parsed.data === 'completed' ? 100 : Number.isFinite(pct) ? Math.min(100, Math.max(0, Math.round(pct * 100) / 100)) : 0,
      active_agents: Number.isFinite(agentCount) ? Math.max(0, Math.trunc(agentCount)) : 0,
      metrics: {},
    };
  }

  /** The pipeline config the session was started with ({} when the session is gone). */
  async pipelineConfig(sessionId: string): Promise<Record<string, unknown>> {
    return parseStoredConfig(await this.redis.hget(this.keys.session(sessionId), 'config'));
  }

  async sessionFields(sessionId: string, fields: string[]): Promise<Record<string, string | null>> {
    const values = await this.redis.hmget(this.keys.session(sessionId), ...fields);
    return Object.fromEntries(fields.map((f, i) => [f, values[i] ?? null]));
  }
}

/** The snapshot scripts' document (includes/snapshot.lua); null for a missing session. */
function parseSnapshot(json: string | undefined): SessionSnapshot | null {
  if (!json) return null;
  const snap = JSON.parse(json) as SessionSnapshot;
  if (!snap.session.status) return null;
  snap.agents.sort((a, b) => a.agent_id.localeCompare(b.agent_id));
  return snap;
}

/** A claimPhase reply (includes/claim.lua) as the worker uses it. */
function parseClaim(r: (string | number)[], known?: KnownSession): StartPhaseResult {
  if (r[0] === 'run') {
    const [resume, attempt, config, checkpoints, prev, prevMetrics, prevArtifacts, monitoring, topology, maxAgents, phases] = String(r[1]).split('\x1f');
    return {
      kind: 'run',
      resumeState: resume ? JSON.parse(resume) : null,
      attempt: Number(attempt),
      config: known?.config ?? (JSON.parse(config || '{}') as Record<string, unknown>),
      enableCheckpoints: checkpoints === '1',
      enableMonitoring: monitoring !== '0',
      topology: (SwarmTopology.options as readonly string[]).includes(topology!) ? (topology as SwarmTopology) : 'hierarchical',
      maxAgents: Math.max(1, Number(maxAgents) || 1),
      previous: prev
        ? {
            phase: prev as PipelinePhase,
            metrics: prevMetrics ? (JSON.parse(prevMetrics) as Record<string, unknown>) : {},
            artifacts: prevArtifacts ? (JSON.parse(prevArtifacts) as Record<string, ArtifactRef>) : {},
          }
        : null,
      phases: known?.phases ?? (JSON.parse(phases || '[]') as PipelinePhase[]),
    };
  }
  if (r[0] === 'parked') return { kind: 'parked' };
  return { kind: 'skip', reason: String(r[1] ?? r[0]) };
}

/**
 * An agent as the scripts take it (includes/agent.lua, four ARGV slots): its id, its record, whether
 * it counts as active, and its agent_update event data — built here so the script decodes nothing.
 */
function agentArgv(agent: AgentStatus | undefined): string[] {
  if (!agent) return ['', '', '', ''];
  const data: EventData<'agent_update'> = {
    agent_id: agent.agent_id,
    role: agent.role,
    phase: agent.phase,
    state: agent.state,
    task: agent.current_task,
    memory_usage_mb: agent.memory_usage_mb,
    cpu_usage_percent: agent.cpu_usage_percent,
  };
  return [agent.agent_id, JSON.stringify(agent), isActiveAgent(agent) ? '1' : '0', JSON.stringify(data)];
}
