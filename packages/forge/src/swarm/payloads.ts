import { capEvenly, type Examples } from '../data/datasets';
import type { Arch } from '../model/arch';
import { Model } from '../model/model';
import { validSet } from '../phases/common';

/** A model as it crosses a thread boundary (structured clone keeps the typed arrays, not the class). */
export interface ModelPayload {
  arch: Arch;
  tensors: Map<string, Float32Array>;
}

export function toPayload(m: Model): ModelPayload {
  return { arch: m.arch, tensors: m.tensors };
}

export function fromPayload(p: ModelPayload): Model {
  return new Model(p.arch, p.tensors);
}

/** Which held-out examples to score on: agents rebuild them (deterministic) instead of receiving them. */
export interface EvalSetSpec {
  seed: number;
  scale: number;
  context: number;
  samples: number;
}

const sets = new Map<string, Examples>();

export function evalSetFor(spec: EvalSetSpec): Examples {
  const key = `${spec.seed}|${spec.scale}|${spec.context}|${spec.samples}`;
  let set = sets.get(key);
  if (!set) {
    set = capEvenly(validSet(spec.seed, spec.scale, { context: spec.context } as Arch), spec.samples);
    sets.set(key, set);
  }
  return set;
}
