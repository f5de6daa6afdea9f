import { requestIdOf, type GatewayContext } from '../context';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from '../services/checkpoints';
import { principalOf } from './pipeline';
import type { Handlers } from './types';

/** `/api/v1/pipeline/checkpoint/*` and our `/checkpoints/{session_id}` listing. */
export function checkpointHandlers(ctx: GatewayContext): Handlers {
  return {
    'checkpoint.save': async (req, res) => {
      const saved = await saveCheckpoint(ctx, req.body, principalOf(req).scope);
      res.locals.auditTarget = saved.checkpoint_id;
      res.json(saved);
    },
    'checkpoint.load': async (req, res) => {
      res.json(await loadCheckpoint(ctx, req.params.checkpoint_id as string, requestIdOf(req), principalOf(req).scope));
    },
    'checkpoint.list': async (req, res) => {
      res.json(await listCheckpoints(ctx, req.params.session_id as string, principalOf(req).scope));
    },
  };
}
