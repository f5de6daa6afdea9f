import type { ArtifactRef } from '@agent-forge/contracts';
import type { ArtifactStore } from '@agent-forge/engine';
import type { IntegrityEvidence } from './gates';
import { decodeModel } from './model/serialize';

/**
 * What the engine measures about a phase's outputs for the Integrity gate, independently of what
 * the phase reported: every artifact is read back through the store (which verifies its sha256),
 * and the model's weights are decoded and checked for NaN/Inf.
 */
export async function measureIntegrity(store: ArtifactStore, artifacts: Record<string, ArtifactRef>): Promise<IntegrityEvidence> {
  let checksumsVerified = Object.keys(artifacts).length > 0;
  let weightsFinite: boolean | undefined;
  for (const [name, ref] of Object.entries(artifacts)) {
    let bytes: Uint8Array;
    try {
      bytes = await store.get(ref);
    } catch {
      checksumsVerified = false;
      continue;
    }
    if (name !== 'model') continue;
    try {
      const { model } = decodeModel(bytes);
      weightsFinite = [...model.tensors.values()].every((t) => t.every((v) => Number.isFinite(v)));
    } catch {
      weightsFinite = false; // a model that does not decode is no model
    }
  }
  return { checksums_verified: checksumsVerified, ...(weightsFinite === undefined ? {} : { weights_finite: weightsFinite }) };
}
