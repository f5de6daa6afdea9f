import { Rng } from '../rng';
import { initTensor, tensorSpecs, type Arch, type InitStrategy, type TensorSpec } from './arch';

/** A model: its architecture and one Float32Array per tensor (same order as `tensorSpecs`). */
export class Model {
  readonly specs: TensorSpec[];
  readonly tensors: Map<string, Float32Array>;

  constructor(
    readonly arch: Arch,
    tensors?: Map<string, Float32Array>,
  ) {
    this.specs = tensorSpecs(arch);
    this.tensors = tensors ?? new Map(this.specs.map((s) => [s.name, new Float32Array(s.shape.reduce((x, y) => x * y, 1))]));
    for (const s of this.specs) {
      const t = this.tensors.get(s.name);
      const n = s.shape.reduce((x, y) => x * y, 1);
      if (!t || t.length !== n) throw new Error(`model tensor ${s.name}: expected ${n} values, got ${t?.length ?? 'none'}`);
    }
  }

  static init(arch: Arch, strategy: InitStrategy, rng: Rng, initStd = 0.02): Model {
    const specs = tensorSpecs(arch);
    return new Model(arch, new Map(specs.map((s) => [s.name, initTensor(s, strategy, rng, initStd)])));
  }

  get(name: string): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`model has no tensor ${name}`);
    return t;
  }

  clone(): Model {
    return new Model(structuredClone(this.arch), new Map([...this.tensors].map(([k, v]) => [k, v.slice()])));
  }

  /** Same architecture, new parameter values computed tensor by tensor. */
  map(f: (name: string, t: Float32Array, spec: TensorSpec) => Float32Array): Model {
    return new Model(structuredClone(this.arch), new Map(this.specs.map((s) => [s.name, f(s.name, this.get(s.name), s)])));
  }

  paramCount(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.length;
    return n;
  }

  /** All parameters as one vector (for distances and diversity). */
  flat(): Float32Array {
    const out = new Float32Array(this.paramCount());
    let o = 0;
    for (const s of this.specs) {
      const t = this.get(s.name);
      out.set(t, o);
      o += t.length;
    }
    return out;
  }

  /** True when every parameter is finite. */
  allFinite(): boolean {
    for (const t of this.tensors.values()) for (let i = 0; i < t.length; i++) if (!Number.isFinite(t[i]!)) return false;
    return true;
  }

  /** A copy with a fresh thought module (any existing one is replaced); base tensors copied. */
  withThoughts(count: number, length: number, dim: number, rng: Rng): Model {
    const arch: Arch = { ...structuredClone(this.arch), thought: { count, length, dim } };
    const specs = tensorSpecs(arch);
    return new Model(
      arch,
      new Map(specs.map((s) => [s.name, s.name.startsWith('thought.') ? initTensor(s, 'xavier_uniform', rng) : this.get(s.name).slice()])),
    );
  }
}

export type Grads = Map<string, Float32Array>;

export function zerosLike(m: Model): Grads {
  return new Map(m.specs.map((s) => [s.name, new Float32Array(m.get(s.name).length)]));
}
