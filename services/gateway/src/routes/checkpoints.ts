import express, { type Router } from 'express';
import { requestIdOf, type GatewayContext } from '../context';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from '../services/checkpoints';

/** `/api/v1/pipeline/checkpoint/*` and our `/checkpoints/{session_id}` listing. */
export function checkpointRoutes(ctx: GatewayContext): Router {
  const r = express.Router();

  r.post('/checkpoint/save', async (req, res) => {
    res.json(await saveCheckpoint(ctx, req.body));
  });

  r.post('/checkpoint/load/:checkpoint_id', async (req, res) => {
    res.json(await loadCheckpoint(ctx, req.params.checkpoint_id as string, requestIdOf(req)));
  });

  r.get('/checkpoints/:session_id', async (req, res) => {
    res.json(await listCheckpoints(ctx, req.params.session_id as string));
  });

  return r;
}
