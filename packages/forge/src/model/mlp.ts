import type { Activation } from './arch';
import type { Grads, Model } from './model';

/** Module-scope copies: global lookups are slow inside vm contexts (jest), these are not. */
const { exp: M_exp, log: M_log, tanh: M_tanh } = Math;


/**
 * Forward and backward passes of the forge's char-level MLP language model on Float32Arrays
 * (faster than tfjs for these tiny shapes — see bench/numeric-backends.mjs; checked against
 * numerical gradients in mlp.test.ts). Weights are row-major [in × out]; y = x·W + b.
 */

function dense(x: Float32Array, rows: number, inDim: number, w: Float32Array, b: Float32Array | null, outDim: number): Float32Array {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const yo = r * outDim;
    if (b) for (let j = 0; j < outDim; j++) y[yo + j] = b[j]!;
    const xo = r * inDim;
    for (let i = 0; i < inDim; i++) {
      const xv = x[xo + i]!;
      if (xv === 0) continue;
      const wo = i * outDim;
      for (let j = 0; j < outDim; j++) y[yo + j]! += xv * w[wo + j]!;
    }
  }
  return y;
}

/** Accumulates dW (+= xᵀ·dy), db (+= Σ dy) and returns dx (= dy·Wᵀ) when wanted. */
function denseBackward(
  x: Float32Array,
  rows: number,
  inDim: number,
  w: Float32Array,
  outDim: number,
  dy: Float32Array,
  dw: Float32Array | null,
  db: Float32Array | null,
  wantDx: boolean,
): Float32Array | null {
  const dx = wantDx ? new Float32Array(rows * inDim) : null;
  for (let r = 0; r < rows; r++) {
    const yo = r * outDim;
    if (db) for (let j = 0; j < outDim; j++) db[j]! += dy[yo + j]!;
    const xo = r * inDim;
    for (let i = 0; i < inDim; i++) {
      const xv = x[xo + i]!;
      const wo = i * outDim;
      if (dw && xv !== 0) for (let j = 0; j < outDim; j++) dw[wo + j]! += xv * dy[yo + j]!;
      if (dx) {
        let acc = 0;
        for (let j = 0; j < outDim; j++) acc += w[wo + j]! * dy[yo + j]!;
        dx[xo + i] = acc;
      }
    }
  }
  return dx;
}

function activate(pre: Float32Array, act: Activation): Float32Array {
  const out = new Float32Array(pre.length);
  for (let i = 0; i < pre.length; i++) {
    const v = pre[i]!;
    out[i] = act === 'tanh' ? M_tanh(v) : act === 'relu' ? (v > 0 ? v : 0) : v / (1 + M_exp(-v));
  }
  return out;
}

/** d(act)/d(pre) · dy, in place into dy. */
function activateBackward(pre: Float32Array, post: Float32Array, dy: Float32Array, act: Activation): void {
  for (let i = 0; i < pre.length; i++) {
    let d: number;
    if (act === 'tanh') d = 1 - post[i]! * post[i]!;
    else if (act === 'relu') d = pre[i]! > 0 ? 1 : 0;
    else {
      const s = 1 / (1 + M_exp(-pre[i]!));
      d = s * (1 + pre[i]! * (1 - s));
    }
    dy[i] = dy[i]! * d;
  }
}

export interface ForwardCache {
  rows: number;
  ids: Int32Array;
  /** inputs[l] = input of hidden layer l; pres[l] = its pre-activation; last input = final hidden. */
  inputs: Float32Array[];
  pres: Float32Array[];
  thought: { zs: Float32Array[][]; mean: Float32Array } | null;
  logits: Float32Array;
}

export interface ForwardOptions {
  /** Use the thought module when the model has one (default true). */
  thoughts?: boolean;
}

/** Logits [rows × vocab] for `rows` contexts (`ids`: rows × context token ids). */
export function forward(m: Model, ids: Int32Array, rows: number, opts: ForwardOptions = {}): ForwardCache {
  const a = m.arch;
  const E = a.embed;
  const inDim0 = a.context * E;
  const emb = m.get('embed');
  const x0 = new Float32Array(rows * inDim0);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < a.context; c++) {
      const id = ids[r * a.context + c]!;
      x0.set(emb.subarray(id * E, id * E + E), r * inDim0 + c * E);
    }
  }
  const inputs: Float32Array[] = [x0];
  const pres: Float32Array[] = [];
  let x: Float32Array = x0;
  let inDim = inDim0;
  a.hidden.forEach((w, l) => {
    const pre = dense(x, rows, inDim, m.get(`h${l}.w`), m.get(`h${l}.b`), w);
    pres.push(pre);
    x = activate(pre, a.activation);
    inputs.push(x);
    inDim = w;
  });
  const logits = dense(x, rows, inDim, m.get('out.w'), m.get('out.b'), a.vocab);
  let thought: ForwardCache['thought'] = null;
  if (a.thought && opts.thoughts !== false) {
    const H = inDim;
    const D = a.thought.dim;
    const tok = m.get('thought.tokens');
    const tw = m.get('thought.w');
    const tb = m.get('thought.b');
    const proj = dense(x, rows, H, m.get('thought.in'), null, D);
    const mean = new Float32Array(rows * D);
    const zs: Float32Array[][] = [];
    for (let j = 0; j < a.thought.count; j++) {
      const z0 = new Float32Array(rows * D);
      for (let r = 0; r < rows; r++) for (let h = 0; h < D; h++) z0[r * D + h] = proj[r * D + h]! + tok[j * D + h]!;
      const chain: Float32Array[] = [z0];
      let z: Float32Array = z0;
      for (let k = 0; k < a.thought.length; k++) {
        z = activate(dense(z, rows, D, tw, tb, D), 'tanh');
        chain.push(z);
      }
      for (let i = 0; i < z.length; i++) mean[i]! += z[i]! / a.thought.count;
      zs.push(chain);
    }
    const mixed = dense(mean, rows, D, m.get('thought.mix'), null, a.vocab);
    for (let i = 0; i < logits.length; i++) logits[i]! += mixed[i]!;
    thought = { zs, mean };
  }
  return { rows, ids, inputs, pres, thought, logits };
}

