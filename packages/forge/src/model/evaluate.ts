import type { Examples } from '../data/datasets';
import { forward, softmaxXent } from './mlp';
import type { Model } from './model';

export interface Evaluation {
  /** Mean cross-entropy in nats per character on the examples. */
  loss: number;
  perplexity: number;
  /** Next-character accuracy (argmax = target). */
  accuracy: number;
  /** exp(−loss) = 1/perplexity, in (0, 1]: the forge's validation score (higher is better). */
  score: number;
  count: number;
  perRowLoss: Float32Array;
  perRowCorrect: Uint8Array;
}

export interface EvalOptions {
  thoughts?: boolean;
  chunk?: number;
}

function chunkEval(model: Model, ex: Examples, from: number, to: number, opts: EvalOptions, out: Evaluation): void {
  const rows = to - from;
  const ids = ex.contexts.subarray(from * ex.context, to * ex.context);
  const cache = forward(model, ids, rows, { thoughts: opts.thoughts ?? true });
  const r = softmaxXent(cache.logits, ex.targets.subarray(from, to), rows, model.arch.vocab, false);
  out.perRowLoss.set(r.perRowLoss, from);
  out.perRowCorrect.set(r.perRowCorrect, from);
}

function finish(out: Evaluation): Evaluation {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < out.count; i++) {
    loss += out.perRowLoss[i]!;
    correct += out.perRowCorrect[i]!;
  }
  out.loss = out.count ? loss / out.count : NaN;
  out.perplexity = Math.exp(out.loss);
  out.score = Math.exp(-out.loss);
  out.accuracy = out.count ? correct / out.count : NaN;
  return out;
}

function blank(n: number): Evaluation {
  return { loss: NaN, perplexity: NaN, accuracy: NaN, score: NaN, count: n, perRowLoss: new Float32Array(n), perRowCorrect: new Uint8Array(n) };
}

/** Evaluate synchronously (for small example sets). */
export function evaluate(model: Model, ex: Examples, opts: EvalOptions = {}): Evaluation {
  const out = blank(ex.count);
  const chunk = opts.chunk ?? 256;
  for (let f = 0; f < ex.count; f += chunk) chunkEval(model, ex, f, Math.min(ex.count, f + chunk), opts, out);
  return finish(out);
}

/** Evaluate in chunks, awaiting `tick()` between them (keeps the event loop and control alive). */
export async function evaluateAsync(model: Model, ex: Examples, tick: () => Promise<void>, opts: EvalOptions = {}): Promise<Evaluation> {
  const out = blank(ex.count);
  const chunk = opts.chunk ?? 128;
  for (let f = 0; f < ex.count; f += chunk) {
    chunkEval(model, ex, f, Math.min(ex.count, f + chunk), opts, out);
    await tick();
  }
  return finish(out);
}

/** Mean of per-row values by group (e.g. per problem), in group order of first appearance. */
export function perGroupMean(values: ArrayLike<number>, groups: Int32Array): { group: number; mean: number }[] {
  const sums = new Map<number, [number, number]>();
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const s = sums.get(g) ?? [0, 0];
    s[0] += values[i]!;
    s[1] += 1;
    sums.set(g, s);
  }
  return [...sums].map(([group, [s, n]]) => ({ group, mean: s / n }));
}
