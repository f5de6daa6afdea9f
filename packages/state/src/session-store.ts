import {
  CONTROL_TRANSITIONS,
  PipelinePhase,
  PipelineStatus,
  PIPELINE_PHASES,
  isTerminalStatus,
  type AgentStatus,
  type ArtifactRef,
  type ControlAction,
  type SwarmTopology,
} from '@agent-forge/contracts';
import type { Redis } from 'ioredis';
import { DEFAULT_STREAM_MAXLEN } from './events';
import { Keys } from './keys';
import { defineScripts, runScript } from './scripts';
import { ALL_TENANTS, DEFAULT_TENANT, assertTenant, inScope, type TenantScope } from './tenant';
import type { DashboardSummary } from './views';

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
  | { kind: 'ok'; from: PipelineStatus; to: PipelineStatus; enqueue: boolean; runGen: number; currentPhase: PipelinePhase | null };

export type StartPhaseResult =
  | { kind: 'run'; resumeState: unknown; attempt: number }
  | { kind: 'parked' }
  | { kind: 'skip'; reason: string };

export type CompletePhaseResult =
  | { kind: 'next'; phase: PipelinePhase; runGen: number }
  | { kind: 'parked'; phase: PipelinePhase }
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
}

const now = () => new Date();

function pairsToObject(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

/**
 * Session state in Redis. Every status change is one Lua script over the session's keys (one
 * Cluster slot), so concurrent gateways and workers can never produce a status the transition
 * table forbids. Cross-slot indexes (history, active set) are updated after, idempotently.
 */
export class SessionStore {
  constructor(
    readonly redis: Redis,
    readonly keys: Keys,
    private readonly streamMaxLen = DEFAULT_STREAM_MAXLEN,
  ) {
    // Scripts are defined up front: with auto-pipelining, a command defined after the current
    // tick's pipeline was made would be missing from it.
    defineScripts(this.redis);
  }

  /** KEYS of every session script: session, events, then the 8 phase hashes in canonical order. */
  private scriptKeys(sessionId: string): string[] {
    return [this.keys.session(sessionId), this.keys.events(sessionId), ...PIPELINE_PHASES.map((p) => this.keys.phase(sessionId, p))];
  }

  async create(input: NewSession): Promise<void> {
    const at = now();
    const first = input.phases[0];
    if (!first) throw new Error('a session needs at least one phase');
    assertTenant(input.tenant);
    const tx = this.redis.multi();
    tx.hset(this.keys.session(input.sessionId), {
      session_id: input.sessionId,
      tenant: input.tenant,
      status: 'initializing',
      phases: JSON.stringify(input.phases),
      current_phase: first,
      phase_progress: 0,
      total_progress: 0,
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
    });
    for (const phase of input.phases) {
      tx.hset(this.keys.phase(input.sessionId, phase), { status: 'pending', progress: 0, attempts: 0 });
    }
    await tx.exec();
    await this.redis
      .pipeline()
      .zadd(this.keys.history(), at.getTime(), input.sessionId)
      .zadd(this.keys.tenantHistory(input.tenant), at.getTime(), input.sessionId)
      .sadd(this.keys.active(), input.sessionId)
      .sadd(this.keys.tenantActive(input.tenant), input.sessionId)
      .exec();
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
    const reply = await runScript<unknown[]>(this.redis, 'snapshot', [...this.scriptKeys(sessionId), this.keys.agents(sessionId)], [scope]);
    if (reply.length === 0) return null;
    const session = pairsToObject(reply[0] as string[]);
    if (!session.status) return null;
    const phases: SessionSnapshot['phases'] = {};
    let agents: AgentStatus[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const name = reply[i] as string;
      const fields = pairsToObject(reply[i + 1] as string[]);
      if (name === '__agents') agents = Object.values(fields).map((v) => JSON.parse(v) as AgentStatus);
      else phases[name as PipelinePhase] = fields;
    }
    agents.sort((a, b) => a.agent_id.localeCompare(b.agent_id));
    return { session, phases, agents };
  }

  async status(sessionId: string): Promise<PipelineStatus | null> {
    return (await this.redis.hget(this.keys.session(sessionId), 'status')) as PipelineStatus | null;
  }

  /** Apply a control action; a session outside `scope` is `not_found` (checked inside the script). */
  async control(sessionId: string, action: ControlAction, reason: string, scope: TenantScope): Promise<ControlResult> {
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
    ]);
    if (r[0] === 'not_found') return { kind: 'not_found' };
    if (r[0] === 'invalid') return { kind: 'invalid', from: r[1] as PipelineStatus };
    const to = r[2] as PipelineStatus;
    if (isTerminalStatus(to)) await this.dropActive(sessionId);
    return {
      kind: 'ok',
      from: r[1] as PipelineStatus,
      to,
      enqueue: r[3] === '1',
      runGen: Number(r[4]),
      currentPhase: (r[5] || null) as PipelinePhase | null,
    };
  }

  async startPhase(sessionId: string, phase: PipelinePhase, runGen: number, workerId: string): Promise<StartPhaseResult> {
    const at = now();
    const r = await runScript<(string | number)[]>(this.redis, 'startPhase', this.scriptKeys(sessionId), [
      phase,
      runGen,
      workerId,
      at.toISOString(),
      at.getTime(),
      this.keys.eventsChannel(),
      this.streamMaxLen,
    ]);
    if (r[0] === 'run') return { kind: 'run', resumeState: r[1] ? JSON.parse(String(r[1])) : null, attempt: Number(r[2]) };
    if (r[0] === 'parked') return { kind: 'parked' };
    return { kind: 'skip', reason: String(r[1] ?? r[0]) };
  }

  /** Returns the session's status after the step ('stale' when this job no longer owns the phase). */
  async progress(
    sessionId: string,
    phase: PipelinePhase,
    runGen: number,
    step: { percent: number; metrics: Record<string, unknown>; message: string; memoryMb: number; resumeState?: unknown },
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

  async completePhase(sessionId: string, phase: PipelinePhase, runGen: number, jobId: string, outcome: PhaseOutcome): Promise<CompletePhaseResult> {
    const at = now();
    const r = await runScript<string[]>(this.redis, 'completePhase', this.scriptKeys(sessionId), [
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
    ]);
    switch (r[0]) {
      case 'next':
        return { kind: 'next', phase: r[1] as PipelinePhase, runGen: Number(r[2]) };
      case 'parked':
        return { kind: 'parked', phase: r[1] as PipelinePhase };
      case 'completed':
        await this.dropActive(sessionId);
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
      await this.dropActive(sessionId);
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
    const p = this.redis
      .pipeline()
      .del(this.keys.agents(sessionId))
      .zadd(this.keys.history(), created, sessionId)
      .zadd(this.keys.tenantHistory(tenant), created, sessionId);
    if (nextPhase) p.sadd(this.keys.active(), sessionId).sadd(this.keys.tenantActive(tenant), sessionId);
    else p.srem(this.keys.active(), sessionId).srem(this.keys.tenantActive(tenant), sessionId);
    await p.exec();
    return { kind: 'ok', runGen: Number(r[1]), nextPhase };
  }

  async setField(sessionId: string, field: string, value: string | number): Promise<void> {
    await this.redis.hset(this.keys.session(sessionId), field, value);
  }

  // ── agents ──────────────────────────────────────────────────────────────────────────────

  /** Record agents' latest state; the session's `active_agents` count follows from the agents hash. */
  async upsertAgents(sessionId: string, agents: AgentStatus[]): Promise<void> {
    if (agents.length === 0) return;
    const fields: Record<string, string> = {};
    for (const a of agents) fields[a.agent_id] = JSON.stringify(a);
    const [, all] = await Promise.all([
      this.redis.hset(this.keys.agents(sessionId), fields),
      this.redis.hvals(this.keys.agents(sessionId)),
    ]);
    const merged = new Map(all.map((v) => JSON.parse(v) as AgentStatus).map((a) => [a.agent_id, a]));
    for (const a of agents) merged.set(a.agent_id, a);
    const active = [...merged.values()].filter((a) => a.state === 'active' || a.state === 'executing').length;
    await this.redis.hset(this.keys.session(sessionId), 'active_agents', active);
  }

  // ── indexes ─────────────────────────────────────────────────────────────────────────────

  /** A session left the active set: out of the global and its tenant's index (idempotent). */
  private async dropActive(sessionId: string): Promise<void> {
    const tenant = (await this.redis.hget(this.keys.session(sessionId), 'tenant')) || DEFAULT_TENANT;
    await this.redis.pipeline().srem(this.keys.active(), sessionId).srem(this.keys.tenantActive(tenant), sessionId).exec();
  }

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

  async sessionFields(sessionId: string, fields: string[]): Promise<Record<string, string | null>> {
    const values = await this.redis.hmget(this.keys.session(sessionId), ...fields);
    return Object.fromEntries(fields.map((f, i) => [f, values[i] ?? null]));
  }
}