export interface LossResult {
  /** Sum over rows of −log p(target). */
  lossSum: number;
  correct: number;
  perRowLoss: Float32Array;
  perRowCorrect: Uint8Array;
  /** d(mean loss)/d(logits), when asked for. */
  dlogits: Float32Array | null;
}

/** Softmax cross-entropy of `logits` against `targets`; gradient of the mean loss if `withGrad`. */
export function softmaxXent(logits: Float32Array, targets: Int32Array, rows: number, vocab: number, withGrad: boolean): LossResult {
  const dlogits = withGrad ? new Float32Array(rows * vocab) : null;
  const perRowLoss = new Float32Array(rows);
  const perRowCorrect = new Uint8Array(rows);
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    let max = -Infinity;
    let arg = 0;
    for (let j = 0; j < vocab; j++) {
      if (logits[o + j]! > max) {
        max = logits[o + j]!;
        arg = j;
      }
    }
    let z = 0;
    for (let j = 0; j < vocab; j++) z += M_exp(logits[o + j]! - max);
    const t = targets[r]!;
    const loss = M_log(z) + max - logits[o + t]!;
    perRowLoss[r] = loss;
    lossSum += loss;
    if (arg === t) {
      correct++;
      perRowCorrect[r] = 1;
    }
    if (dlogits) {
      for (let j = 0; j < vocab; j++) dlogits[o + j] = M_exp(logits[o + j]! - max) / z / rows;
      dlogits[o + t]! -= 1 / rows;
    }
  }
  return { lossSum, correct, perRowLoss, perRowCorrect, dlogits };
}

/**
 * Backward pass: accumulates into `grads` the gradient of the loss whose d/d(logits) is `dlogits`.
 * `trainable(name)` limits the work: when no base tensor is trainable only the thought module is
 * differentiated.
 */
export function backward(m: Model, cache: ForwardCache, dlogits: Float32Array, grads: Grads, trainable: (name: string) => boolean = () => true): void {
  const a = m.arch;
  const rows = cache.rows;
  const L = a.hidden.length;
  const last = cache.inputs[L]!;
  const H = L > 0 ? a.hidden[L - 1]! : a.context * a.embed;
  const baseTrainable = m.specs.some((s) => !s.name.startsWith('thought.') && trainable(s.name));
  const g = (name: string) => (trainable(name) ? grads.get(name)! : null);
  let dx = denseBackward(last, rows, H, m.get('out.w'), a.vocab, dlogits, g('out.w'), g('out.b'), baseTrainable);
  if (a.thought && cache.thought) {
    const { zs, mean } = cache.thought;
    const D = a.thought.dim;
    const dmean = denseBackward(mean, rows, D, m.get('thought.mix'), a.vocab, dlogits, g('thought.mix'), null, true)!;
    const tw = m.get('thought.w');
    const dtw = g('thought.w');
    const dtb = g('thought.b');
    const dtok = g('thought.tokens');
    const dtin = g('thought.in');
    const needChain = !!(dtw || dtb || dtok || dtin || baseTrainable);
    const dproj = new Float32Array(rows * D);
    for (let j = 0; j < a.thought.count && needChain; j++) {
      const chain = zs[j]!;
      let dz: Float32Array = new Float32Array(rows * D);
      for (let i = 0; i < dz.length; i++) dz[i] = dmean[i]! / a.thought.count;
      for (let k = a.thought.length; k >= 1; k--) {
        const z = chain[k]!;
        activateBackward(z, z, dz, 'tanh');
        dz = denseBackward(chain[k - 1]!, rows, D, tw, D, dz, dtw, dtb, true)!;
      }
      if (dtok) for (let r = 0; r < rows; r++) for (let h = 0; h < D; h++) dtok[j * D + h]! += dz[r * D + h]!;
      for (let i = 0; i < dz.length; i++) dproj[i]! += dz[i]!;
    }
    if (needChain) {
      const dxT = denseBackward(last, rows, H, m.get('thought.in'), D, dproj, dtin, null, !!dx);
      if (dx && dxT) for (let i = 0; i < dx.length; i++) dx[i]! += dxT[i]!;
    }
  }
  if (!dx) return;
  for (let l = L - 1; l >= 0; l--) {
    activateBackward(cache.pres[l]!, cache.inputs[l + 1]!, dx, a.activation);
    const inDim = l === 0 ? a.context * a.embed : a.hidden[l - 1]!;
    dx = denseBackward(cache.inputs[l]!, rows, inDim, m.get(`h${l}.w`), a.hidden[l]!, dx, g(`h${l}.w`), g(`h${l}.b`), l > 0 || trainable('embed'));
    if (!dx) return;
  }
  const demb = g('embed');
  if (!demb) return;
  const E = a.embed;
  const inDim0 = a.context * E;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < a.context; c++) {
      const id = cache.ids[r * a.context + c]!;
      for (let e = 0; e < E; e++) demb[id * E + e]! += dx[r * inDim0 + c * E + e]!;
    }
  }
}
