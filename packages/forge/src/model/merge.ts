import type { Rng } from '../rng';
import { Model } from './model';

/** Module-scope copies: global lookups are slow inside vm contexts (jest), these are not. */
const { sqrt: M_sqrt, abs: M_abs, sign: M_sign, sin: M_sin, acos: M_acos } = Math;


/**
 * Model-merging operators over models of the same shape, tensor by tensor.
 * - linear: (1−t)·a + t·b
 * - slerp: spherical interpolation of each tensor viewed as a vector (falls back to linear for
 *   nearly parallel tensors)
 * - ties (TIES-merging, Yadav et al. 2023): task vectors τ = model − base; keep each τ's top
 *   `density` fraction by magnitude, elect a sign per weight by total mass, average the
 *   agreeing entries, add to base
 * - dare (Yu et al. 2023): drop each task-vector entry with probability 1 − density, rescale the
 *   rest by 1/density, average, add to base
 */
export type MergeOperator = 'linear' | 'slerp' | 'ties' | 'dare';
export const MERGE_OPERATORS: readonly MergeOperator[] = ['linear', 'slerp', 'ties', 'dare'];

function assertSame(a: Model, b: Model): void {
  if (a.specs.length !== b.specs.length || a.specs.some((s, i) => s.shape.join() !== b.specs[i]!.shape.join())) {
    throw new Error('cannot merge models of different shapes');
  }
}

export function linear(a: Model, b: Model, t: number): Model {
  assertSame(a, b);
  return a.map((name, x) => {
    const y = b.get(name);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (1 - t) * x[i]! + t * y[i]!;
    return out;
  });
}

export function slerp(a: Model, b: Model, t: number): Model {
  assertSame(a, b);
  return a.map((name, x) => {
    const y = b.get(name);
    let dot = 0;
    let nx = 0;
    let ny = 0;
    for (let i = 0; i < x.length; i++) {
      dot += x[i]! * y[i]!;
      nx += x[i]! * x[i]!;
      ny += y[i]! * y[i]!;
    }
    const out = new Float32Array(x.length);
    const cos = nx > 0 && ny > 0 ? dot / M_sqrt(nx * ny) : 1;
    if (M_abs(cos) > 0.9995) {
      for (let i = 0; i < x.length; i++) out[i] = (1 - t) * x[i]! + t * y[i]!;
      return out;
    }
    const omega = M_acos(Math.max(-1, Math.min(1, cos)));
    const so = M_sin(omega);
    const wa = M_sin((1 - t) * omega) / so;
    const wb = M_sin(t * omega) / so;
    for (let i = 0; i < x.length; i++) out[i] = wa * x[i]! + wb * y[i]!;
    return out;
  });
}

export function ties(base: Model, models: Model[], density: number): Model {
  for (const m of models) assertSame(base, m);
  return base.map((name, b) => {
    const taus = models.map((m) => {
      const w = m.get(name);
      const tau = new Float32Array(b.length);
      for (let i = 0; i < b.length; i++) tau[i] = w[i]! - b[i]!;
      // trim: keep the top-density fraction by magnitude
      const keep = Math.max(1, Math.round(density * b.length));
      if (keep < b.length) {
        const mags = Float32Array.from(tau, Math.abs).sort();
        const cut = mags[b.length - keep]!;
        for (let i = 0; i < b.length; i++) if (M_abs(tau[i]!) < cut) tau[i] = 0;
      }
      return tau;
    });
    const out = new Float32Array(b.length);
    for (let i = 0; i < b.length; i++) {
      let mass = 0;
      for (const tau of taus) mass += tau[i]!;
      const sign = M_sign(mass);
      let sum = 0;
      let n = 0;
      for (const tau of taus) {
        if (tau[i] !== 0 && M_sign(tau[i]!) === sign) {
          sum += tau[i]!;
          n++;
        }
      }
      out[i] = b[i]! + (n > 0 ? sum / n : 0);
    }
    return out;
  });
}

export function dare(base: Model, models: Model[], density: number, rng: Rng): Model {
  for (const m of models) assertSame(base, m);
  const p = Math.min(1, Math.max(1e-3, density));
  return base.map((name, b) => {
    const out = b.slice();
    for (const m of models) {
      const w = m.get(name);
      for (let i = 0; i < b.length; i++) if (rng.next() < p) out[i]! += (w[i]! - b[i]!) / p / models.length;
    }
    return out;
  });
}

/** Weighted average of several models (weights normalised to sum 1). */
export function weightedAverage(models: Model[], weights: number[]): Model {
  const first = models[0];
  if (!first) throw new Error('nothing to average');
  for (const m of models) assertSame(first, m);
  const total = weights.reduce((s, w) => s + w, 0);
  return first.map((name) => {
    const out = new Float32Array(first.get(name).length);
    models.forEach((m, k) => {
      const w = m.get(name);
      const c = weights[k]! / total;
      for (let i = 0; i < out.length; i++) out[i]! += c * w[i]!;
    });
    return out;
  });
}

/** Gaussian mutation: each weight perturbed with probability `rate` by N(0, (scale·σ_tensor)²). */
export function mutate(m: Model, rate: number, scale: number, rng: Rng): Model {
  return m.map((_name, x) => {
    let sq = 0;
    for (const v of x) sq += v * v;
    const sigma = M_sqrt(sq / Math.max(1, x.length)) * scale;
    const out = x.slice();
    if (rate <= 0 || sigma === 0) return out;
    for (let i = 0; i < out.length; i++) if (rng.next() < rate) out[i]! += rng.normal() * sigma;
    return out;
  });
}

/** Root-mean-square distance between two models' parameters. */
export function rmsDistance(a: Model, b: Model): number {
  let sq = 0;
  let n = 0;
  for (const s of a.specs) {
    const x = a.get(s.name);
    const y = b.get(s.name);
    for (let i = 0; i < x.length; i++) {
      const d = x[i]! - y[i]!;
      sq += d * d;
    }
    n += x.length;
  }
  return M_sqrt(sq / Math.max(1, n));
}

export { Model };
