import type { PipelinePhase } from '@agent-forge/contracts';
import { assertTenant } from './tenant';

/**
 * Every Redis key and channel name of Agent Forge. All keys of one session share the hash tag
 * `{s:<id>}` so the multi-key Lua scripts run on one Redis Cluster slot.
 */
export class Keys {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error('key prefix must not contain braces');
  }

  private s(sessionId: string): string {
    return `${this.prefix}:{s:${sessionId}}`;
  }
  session(sessionId: string): string {
    return `${this.s(sessionId)}:session`;
  }
  phase(sessionId: string, phase: PipelinePhase): string {
    return `${this.s(sessionId)}:phase:${phase}`;
  }
  agents(sessionId: string): string {
    return `${this.s(sessionId)}:agents`;
  }
  /** The session's capped event stream: its entry ids are the events' `event_id`s. */
  events(sessionId: string): string {
    return `${this.s(sessionId)}:events`;
  }
  /** Checkpoint ids of one session, scored by creation time. */
  sessionCheckpoints(sessionId: string): string {
    return `${this.s(sessionId)}:checkpoints`;
  }
  /** A checkpoint lives in its session's slot so saving it reads and writes one slot only. */
  checkpoint(sessionId: string, checkpointId: string): string {
    return `${this.s(sessionId)}:checkpoint:${checkpointId}`;
  }
  /**
   * checkpoint id → session id, so an admin can load a checkpoint by its id alone. One small key
   * per checkpoint (not one hash) so it can expire with its session.
   */
  checkpointOwner(checkpointId: string): string {
    return `${this.prefix}:checkpoint-owner:${checkpointId}`;
  }
  /** History records of finished sessions (id → JSON), kept after the session's own keys expire. */
  historyEntries(): string {
    return `${this.prefix}:{history}:entries`;
  }
  /**
   * All sessions of every tenant by start time (ms): what an admin lists. Shares a hash tag with
   * the records and the tenants' histories so recording and trimming is one script.
   */
  history(): string {
    return `${this.prefix}:{history}`;
  }
  /** Ids of sessions of every tenant not yet in a terminal status. */
  active(): string {
    return `${this.prefix}:active`;
  }

  // ── per tenant ──────────────────────────────────────────────────────────────────────────
  // Everything a tenant may list lives under `<prefix>:tenant:<tenant>:…`, so a tenant's reads
  // touch only its own indexes (tenant names cannot contain ':' or braces, see TENANT_PATTERN).

  private t(tenant: string): string {
    assertTenant(tenant);
    return `${this.prefix}:tenant:${tenant}`;
  }
  /** One tenant's sessions by start time (ms); in the `{history}` slot with the other history keys. */
  tenantHistory(tenant: string): string {
    assertTenant(tenant);
    return `${this.prefix}:{history}:tenant:${tenant}`;
  }
  /** One tenant's non-terminal sessions. */
  tenantActive(tenant: string): string {
    return `${this.t(tenant)}:active`;
  }
  /** checkpoint id → session id, for one tenant's checkpoints only (expires with the session). */
  tenantCheckpointOwner(tenant: string, checkpointId: string): string {
    return `${this.t(tenant)}:checkpoint-owner:${checkpointId}`;
  }
  /** One tenant's saved presets (name → JSON) and built-in usage records. */
  tenantPresets(tenant: string): string {
    return `${this.t(tenant)}:presets`;
  }
  /** One tenant's audit entries (a capped stream; the same entries are in `audit()`). */
  tenantAudit(tenant: string): string {
    return `${this.t(tenant)}:audit`;
  }
  /** One tenant's API key ids by creation time. */
  tenantApiKeys(tenant: string): string {
    assertTenant(tenant);
    return `${this.prefix}:{apikeys}:tenant:${tenant}`;
  }

  // ── security ────────────────────────────────────────────────────────────────────────────

  /** Every audit entry of every tenant (a capped stream). */
  audit(): string {
    return `${this.prefix}:audit`;
  }
  /** One API key: its hash, tenant, roles, timestamps (never the key itself). */
  apiKey(keyId: string): string {
    // One hash tag for every API key record and index: creating and revoking is one MULTI (Cluster).
    return `${this.prefix}:{apikeys}:key:${keyId}`;
  }
  /** Every API key id by creation time. */
  apiKeys(): string {
    return `${this.prefix}:{apikeys}`;
  }
  /**
   * One tenant's open WebSocket connections across every realtime replica: a sorted set of
   * `<replica>/<connection>` members scored by lease expiry (ms), so a dead replica's entries
   * lapse by themselves.
   */
  tenantConnections(tenant: string): string {
    return `${this.t(tenant)}:ws-connections`;
  }
  /** Key prefix of one rate-limit budget (rate-limiter-flexible appends the limited key). */
  rateLimit(budget: string): string {
    return `${this.prefix}:ratelimit:${budget}`;
  }

  /** Pub/sub: every event envelope (JSON, with its event_id) — the realtime replicas' doorbell. */
  eventsChannel(): string {
    return `${this.prefix}:events`;
  }
  /** Pub/sub: control messages `{session_id, action}` for the worker running a session's phase. */
  controlChannel(): string {
    return `${this.prefix}:control`;
  }
  /**
   * The lease of one GPU slot (value: the holder's token, TTL renewed while its phase runs). All
   * leases share the `{gpu}` hash tag, so listing a worker's slots is one slot's read on Cluster.
   */
  gpuLease(slotId: string): string {
    if (/[{}]/.test(slotId)) throw new Error('GPU slot id must not contain braces');
    return `${this.prefix}:{gpu}:lease:${slotId}`;
  }

  /** BullMQ prefix: one hash tag for every queue, so BullMQ's scripts never cross slots. */
  queuePrefix(): string {
    return `${this.prefix}:{queues}`;
  }
}
