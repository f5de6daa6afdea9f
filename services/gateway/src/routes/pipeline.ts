import type { Principal } from '@agent-forge/auth';
import { HistoryQuery, QualityGateQuery, type ExecutionHistory } from '@agent-forge/contracts';
import { toStatusResponse, toSwarmStatus, type SessionSnapshot, type TenantScope } from '@agent-forge/state';
import type { Request } from 'express';
import { requestIdOf, type GatewayContext } from '../context';
import { NotFoundError, ValidationError } from '../errors';
import { health } from '../services/health';
import { controlPipeline, startPipeline } from '../services/pipeline';
import { GatePhaseError, evaluateQualityGates, selectGatePhase } from '../services/quality-gates';
import { parseWith } from '../validate';
import type { Handlers } from './types';

/** The principal the route guard put on the request (every guarded route has one). */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error('route reached without a principal: it is missing its guard');
  return req.principal;
}

/** A session within the caller's tenants, or 404 (another tenant's session reads as missing). */
export async function snapshotOr404(ctx: GatewayContext, sessionId: string, scope: TenantScope): Promise<SessionSnapshot> {
  const snap = await ctx.sessions.snapshot(sessionId, scope);
  if (!snap) throw new NotFoundError('SESSION_NOT_FOUND', `session ${sessionId} does not exist`, { session_id: sessionId });
  return snap;
}

/** Sessions of `scope` newest first; the status filter is applied before the limit. */
export async function listHistory(ctx: GatewayContext, query: HistoryQuery, scope: TenantScope): Promise<ExecutionHistory[]> {
  const out: ExecutionHistory[] = [];
  for await (const id of ctx.sessions.historyIds(scope)) {
    const entry = await ctx.sessions.historyEntry(id, scope);
    if (!entry) continue; // deleted since it was listed
    if (query.status && entry.status !== query.status) continue;
    out.push(entry);
    if (out.length >= query.limit) break;
  }
  return out;
}

/** A read by one path parameter: its answer's body (thrown errors are mapped like any other). */
export type ParamRead = (param: string, principal: Principal) => Promise<unknown>;

/**
 * The session reads the fast lane serves (route-table rows marked `fastLane`), as plain functions
 * of the path parameter and the caller: the Express handlers below and the fast lane call these
 * same functions, so the answer (tenant scoping, 404s, the projection) is one implementation.
 */
export function pipelineReads(ctx: GatewayContext): Record<'pipeline.status' | 'pipeline.swarm', ParamRead> {
  return {
    'pipeline.status': async (sessionId, principal) => toStatusResponse(await snapshotOr404(ctx, sessionId, principal.scope)),
    'pipeline.swarm': async (sessionId, principal) => toSwarmStatus(await snapshotOr404(ctx, sessionId, principal.scope)),
  };
}

/** `/api/v1/pipeline/*` except checkpoints and presets. */
export function pipelineHandlers(ctx: GatewayContext): Handlers {
  const reads = pipelineReads(ctx);
  return {
    'pipeline.start': async (req, res) => {
      const started = await startPipeline(ctx, req.body, requestIdOf(req), principalOf(req));
      res.locals.auditTarget = started.session_id;
      res.json(started);
    },
    'pipeline.control': async (req, res) => {
      const { response, auditReason } = await controlPipeline(ctx, req.body, requestIdOf(req), principalOf(req).scope);
      res.locals.auditReason = auditReason;
      res.json(response);
    },
    'pipeline.status': async (req, res) => {
      res.json(await reads['pipeline.status'](req.params.session_id as string, principalOf(req)));
    },
    'pipeline.swarm': async (req, res) => {
      res.json(await reads['pipeline.swarm'](req.params.session_id as string, principalOf(req)));
    },
    'quality_gates.run': async (req, res) => {
      const query = parseWith(QualityGateQuery, req.query);
      const snap = await snapshotOr404(ctx, req.params.session_id as string, principalOf(req).scope);
      try {
        res.json(evaluateQualityGates(snap, selectGatePhase(snap, query.phase)));
      } catch (err) {
        if (err instanceof GatePhaseError) throw new ValidationError({ phase: err.message }, err.message);
        throw err;
      }
    },
    'pipeline.history': async (req, res) => {
      res.json(await listHistory(ctx, parseWith(HistoryQuery, req.query), principalOf(req).scope));
    },
    'pipeline.health': async (_req, res) => {
      res.json(await health(ctx));
    },
  };
}
