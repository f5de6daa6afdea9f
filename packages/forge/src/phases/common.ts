import { capEvenly, lmData, type Examples, type LmData } from '../data/datasets';
import type { Arch } from '../model/arch';
import { evaluate, type Evaluation } from '../model/evaluate';
import type { Model } from '../model/model';
import { DEFAULT_OPTIMIZER, Optimizer, type OptimizerConfig } from '../model/optim';
import { round } from '../stats';

/** The held-out LM examples the phases report validation loss on (capped, evenly spaced). */
export function validSet(seed: number, scale: number, arch: Arch, max = 1024): Examples {
  return capEvenly(lmData(seed, scale, arch.context).valid, Math.round(max * Math.sqrt(scale)));
}

export function dataFor(seed: number, scale: number, arch: Arch): LmData {
  return lmData(seed, scale, arch.context);
}

export function evalSummary(e: Evaluation): { val_loss: number; val_perplexity: number; val_accuracy: number } {
  return { val_loss: round(e.loss), val_perplexity: round(e.perplexity), val_accuracy: round(e.accuracy) };
}

export function evalModel(m: Model, ex: Examples): Evaluation {
  return evaluate(m, ex);
}

export function makeOptimizer(over: Partial<OptimizerConfig>): Optimizer {
  return new Optimizer({ ...DEFAULT_OPTIMIZER, ...over });
}

/** Optimizer buffers into bundle arrays (prefix `opt.`) and back. */
export function optimizerArrays(opt: Optimizer, into: Map<string, Float32Array>): Map<string, Float32Array> {
  for (const [k, v] of opt.state.buffers) into.set(`opt.${k}`, v);
  return into;
}

export function restoreOptimizer(cfg: Partial<OptimizerConfig>, step: number, arrays: Map<string, Float32Array>): Optimizer {
  const buffers = new Map<string, Float32Array>();
  for (const [k, v] of arrays) if (k.startsWith('opt.')) buffers.set(k.slice(4), v.slice());
  return new Optimizer({ ...DEFAULT_OPTIMIZER, ...cfg }, { step, buffers });
}

/** Mean of the last `n` values. */
export function tailMean(xs: readonly number[], n: number): number {
  const t = xs.slice(-n);
  return t.length ? t.reduce((s, x) => s + x, 0) / t.length : NaN;
}
