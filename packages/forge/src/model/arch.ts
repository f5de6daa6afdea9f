import { VOCAB_SIZE } from '../data/vocab';
import { hash32, Rng } from '../rng';

export type Activation = 'tanh' | 'relu' | 'silu';
export const ACTIVATIONS: readonly Activation[] = ['tanh', 'relu', 'silu'];

/**
 * A tiny char-level language model: the last `context` characters are embedded (`embed` each),
 * concatenated, passed through dense layers of widths `hidden` with `activation`, then a dense
 * layer to vocabulary logits. `thought` (added by quietstar) is a latent-thought module on top of
 * the last hidden layer: the hidden state is projected to `dim`, `count` learned thought tokens are
 * added to it, each is unrolled `length` steps through a shared tanh cell, and the thoughts' mean
 * is mixed into the logits through a head that starts at zero.
 */
export interface Arch {
  vocab: number;
  context: number;
  embed: number;
  hidden: number[];
  activation: Activation;
  thought?: { count: number; length: number; dim: number } | undefined;
}

export type InitStrategy = 'xavier_uniform' | 'kaiming_normal' | 'random' | 'custom';

export interface TensorSpec {
  name: string;
  shape: number[];
  /** Matrices (weights) are quantized/pruned by bitnet and compression; vectors (biases) are not. */
  kind: 'embedding' | 'weight' | 'bias' | 'thought';
}

export function tensorSpecs(a: Arch): TensorSpec[] {
  const specs: TensorSpec[] = [{ name: 'embed', shape: [a.vocab, a.embed], kind: 'embedding' }];
  let inDim = a.context * a.embed;
  a.hidden.forEach((w, l) => {
    specs.push({ name: `h${l}.w`, shape: [inDim, w], kind: 'weight' }, { name: `h${l}.b`, shape: [w], kind: 'bias' });
    inDim = w;
  });
  specs.push({ name: 'out.w', shape: [inDim, a.vocab], kind: 'weight' }, { name: 'out.b', shape: [a.vocab], kind: 'bias' });
  if (a.thought) {
    const d = a.thought.dim;
    specs.push(
      { name: 'thought.in', shape: [inDim, d], kind: 'weight' },
      { name: 'thought.tokens', shape: [a.thought.count, d], kind: 'thought' },
      { name: 'thought.w', shape: [d, d], kind: 'weight' },
      { name: 'thought.b', shape: [d], kind: 'bias' },
      { name: 'thought.mix', shape: [d, a.vocab], kind: 'weight' },
    );
  }
  return specs;
}

export function paramCount(a: Arch): number {
  return tensorSpecs(a).reduce((n, s) => n + s.shape.reduce((x, y) => x * y, 1), 0);
}

export function archKey(a: Arch): string {
  return `c${a.context}-e${a.embed}-h${a.hidden.join('x')}-${a.activation}${a.thought ? `-t${a.thought.count}x${a.thought.length}d${a.thought.dim}` : ''}`;
}

export function sameShapes(a: Arch, b: Arch): boolean {
  const sa = tensorSpecs(a);
  const sb = tensorSpecs(b);
  return sa.length === sb.length && sa.every((s, i) => s.name === sb[i]!.name && s.shape.join() === sb[i]!.shape.join());
}

/** Which data a catalogue model is pre-trained on: share of text lines vs arithmetic problems. */
export type DataMix = 'balanced' | 'text' | 'arithmetic';

export interface CatalogueEntry {
  arch: Arch;
  mix: DataMix;
  description: string;
}

const W = (base: number, scale: number) => Math.max(4, Math.round(base * scale));

/** The default architecture (grows with `scale`). */
export function defaultArch(scale = 1): Arch {
  return { vocab: VOCAB_SIZE, context: 12, embed: 12, hidden: [W(64, scale)], activation: 'tanh' };
}

/**
 * The documented tiny architectures `cognate.base_models` can name. The `tiny-gpt-*` family
 * shares one shape (so they merge) and differs in what it is pre-trained on.
 */
export function catalogue(scale = 1): Record<string, CatalogueEntry> {
  const base = defaultArch(scale);
  return {
    'tiny-gpt-a': { arch: base, mix: 'balanced', description: 'default shape, pre-trained on text and arithmetic' },
    'tiny-gpt-b': { arch: base, mix: 'text', description: 'default shape, pre-trained mostly on text' },
    'tiny-gpt-c': { arch: base, mix: 'arithmetic', description: 'default shape, pre-trained mostly on arithmetic' },
    'tiny-mlp-relu': { arch: { ...base, activation: 'relu' }, mix: 'balanced', description: 'default shape with relu' },
    'tiny-mlp-wide': { arch: { ...base, hidden: [W(128, scale)] }, mix: 'balanced', description: 'one wide hidden layer' },
    'tiny-mlp-deep': { arch: { ...base, hidden: [W(64, scale), W(64, scale)] }, mix: 'balanced', description: 'two hidden layers' },
  };
}

/** A catalogue entry, or for an unknown name a deterministic architecture derived from the name. */
export function resolveBaseModel(name: string, scale = 1): CatalogueEntry {
  const known = catalogue(scale)[name];
  if (known) return known;
  const h = hash32(`arch|${name}`);
  const width = W([32, 48, 64, 96][h % 4]!, scale);
  const depth = 1 + ((h >>> 2) % 2);
  return {
    arch: {
      vocab: VOCAB_SIZE,
      context: [8, 12, 16][(h >>> 3) % 3]!,
      embed: [8, 12, 16][(h >>> 5) % 3]!,
      hidden: Array.from({ length: depth }, () => width),
      activation: ACTIVATIONS[(h >>> 7) % 3]!,
    },
    mix: (['balanced', 'text', 'arithmetic'] as const)[(h >>> 9) % 3]!,
    description: `derived from the name "${name}" (hash ${h.toString(16)})`,
  };
}

/** Fresh parameters. Biases start at zero; the thought mixing head starts at zero (= no effect). */
export function initTensor(spec: TensorSpec, strategy: InitStrategy, rng: Rng, initStd = 0.02): Float32Array {
  const n = spec.shape.reduce((x, y) => x * y, 1);
  const out = new Float32Array(n);
  if (spec.kind === 'bias' || spec.name === 'thought.mix') return out;
  const fanIn = spec.kind === 'embedding' || spec.kind === 'thought' ? 1 : spec.shape[0]!;
  const fanOut = spec.shape[spec.shape.length - 1]!;
  for (let i = 0; i < n; i++) {
    switch (strategy) {
      case 'xavier_uniform': {
        const lim = Math.sqrt(6 / (fanIn + fanOut));
        out[i] = rng.uniform(-lim, lim);
        break;
      }
      case 'kaiming_normal':
        out[i] = rng.normal() * Math.sqrt(2 / fanIn);
        break;
      case 'random':
        out[i] = rng.uniform(-0.1, 0.1);
        break;
      case 'custom':
        out[i] = rng.normal() * initStd;
        break;
    }
  }
  if (spec.kind === 'embedding' && strategy !== 'custom') {
    // embeddings: unit-ish rows are too large for fan-in 1 formulas; scale to the fan-out
    const s = 1 / Math.sqrt(fanOut) / (strategy === 'random' ? 0.1 : 1);
    for (let i = 0; i < n; i++) out[i] = out[i]! * Math.min(1, s);
  }
  return out;
}
