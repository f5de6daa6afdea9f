import { randomUUID } from 'node:crypto';
import type { ArtifactRef, CheckpointResponse, PipelinePhase } from '@agent-forge/contracts';
import { writeTogether } from '@agent-forge/runtime';
import type { Redis } from 'ioredis';
import { Keys } from './keys';
import { SessionStore, type SessionSnapshot } from './session-store';
import { ALL_TENANTS, DEFAULT_TENANT, inScope, type TenantScope } from './tenant';

export interface SaveCheckpointOptions {
  name: string | null;
  includeModelState: boolean;
  includeSwarmState: boolean;
  /** The Redis URL (credentials stripped) used to build the checkpoint's `path` URI. */
  uriBase: string;
}

interface StoredCheckpoint {
  checkpoint_id: string;
  session_id: string;
  tenant: string;
  name: string;
  phase: string;
  created_at: string;
  size_bytes: string;
  model_included: string;
  swarm_included: string;
  path: string;
  snapshot: string;
}

/**
 * Checkpoints: a consistent snapshot (one MULTI read) of a session's state, phase results and
 * swarm, stored as JSON in the session's slot. Model weights stay in the artifact store; the
 * snapshot holds their references (URI + checksum). `size_mb` is the real size of what the
 * checkpoint holds: the serialized snapshot plus, with model state, the referenced artifacts.
 */
