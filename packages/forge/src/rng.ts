/** Module-scope copies: global lookups are slow inside vm contexts (jest), these are not. */
const { imul: M_imul, floor: M_floor, sqrt: M_sqrt, log: M_log, sin: M_sin, cos: M_cos } = Math;

/**
 * Seeded pseudo-random numbers. Every random choice in the forge comes from an `Rng` derived from
 * the pipeline seed and a label (phase, purpose, step), so a run is reproducible from the seed and
 * a resumed phase draws exactly what an uninterrupted one would have drawn at the same step.
 */

/** 32-bit FNV-1a of a string, used to derive stream seeds from labels. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = M_imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** sfc32: small, fast, good-quality 32-bit generator; state is four 32-bit words. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed: number, ...labels: (string | number)[]) {
    const s = hash32(`${seed}|${labels.join('|')}`);
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = s;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A generator for a sub-stream: same seed, more labels. */
  static derive(seed: number, ...labels: (string | number)[]): Rng {
    return new Rng(seed, ...labels);
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return M_floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = M_sqrt(-2 * M_log(u));
    this.spare = r * M_sin(2 * Math.PI * v);
    return r * M_cos(2 * Math.PI * v);
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.int(xs.length)] as T;
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i] as T;
      xs[i] = xs[j] as T;
      xs[j] = t;
    }
    return xs;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}
