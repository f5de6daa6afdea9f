import { CheckpointSaveRequest, type CheckpointLoadResponse, type CheckpointResponse } from '@agent-forge/contracts';
import { parseStoredConfig, type SessionSnapshot, type TenantScope } from '@agent-forge/state';
import { randomUUID } from 'node:crypto';
import type { GatewayContext } from '../context';
import { NotFoundError } from '../errors';
import { parseBody } from '../validate';

export async function saveCheckpoint(ctx: GatewayContext, body: unknown, scope: TenantScope): Promise<CheckpointResponse> {
  const req = parseBody(CheckpointSaveRequest, body);
  const saved = await ctx.checkpoints.save(req.session_id, {
    name: req.checkpoint_name ?? null,
    includeModelState: req.include_model_state,
    includeSwarmState: req.include_swarm_state,
    uriBase: ctx.uriBase,
  }, scope);
  if (!saved) throw new NotFoundError('SESSION_NOT_FOUND', `session ${req.session_id} does not exist`, { session_id: req.session_id });
  return saved;
}

/** A copy of the snapshot under a fresh session id, started now (for loading while the original is live). */
export function forkSnapshot(snapshot: SessionSnapshot, newId: string, now = new Date()): SessionSnapshot {
  return {
    session: {
      ...snapshot.session,
      session_id: newId,
      created_at: now.toISOString(),
      created_ms: String(now.getTime()),
      started_ms: String(now.getTime()),
      forked_from: snapshot.session.session_id ?? '',
    },
    phases: snapshot.phases,
    agents: [],
  };
}

/**
 * Restore a checkpoint: into its own session when that one has ended (or vanished), else — the
 * session is live — into a new session. The next unfinished phase is enqueued under the restored
 * run generation, so jobs of the earlier run can never touch it.
 */
export async function loadCheckpoint(ctx: GatewayContext, checkpointId: string, requestId: string | undefined, scope: TenantScope): Promise<CheckpointLoadResponse> {
  const found = await ctx.checkpoints.get(checkpointId, scope);
  if (!found) throw new NotFoundError('CHECKPOINT_NOT_FOUND', `checkpoint ${checkpointId} does not exist`, { checkpoint_id: checkpointId });
  let snapshot = found.snapshot;
  let restored = await ctx.sessions.restore(snapshot);
  if (restored.kind === 'busy') {
    snapshot = forkSnapshot(snapshot, randomUUID());
    restored = await ctx.sessions.restore(snapshot);
    if (restored.kind === 'busy') throw new Error('fresh session id unexpectedly busy');
  }
  const sessionId = snapshot.session.session_id as string;
  if (restored.nextPhase) {
    // The restored session runs under the config it was started with (retry policy, GPU needs).
    const config = parseStoredConfig(snapshot.session.config);
    await ctx.queues.enqueue({ sessionId, phase: restored.nextPhase, runGen: restored.runGen, ...(requestId ? { requestId } : {}) }, config);
  }
  return { status: 'loaded', checkpoint_id: checkpointId, session_id: sessionId, next_phase: restored.nextPhase };
}

export async function listCheckpoints(ctx: GatewayContext, sessionId: string, scope: TenantScope): Promise<CheckpointResponse[]> {
  const list = await ctx.checkpoints.listForSession(sessionId, scope);
  if (list === null) {
    throw new NotFoundError('SESSION_NOT_FOUND', `session ${sessionId} does not exist`, { session_id: sessionId });
  }
  return list;
}
