import type { Examples } from '../data/datasets';
import { Rng } from '../rng';
import { backward, forward, softmaxXent } from './mlp';
import { zerosLike, type Model } from './model';
import type { Optimizer } from './optim';

export interface Batch {
  ids: Int32Array;
  targets: Int32Array;
  rows: number;
}

export function batchOf(ex: Examples, idx: ArrayLike<number>): Batch {
  const C = ex.context;
  const rows = idx.length;
  const ids = new Int32Array(rows * C);
  const targets = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const j = idx[i]!;
    ids.set(ex.contexts.subarray(j * C, (j + 1) * C), i * C);
    targets[i] = ex.targets[j]!;
  }
  return { ids, targets, rows };
}

/**
 * A minibatch for training step `step`: drawn with an Rng derived from (seed, label, step), so the
 * batch of a step never depends on how many steps ran before in this process (resume = replay).
 * `pools` with weights mixes several example sets (e.g. text vs arithmetic).
 */
export function sampleBatch(pools: { ex: Examples; weight: number }[], batchSize: number, seed: number, label: string, step: number): Batch {
  const rng = new Rng(seed, label, 'batch', step);
  const total = pools.reduce((s, p) => s + (p.ex.count > 0 ? p.weight : 0), 0);
  const C = pools[0]!.ex.context;
  const ids = new Int32Array(batchSize * C);
  const targets = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) {
    let u = rng.next() * total;
    let pool = pools[0]!.ex;
    for (const p of pools) {
      if (p.ex.count === 0) continue;
      pool = p.ex;
      u -= p.weight;
      if (u < 0) break;
    }
    const j = rng.int(pool.count);
    ids.set(pool.contexts.subarray(j * C, (j + 1) * C), i * C);
    targets[i] = pool.targets[j]!;
  }
  return { ids, targets, rows: batchSize };
}

/** One optimizer step on a batch; returns the batch's mean loss (before the update). */
export function trainStep(
  model: Model,
  opt: Optimizer,
  batch: Batch,
  trainable: (name: string) => boolean = () => true,
  mask?: Map<string, Uint8Array>,
): number {
  const cache = forward(model, batch.ids, batch.rows);
  const loss = softmaxXent(cache.logits, batch.targets, batch.rows, model.arch.vocab, true);
  const grads = zerosLike(model);
  backward(model, cache, loss.dlogits!, grads, trainable);
  opt.step(model, grads, trainable, mask);
  if (mask) {
    for (const [name, keep] of mask) {
      const p = model.get(name);
      for (let i = 0; i < p.length; i++) if (!keep[i]) p[i] = 0;
    }
  }
  return loss.lossSum / batch.rows;
}
