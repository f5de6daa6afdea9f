import { HistoryQuery, QualityGateQuery, type ExecutionHistory } from '@agent-forge/contracts';
import { toStatusResponse, toSwarmStatus, type SessionSnapshot } from '@agent-forge/state';
import express, { type Router } from 'express';
import { requestIdOf, type GatewayContext } from '../context';
import { NotFoundError, ValidationError } from '../errors';
import { health } from '../services/health';
import { controlPipeline, startPipeline } from '../services/pipeline';
import { GatePhaseError, evaluateQualityGates, selectGatePhase } from '../services/quality-gates';
import { parseWith } from '../validate';

async function snapshotOr404(ctx: GatewayContext, sessionId: string): Promise<SessionSnapshot> {
  const snap = await ctx.sessions.snapshot(sessionId);
  if (!snap) throw new NotFoundError('SESSION_NOT_FOUND', `session ${sessionId} does not exist`, { session_id: sessionId });
  return snap;
}

/** Sessions newest first; the status filter is applied before the limit. */
export async function listHistory(ctx: GatewayContext, query: HistoryQuery): Promise<ExecutionHistory[]> {
  const out: ExecutionHistory[] = [];
  for await (const id of ctx.sessions.historyIds()) {
    const entry = await ctx.sessions.historyEntry(id);
    if (!entry) continue; // deleted since it was listed
    if (query.status && entry.status !== query.status) continue;
    out.push(entry);
    if (out.length >= query.limit) break;
  }
  return out;
}

/** `/api/v1/pipeline/*` except checkpoints and presets. */
export function pipelineRoutes(ctx: GatewayContext): Router {
  const r = express.Router();

  r.post('/start', async (req, res) => {
    res.json(await startPipeline(ctx, req.body, requestIdOf(req)));
  });

  r.post('/control', async (req, res) => {
    res.json(await controlPipeline(ctx, req.body, requestIdOf(req)));
  });

  r.get('/status/:session_id', async (req, res) => {
    res.json(toStatusResponse(await snapshotOr404(ctx, req.params.session_id as string)));
  });

  r.get('/swarm/:session_id', async (req, res) => {
    res.json(toSwarmStatus(await snapshotOr404(ctx, req.params.session_id as string)));
  });

  r.post('/quality-gates/:session_id', async (req, res) => {
    const query = parseWith(QualityGateQuery, req.query);
    const snap = await snapshotOr404(ctx, req.params.session_id as string);
    try {
      res.json(evaluateQualityGates(snap, selectGatePhase(snap, query.phase)));
    } catch (err) {
      if (err instanceof GatePhaseError) throw new ValidationError({ phase: err.message }, err.message);
      throw err;
    }
  });

  r.get('/history', async (req, res) => {
    res.json(await listHistory(ctx, parseWith(HistoryQuery, req.query)));
  });

  r.get('/health', async (_req, res) => {
    res.json(await health(ctx));
  });

  return r;
}
