import type { PipelinePhase } from '@agent-forge/contracts';
import type { ArtifactStore } from '@agent-forge/engine';
import type { Logger } from '@agent-forge/runtime';
import { ALL_TENANTS, type CheckpointStore } from '@agent-forge/state';

export interface PhaseBoundaryCheckpointsOptions {
  checkpoints: CheckpointStore;
  artifacts: ArtifactStore;
  /** Checkpoints kept per session; older ones are deleted with the artifacts only they referenced. */
  keep: number;
  uriBase: string;
  logger: Logger;
}

/**
 * Checkpoint optimisation at every phase boundary (when the session has checkpoints enabled):
 * save a checkpoint, keep only the newest K, and delete the session's artifacts that neither the
 * live session nor a kept checkpoint references any more.
 */
export class PhaseBoundaryCheckpoints {
  constructor(private readonly opts: PhaseBoundaryCheckpointsOptions) {}

  /** Call only for sessions with checkpoints enabled (the phase's claim says so). */
  async afterPhase(sessionId: string, phase: PipelinePhase): Promise<void> {
    const saved = await this.opts.checkpoints.save(sessionId, {
      name: `after-${phase}`,
      includeModelState: true,
      includeSwarmState: true,
      uriBase: this.opts.uriBase,
    }, ALL_TENANTS);
    const pruned = await this.opts.checkpoints.prune(sessionId, this.opts.keep);
    const deleted = await this.collectArtifacts(sessionId);
    this.opts.logger.info({ checkpointId: saved?.checkpoint_id, sizeMb: saved?.size_mb, pruned: pruned.length, artifactsDeleted: deleted }, 'phase boundary checkpoint');
  }

  /** Deletes the session's unreferenced artifacts; returns how many. */
  async collectArtifacts(sessionId: string): Promise<number> {
    const stored = await this.opts.artifacts.list(`${sessionId}/`);
    // Nothing stored, nothing to collect: the references (every retained checkpoint) go unread.
    if (stored.length === 0) return 0;
    const referenced = await this.opts.checkpoints.referencedArtifacts(sessionId);
    let deleted = 0;
    for (const uri of stored) {
      if (referenced.has(uri)) continue;
      await this.opts.artifacts.delete({ uri });
      deleted++;
    }
    return deleted;
  }
}
