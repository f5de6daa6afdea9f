import { performance } from 'node:perf_hooks';
import { setImmediate as yieldNow } from 'node:timers/promises';
import type { ArtifactRef } from '@agent-forge/contracts';
import type { ArtifactStore } from '@agent-forge/engine';
import { capEvenly, type Examples } from '../data/datasets';
import { evaluate, evaluateAsync } from '../model/evaluate';
import type { Model } from '../model/model';
import { decodeModel, type DecodedModel } from '../model/serialize';
import { auditSet } from './audit-data';

/** A model artifact as the engine read it back: its real size and hash, decoded when it is a forge model. */
export interface LoadedModel {
  ref: ArtifactRef;
  /** Bytes actually read from the store (not the size the ref or the phase claims). */
  bytes: number;
  sha256: string;
  decoded: DecodedModel | null;
  /** Why it could not be read or decoded (checksum mismatch, not a forge model file). */
  error?: string;
}

/** The engine's own evaluation of a model on the audit split. */
export interface AuditEvaluation {
  examples: number;
  loss: number;
  perplexity: number;
  accuracy: number;
  /** Fastest of a few timed passes over the audit split, per 1,000 examples. */
  inference_ms_per_1k: number;
}

/** Everything the engine measured itself about a phase's input and output models. */
export interface TheaterEvidence {
  /** null: the phase wrote no `model` artifact. */
  output: LoadedModel | null;
  /** null: the phase had no input model (first phase, or the previous phase wrote none). */
  input: LoadedModel | null;
  outputEval: AuditEvaluation | null;
  inputEval: AuditEvaluation | null;
}

const TIMED_PASSES = 3;
/** Examples per timed pass: enough for a stable figure, short enough not to hold the event loop. */
const TIMED_EXAMPLES = 512;

async function load(store: ArtifactStore, ref: ArtifactRef | undefined): Promise<LoadedModel | null> {
  if (!ref) return null;
  let bytes: Uint8Array;
  try {
    bytes = await store.get(ref); // verifies the sha256
  } catch (err) {
    return { ref, bytes: 0, sha256: ref.sha256, decoded: null, error: `unreadable: ${(err as Error).message}` };
  }
  try {
    return { ref, bytes: bytes.byteLength, sha256: ref.sha256, decoded: decodeModel(bytes) };
  } catch (err) {
    return { ref, bytes: bytes.byteLength, sha256: ref.sha256, decoded: null, error: `not a forge model: ${(err as Error).message}` };
  }
}

/**
 * Loss and accuracy on the audit split, and the fastest of a few timed inference passes. The
 * judging runs on the worker's event loop (after the phase's own thread is done), so it yields
 * between chunks: job locks keep renewing and control messages keep arriving meanwhile.
 */
export async function auditEvaluate(model: Model, ex: Examples): Promise<AuditEvaluation> {
  const e = await evaluateAsync(model, ex, () => yieldNow());
  const timed = capEvenly(ex, TIMED_EXAMPLES);
  let best = Infinity;
  for (let i = 0; i < TIMED_PASSES; i++) {
    await yieldNow();
    const t0 = performance.now();
    evaluate(model, timed);
    best = Math.min(best, performance.now() - t0);
  }
  return { examples: ex.count, loss: e.loss, perplexity: e.perplexity, accuracy: e.accuracy, inference_ms_per_1k: (best * 1000) / Math.max(1, timed.count) };
}

/**
 * Read the phase's input and output models back from the store and evaluate both on the audit
 * split (each on the split encoded for its own context length).
 */
export async function gatherEvidence(args: { store: ArtifactStore; input?: ArtifactRef | undefined; output?: ArtifactRef | undefined; seed: number; scale: number }): Promise<TheaterEvidence> {
  const output = await load(args.store, args.output);
  const input = await load(args.store, args.input);
  const judge = async (m: LoadedModel | null) => (m?.decoded && m.decoded.model.allFinite() ? auditEvaluate(m.decoded.model, auditSet(args.seed, args.scale, m.decoded.model.arch.context)) : null);
  return { output, input, outputEval: await judge(output), inputEval: await judge(input) };
}
