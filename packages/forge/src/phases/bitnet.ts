import type { PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import { capEvenly } from '../data/datasets';
import { mb, PhaseKit } from '../kit';
import { encodeModel, type Ternary, dequantizeTernary } from '../model/serialize';
import { evaluateAsync } from '../model/evaluate';
import { forward } from '../model/mlp';
import type { Model } from '../model/model';
import { round } from '../stats';
import { dataFor, validSet } from './common';

/**
 * bitnet — BitNet b1.58-style ternary quantization of every weight matrix (hidden layers, output
 * head, thought cell and mixing head; embeddings and biases stay float32): per group of
 * `group_size` consecutive weights the scale α = mean |w| (absmean), codes t = clip(round(w/α),
 * −1, 1), value α·t. With `calibrate_scales` (default on) each group's α is then refit by least
 * squares weighted by the layer's input second moments measured on `calibration_samples` training
 * contexts (codes unchanged, so values stay in {−α, 0, +α}). The output artifact stores the codes
 * at 1.6 bits (5 trits per byte) plus one float32 α per group.
 */
const { abs: M_abs } = Math;

export const BITNET_DEFAULTS = { calibrate_scales: true };

/** Per-input-row mean of x² of each weight matrix, from forward passes over the calibration contexts. */
async function inputSecondMoments(model: Model, ids: Int32Array, rows: number, tick: () => Promise<void>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  const add = (name: string, x: Float32Array, n: number, dim: number, weight: number) => {
    let m = out.get(name);
    if (!m) out.set(name, (m = new Float32Array(dim)));
    for (let r = 0; r < n; r++) for (let i = 0; i < dim; i++) m[i]! += (weight * x[r * dim + i]! * x[r * dim + i]!) / rows;
  };
  const a = model.arch;
  const C = a.context;
  for (let from = 0; from < rows; from += 128) {
    const n = Math.min(128, rows - from);
    const c = forward(model, ids.subarray(from * C, (from + n) * C), n);
    let dim = a.context * a.embed;
    a.hidden.forEach((w, l) => {
      add(`h${l}.w`, c.inputs[l]!, n, dim, 1);
      dim = w;
    });
    add('out.w', c.inputs[a.hidden.length]!, n, dim, 1);
    if (c.thought && a.thought) {
      add('thought.in', c.inputs[a.hidden.length]!, n, dim, 1);
      add('thought.mix', c.thought.mean, n, a.thought.dim, 1);
      // the thought cell sees every step of every chain
      const steps = c.thought.zs.flatMap((chain) => chain.slice(0, -1));
      for (const z of steps) add('thought.w', z, n, a.thought.dim, 1 / steps.length);
    }
    await tick();
  }
  return out;
}

export function quantizeTernary(w: Float32Array, cols: number, groupSize: number, rowMoments: Float32Array | null): Ternary {
  const n = w.length;
  const groups = Math.ceil(n / groupSize);
  const scales = new Float32Array(groups);
  const codes = new Int8Array(n);
  for (let g = 0; g < groups; g++) {
    const from = g * groupSize;
    const to = Math.min(n, from + groupSize);
    let abs = 0;
    for (let i = from; i < to; i++) abs += M_abs(w[i]!);
    const alpha = abs / (to - from);
    for (let i = from; i < to; i++) codes[i] = alpha > 0 ? Math.max(-1, Math.min(1, Math.round(w[i]! / alpha))) : 0;
    let scale = alpha;
    if (rowMoments) {
      // least-squares α for fixed codes: argmin Σ s_i (w_i − α t_i)², s_i = E[x_row(i)²]
      let num = 0;
      let den = 0;
      for (let i = from; i < to; i++) {
        const s = rowMoments[Math.floor(i / cols)]! + 1e-8;
        num += s * w[i]! * codes[i]!;
        den += s * codes[i]! * codes[i]!;
      }
      if (den > 0 && num > 0) scale = num / den;
    }
    scales[g] = scale;
  }
  return { groupSize, scales, codes };
}

export async function runBitnet(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'bitnet'>>(ctx);
  const cfg = kit.cfg;
  const calibrate = (kit.cfg.calibrate_scales as boolean | undefined) ?? BITNET_DEFAULTS.calibrate_scales;
  const input = await kit.inputModel();
  const model = input.model;
  // the input's real size: the artifact's bytes, or (first phase) the float32 encoding's
  const originalBytes = input.bytes ?? encodeModel(model).byteLength;
  // calibration contexts come from the training data; perplexities are measured on held-out data
  const calib = capEvenly(dataFor(kit.seed, kit.scale, model.arch).train, cfg.calibration_samples);
  const valid = validSet(kit.seed, kit.scale, model.arch);
  const tick = () => kit.tick();
  const pre = await evaluateAsync(model, valid, tick);
  await kit.progress(10, 'measured pre-quantization perplexity', { pre_perplexity: round(pre.perplexity) });
  const moments = calibrate ? await inputSecondMoments(model, calib.contexts, calib.count, tick) : new Map<string, Float32Array>();

  const ternary = new Map<string, Ternary>();
  const weights = model.specs.filter((s) => s.kind === 'weight');
  let zeros = 0;
  let total = 0;
  for (const [k, s] of weights.entries()) {
    const q = quantizeTernary(model.get(s.name), s.shape[1]!, cfg.group_size, moments.get(s.name) ?? null);
    ternary.set(s.name, q);
    for (const c of q.codes) if (c === 0) zeros++;
    total += q.codes.length;
    await kit.progress(10 + ((k + 1) / weights.length) * 70, `quantized ${s.name} (${s.shape.join('×')})`, { layers_compressed: k + 1 });
  }
  const quantized = model.map((name, t) => (ternary.has(name) ? dequantizeTernary(ternary.get(name)!) : t.slice()));
  const post = await evaluateAsync(quantized, valid, tick);
  const { ref, bytes } = await kit.putModel(quantized, 'model', { ternary, meta: { quantization: 'ternary-absmean', group_size: cfg.group_size } });
  await kit.progress(100, 'quantized model written', { layers_compressed: weights.length });
  return {
    metrics: {
      executor: 'forge',
      compression_ratio: round(originalBytes / bytes.byteLength, 4),
      original_size_mb: mb(originalBytes),
      compressed_size_mb: mb(bytes.byteLength),
      original_size_bytes: originalBytes,
      compressed_size_bytes: bytes.byteLength,
      layers_compressed: weights.length,
      pre_perplexity: round(pre.perplexity),
      post_perplexity: round(post.perplexity),
      pre_accuracy: round(pre.accuracy),
      post_accuracy: round(post.accuracy),
      accuracy_preserved: round(pre.accuracy > 0 ? post.accuracy / pre.accuracy : 0),
      sparsity_ratio: round(zeros / Math.max(1, total)),
      quantized_weights: total,
      bits_per_quantized_weight: round((ternary.size ? [...ternary.values()].reduce((s, q) => s + Math.ceil(q.codes.length / 5) * 8 + q.scales.length * 32, 0) : 0) / Math.max(1, total), 4),
      group_size: cfg.group_size,
      calibration_samples: calib.count,
      calibrated_scales: calibrate,
      seed: kit.seed,
      wall_seconds: kit.elapsedSeconds(),
    },
    artifacts: { model: ref },
  };
}
