import type { Grads, Model } from './model';

/** Module-scope copies: global lookups are slow inside vm contexts (jest), these are not. */
const { sqrt: M_sqrt, pow: M_pow } = Math;


export type OptimizerName = 'adamw' | 'sgd';

export interface OptimizerConfig {
  name: OptimizerName;
  learningRate: number;
  weightDecay: number;
  /** SGD momentum. */
  momentum: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient norm (0 = off). */
  clipNorm: number;
  /** Grokfast-EMA (Lee et al. 2024): g ← g + λ·EMA_α(g). */
  grokfast: { enabled: boolean; alpha: number; lambda: number } | null;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = {
  name: 'adamw',
  learningRate: 0.001,
  weightDecay: 0.01,
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clipNorm: 1,
  grokfast: null,
};

/** Optimizer state as plain tensors, so it can be checkpointed as an artifact. */
export interface OptimizerState {
  step: number;
  /** `m.<name>`, `v.<name>`, `ema.<name>` buffers. */
  buffers: Map<string, Float32Array>;
}

export class Optimizer {
  readonly state: OptimizerState;

  constructor(
    readonly cfg: OptimizerConfig,
    state?: OptimizerState,
  ) {
    this.state = state ?? { step: 0, buffers: new Map() };
  }

  private buf(kind: string, name: string, n: number): Float32Array {
    const key = `${kind}.${name}`;
    let b = this.state.buffers.get(key);
    if (!b) {
      b = new Float32Array(n);
      this.state.buffers.set(key, b);
    }
    return b;
  }

  /** One update of the `trainable` tensors of `model` with `grads`; returns the gradient norm. */
  step(model: Model, grads: Grads, trainable: (name: string) => boolean = () => true, mask?: Map<string, Uint8Array>): number {
    const c = this.cfg;
    this.state.step += 1;
    const t = this.state.step;
    const names = model.specs.map((s) => s.name).filter(trainable);
    if (c.grokfast?.enabled) {
      for (const name of names) {
        const g = grads.get(name)!;
        const ema = this.buf('ema', name, g.length);
        for (let i = 0; i < g.length; i++) {
          ema[i] = c.grokfast.alpha * ema[i]! + (1 - c.grokfast.alpha) * g[i]!;
          g[i] = g[i]! + c.grokfast.lambda * ema[i]!;
        }
      }
    }
    let sq = 0;
    for (const name of names) for (const v of grads.get(name)!) sq += v * v;
    const norm = M_sqrt(sq);
    const clip = c.clipNorm > 0 && norm > c.clipNorm ? c.clipNorm / norm : 1;
    for (const name of names) {
      const p = model.get(name);
      const g = grads.get(name)!;
      const keep = mask?.get(name);
      const decay = name.endsWith('.b') ? 0 : c.weightDecay;
      if (c.name === 'adamw') {
        const m = this.buf('m', name, p.length);
        const v = this.buf('v', name, p.length);
        const bc1 = 1 - M_pow(c.beta1, t);
        const bc2 = 1 - M_pow(c.beta2, t);
        for (let i = 0; i < p.length; i++) {
          if (keep && !keep[i]) continue;
          const gi = g[i]! * clip;
          m[i] = c.beta1 * m[i]! + (1 - c.beta1) * gi;
          v[i] = c.beta2 * v[i]! + (1 - c.beta2) * gi * gi;
          p[i] = p[i]! - c.learningRate * ((m[i]! / bc1) / (M_sqrt(v[i]! / bc2) + c.eps) + decay * p[i]!);
        }
      } else {
        const m = this.buf('m', name, p.length);
        for (let i = 0; i < p.length; i++) {
          if (keep && !keep[i]) continue;
          const gi = g[i]! * clip + decay * p[i]!;
          m[i] = c.momentum * m[i]! + gi;
          p[i] = p[i]! - c.learningRate * m[i]!;
        }
      }
    }
    return norm;
  }
}