export class CheckpointStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly sessions: SessionStore,
  ) {}

  /** Save a checkpoint of a session visible in `scope`; null when it is not (missing or another tenant's). */
  async save(sessionId: string, opts: SaveCheckpointOptions, scope: TenantScope): Promise<CheckpointResponse | null> {
    // A checkpoint of a finished session expires with it (the session's TTL is set when it ends).
    const [snap, ttl] = await Promise.all(writeTogether(this.redis, () => [this.sessions.snapshot(sessionId, scope), this.redis.pttl(this.keys.session(sessionId))] as const));
    if (!snap) return null;
    const tenant = snap.session.tenant || DEFAULT_TENANT;
    const checkpointId = randomUUID();
    const at = new Date();
    const stored: SessionSnapshot = {
      session: snap.session,
      // Without model state, phase outputs (metrics, in-phase resume state) are left out.
      phases: opts.includeModelState
        ? snap.phases
        : Object.fromEntries(Object.entries(snap.phases).map(([p, h]) => [p, { status: h?.status ?? 'pending' }])),
      agents: opts.includeSwarmState ? snap.agents : [],
    };
    const serialized = JSON.stringify(stored);
    const artifactBytes = opts.includeModelState ? [...artifactRefs(stored).values()].reduce((n, r) => n + r.size_bytes, 0) : 0;
    const sizeBytes = Buffer.byteLength(serialized, 'utf8') + artifactBytes;
    const phase = (snap.session.current_phase || lastCompleted(snap) || '') as string;
    const path = `${opts.uriBase.replace(/\/+$/, '')}/${this.keys.checkpoint(sessionId, checkpointId)}`;
    const record: StoredCheckpoint = {
      checkpoint_id: checkpointId,
      session_id: sessionId,
      tenant,
      name: opts.name ?? '',
      phase,
      created_at: at.toISOString(),
      size_bytes: String(sizeBytes),
      model_included: opts.includeModelState ? '1' : '0',
      swarm_included: opts.includeSwarmState ? '1' : '0',
      path,
      snapshot: serialized,
    };
    const tx = this.redis
      .multi()
      .hset(this.keys.checkpoint(sessionId, checkpointId), record as unknown as Record<string, string>)
      .zadd(this.keys.sessionCheckpoints(sessionId), at.getTime(), checkpointId)
      .hset(this.keys.session(sessionId), 'last_checkpoint', checkpointId);
    if (ttl > 0) tx.pexpire(this.keys.checkpoint(sessionId, checkpointId), ttl).pexpire(this.keys.sessionCheckpoints(sessionId), ttl);
    // Owner keys — global for admins, per tenant for the tenant's own lookups — expire with the
    // session. Each is in a slot of its own (Cluster): separate commands, sent together.
    const owners = [this.keys.checkpointOwner(checkpointId), this.keys.tenantCheckpointOwner(tenant, checkpointId)];
    await Promise.all(writeTogether(this.redis, () => [tx.exec(), ...owners.map((key) => (ttl > 0 ? this.redis.set(key, sessionId, 'PX', ttl) : this.redis.set(key, sessionId)))]));
    return toResponse(record);
  }

  /**
   * A checkpoint by id within `scope`: a tenant looks it up among its own owner keys only, so
   * another tenant's checkpoint id is simply unknown; the record's own tenant is checked as well.
   */
  async get(checkpointId: string, scope: TenantScope): Promise<{ response: CheckpointResponse; snapshot: SessionSnapshot } | null> {
    const ownerKey = scope === ALL_TENANTS ? this.keys.checkpointOwner(checkpointId) : this.keys.tenantCheckpointOwner(scope, checkpointId);
    const sessionId = await this.redis.get(ownerKey);
    if (!sessionId) return null;
    const record = (await this.redis.hgetall(this.keys.checkpoint(sessionId, checkpointId))) as unknown as StoredCheckpoint;
    if (!record.snapshot || !inScope(scope, record.tenant)) return null;
    return { response: toResponse(record), snapshot: JSON.parse(record.snapshot) as SessionSnapshot };
  }

  /**
   * Keep the newest `keep` checkpoints of a session, delete the rest. Returns the ids deleted.
   * (Artifacts they referenced are collected by `referencedArtifacts` + the artifact store's GC.)
   */
  async prune(sessionId: string, keep: number): Promise<string[]> {
    // Two round trips, each sent in one write: what to drop (and whose owner keys), then the drop.
    const [old, tenant] = await Promise.all(
      writeTogether(this.redis, () => [this.redis.zrange(this.keys.sessionCheckpoints(sessionId), '0', String(-(keep + 1))), this.sessions.tenantOf(sessionId)] as const),
    );
    if (old.length === 0) return [];
    const owner = tenant ?? DEFAULT_TENANT;
    const tx = this.redis.multi().zrem(this.keys.sessionCheckpoints(sessionId), ...old);
    for (const id of old) tx.del(this.keys.checkpoint(sessionId, id));
    // One slot per owner key (Redis Cluster): one UNLINK each, never a multi-key UNLINK.
    await Promise.all(
      writeTogether(this.redis, () => [
        tx.exec(),
        ...old.flatMap((id) => [this.redis.unlink(this.keys.checkpointOwner(id)), this.redis.unlink(this.keys.tenantCheckpointOwner(owner, id))]),
      ]),
    );
    return old;
  }

  /** URIs of every artifact the session still needs: its live phases' and its retained checkpoints'. */
  async referencedArtifacts(sessionId: string): Promise<Set<string>> {
    const uris = new Set<string>();
    const [live, ids] = await Promise.all(
      writeTogether(this.redis, () => [this.sessions.snapshot(sessionId, ALL_TENANTS), this.redis.zrange(this.keys.sessionCheckpoints(sessionId), '0', '-1')] as const),
    );
    if (live) for (const uri of artifactRefs(live).keys()) uris.add(uri);
    if (ids.length === 0) return uris;
    // The session's own slot: one pipeline for every retained checkpoint.
    const reads = this.redis.pipeline();
    for (const id of ids) reads.hget(this.keys.checkpoint(sessionId, id), 'snapshot');
    for (const [err, raw] of (await reads.exec()) ?? []) {
      if (err) throw err;
      if (typeof raw !== 'string' || !raw) continue;
      for (const uri of artifactRefs(JSON.parse(raw) as SessionSnapshot).keys()) uris.add(uri);
    }
    return uris;
  }

  /**
   * A session's checkpoints, newest first; null when the session is not visible in `scope` (it does
   * not exist and has no checkpoints, or it belongs to another tenant).
   */
  async listForSession(sessionId: string, scope: TenantScope): Promise<CheckpointResponse[] | null> {
    const ids = await this.redis.zrevrange(this.keys.sessionCheckpoints(sessionId), 0, -1);
    const out: CheckpointResponse[] = [];
    let owner = await this.sessions.tenantOf(sessionId);
    for (const id of ids) {
      const fields = await this.redis.hmget(this.keys.checkpoint(sessionId, id), 'checkpoint_id', 'session_id', 'name', 'phase', 'created_at', 'size_bytes', 'model_included', 'swarm_included', 'path', 'tenant');
      if (!fields[0]) continue;
      const [checkpoint_id, session_id, name, phase, created_at, size_bytes, model_included, swarm_included, path, tenant] = fields as string[];
      owner ??= tenant || DEFAULT_TENANT;
      out.push(toResponse({ checkpoint_id, session_id, tenant, name, phase, created_at, size_bytes, model_included, swarm_included, path, snapshot: '' } as StoredCheckpoint));
    }
    if (owner === null || !inScope(scope, owner)) return null;
    return out;
  }
}

/** Every artifact a snapshot references (by URI), from its phases' `artifacts` fields. */
export function artifactRefs(snap: Pick<SessionSnapshot, 'phases'>): Map<string, ArtifactRef> {
  const out = new Map<string, ArtifactRef>();
  for (const h of Object.values(snap.phases)) {
    if (!h?.artifacts) continue;
    try {
      for (const ref of Object.values(JSON.parse(h.artifacts) as Record<string, ArtifactRef>)) out.set(ref.uri, ref);
    } catch {
      // a malformed field references nothing
    }
  }
  return out;
}

function lastCompleted(snap: SessionSnapshot): string | null {
  const phases = JSON.parse(snap.session.phases ?? '[]') as PipelinePhase[];
  const done = phases.filter((p) => snap.phases[p]?.status === 'completed');
  return done[done.length - 1] ?? null;
}

function toResponse(r: StoredCheckpoint): CheckpointResponse {
  return {
    checkpoint_id: r.checkpoint_id,
    session_id: r.session_id,
    phase: (r.phase || null) as PipelinePhase | null,
    timestamp: r.created_at,
    size_mb: Number(r.size_bytes) / (1024 * 1024),
    model_included: r.model_included === '1',
    swarm_included: r.swarm_included === '1',
    path: r.path,
    checkpoint_name: r.name || null,
  };
}
