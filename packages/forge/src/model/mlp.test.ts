import { Rng } from '../rng';
import type { Activation, Arch } from './arch';
import { backward, forward, softmaxXent } from './mlp';
import { Model, zerosLike } from './model';

/** Numerical gradient check of the hand-written backward pass (central differences). */
function check(arch: Arch, trainable: (n: string) => boolean = () => true): void {
  const rng = new Rng(7, 'gradcheck');
  const m = Model.init(arch, 'xavier_uniform', rng);
  if (arch.thought) {
    // the mixing head starts at zero; give it values so every path carries gradient
    const mix = m.get('thought.mix');
    for (let i = 0; i < mix.length; i++) mix[i] = rng.normal() * 0.3;
  }
  const rows = 3;
  const ids = Int32Array.from({ length: rows * arch.context }, () => rng.int(arch.vocab));
  const targets = Int32Array.from({ length: rows }, () => rng.int(arch.vocab));
  const lossOf = (mm: Model) => {
    const c = forward(mm, ids, rows);
    return softmaxXent(c.logits, targets, rows, arch.vocab, false).lossSum / rows;
  };
  const cache = forward(m, ids, rows);
  const r = softmaxXent(cache.logits, targets, rows, arch.vocab, true);
  const grads = zerosLike(m);
  backward(m, cache, r.dlogits!, grads, trainable);
  // relu has a kink: a smaller step keeps the probe on one side of it
  const eps = arch.activation === 'relu' ? 1e-3 : 1e-2;
  for (const s of m.specs) {
    const p = m.get(s.name);
    const g = grads.get(s.name)!;
    // probe a few entries per tensor (those with a gradient and a few random ones)
    const probes = new Set<number>([0, p.length - 1, rng.int(p.length), rng.int(p.length), rng.int(p.length)]);
    let maxAbs = 0;
    for (let i = 0; i < g.length; i++) if (Math.abs(g[i]!) > maxAbs) maxAbs = Math.abs(g[i]!);
    for (let i = 0; i < g.length && probes.size < 8; i++) if (Math.abs(g[i]!) > maxAbs * 0.5) probes.add(i);
    for (const i of probes) {
      const orig = p[i]!;
      p[i] = orig + eps;
      const up = lossOf(m);
      p[i] = orig - eps;
      const down = lossOf(m);
      p[i] = orig;
      const num = (up - down) / (2 * eps);
      const expected = trainable(s.name) ? num : 0;
      const err = Math.abs(g[i]! - expected) / Math.max(Math.abs(expected), 1e-2);
      expect({ t: s.name, i, err: err < 0.03 }).toEqual({ t: s.name, i, err: true });
    }
  }
}

describe('mlp backward', () => {
  const base = (activation: Activation, hidden: number[]): Arch => ({ vocab: 11, context: 3, embed: 4, hidden, activation });
  it.each(['tanh', 'relu', 'silu'] as Activation[])('matches numerical gradients (%s, two layers)', (act) => {
    check(base(act, [7, 5]));
  });
  it('matches numerical gradients with no hidden layer', () => check(base('tanh', [])));
  it('matches numerical gradients through the thought module', () => {
    check({ ...base('tanh', [6]), thought: { count: 2, length: 3, dim: 4 } });
  });
  it('differentiates only the thought module when the base is frozen', () => {
    check({ ...base('silu', [6]), thought: { count: 2, length: 2, dim: 3 } }, (n) => n.startsWith('thought.'));
  });
});
