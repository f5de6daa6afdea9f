import type { PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import { mb, PhaseKit } from '../kit';
import { evaluateAsync } from '../model/evaluate';
import type { Model } from '../model/model';
import { encodeModel, modelArrays, modelFromArrays, type Codebook } from '../model/serialize';
import { sampleBatch, trainStep } from '../model/train';
import { round } from '../stats';
import { dataFor, evalSummary, makeOptimizer, optimizerArrays, restoreOptimizer, tailMean, validSet } from './common';

/**
 * compression — magnitude pruning of every weight matrix and the embedding to `target_sparsity`
 * (per tensor), a masked fine-tune of `finetune_steps` to recover quality, then per-tensor k-means
 * codebook quantization of the surviving weights (`codebook_size` centroids, quantile-initialised
 * Lloyd iterations). The artifact stores a codebook, a non-zero bitmap and ⌈log2 k⌉-bit indices per
 * tensor, deflated. `method`: `prune+codebook` (default), `pruning` (no codebook) or `codebook`
 * (no pruning); other values are logged and run the default.
 */
const { abs: M_abs } = Math;

export const COMPRESSION_DEFAULTS = { finetune_steps: 100, kmeans_iterations: 20, learning_rate: 0.001, batch_size: 32, checkpoint_every: 50 };

type Method = 'prune+codebook' | 'pruning' | 'codebook';

export function kmeans1d(values: Float32Array, k: number, iterations: number): { centroids: Float32Array; assign: Int32Array } {
  const n = values.length;
  const sorted = Float32Array.from(values).sort();
  const kk = Math.max(1, Math.min(k, n));
  const centroids = new Float32Array(kk);
  for (let c = 0; c < kk; c++) centroids[c] = sorted[Math.min(n - 1, Math.floor(((c + 0.5) * n) / kk))] ?? 0;
  const assign = new Int32Array(n);
  for (let it = 0; it < iterations; it++) {
    const sums = new Float64Array(kk);
    const counts = new Int32Array(kk);
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bd = Infinity;
      for (let c = 0; c < kk; c++) {
        const d = M_abs(values[i]! - centroids[c]!);
        if (d < bd) {
          bd = d;
          best = c;
        }
      }
      if (assign[i] !== best || it === 0) changed = changed || assign[i] !== best;
      assign[i] = best;
      sums[best]! += values[i]!;
      counts[best]!++;
    }
    for (let c = 0; c < kk; c++) if (counts[c]! > 0) centroids[c] = sums[c]! / counts[c]!;
    if (!changed && it > 0) break;
  }
  return { centroids, assign };
}

interface CompState {
  step: number;
  losses: number[];
}

export async function runCompression(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'compression'>>(ctx);
  const cfg = kit.cfg;
  const requested = cfg.method ?? 'prune+codebook';
  const method: Method = (['prune+codebook', 'pruning', 'codebook'] as const).includes(requested as Method) ? (requested as Method) : 'prune+codebook';
  if (method !== requested) ctx.logger.info({ method: requested }, 'compression method not built in; running prune+codebook');
  const prune = method !== 'codebook';
  const quantize = method !== 'pruning';
  const steps = prune ? kit.num('finetune_steps', COMPRESSION_DEFAULTS.finetune_steps) : 0;
  const every = kit.num('checkpoint_every', COMPRESSION_DEFAULTS.checkpoint_every);
  const input = await kit.inputModel();
  const original = input.model;
  const originalBytes = input.bytes ?? encodeModel(original).byteLength;
  const denseBytes = encodeModel(original).byteLength;
  const valid = validSet(kit.seed, kit.scale, original.arch);
  const tick = () => kit.tick();
  const before = await evaluateAsync(original, valid, tick);
  const targets = original.specs.filter((s) => s.kind === 'weight' || s.kind === 'embedding').map((s) => s.name);

  // 1. magnitude pruning, per tensor (ties at the threshold are pruned too, deterministically)
  const mask = new Map<string, Uint8Array>();
  let model: Model = original.clone();
  for (const name of targets) {
    const w = model.get(name);
    const keep = new Uint8Array(w.length).fill(1);
    if (prune && cfg.target_sparsity > 0) {
      const order = Array.from(w.keys()).sort((a, b) => M_abs(w[a]!) - M_abs(w[b]!) || a - b);
      const cut = Math.round(cfg.target_sparsity * w.length);
      for (let k = 0; k < cut; k++) {
        keep[order[k]!] = 0;
        w[order[k]!] = 0;
      }
    }
    mask.set(name, keep);
    await kit.tick();
  }
  const pruned = await evaluateAsync(model, valid, tick);
  await kit.progress(15, `pruned to ${cfg.target_sparsity} sparsity`, { pruned_val_loss: round(pruned.loss) });

  // 2. masked fine-tune
  const optCfg = { name: 'adamw' as const, learningRate: kit.num('learning_rate', COMPRESSION_DEFAULTS.learning_rate), weightDecay: 0 };
  let opt = makeOptimizer(optCfg);
  let st: CompState = { step: 0, losses: [] };
  const resumed = kit.resumed<CompState>();
  if (resumed?.ckpt) {
    st = resumed.data;
    const b = await kit.loadBundle<{ optStep: number }>(resumed.ckpt);
    model = modelFromArrays(model.arch, b.arrays, 'm.');
    opt = restoreOptimizer(optCfg, b.json.optStep, b.arrays);
  }
  const data = dataFor(kit.seed, kit.scale, model.arch);
  const batchSize = kit.num('batch_size', COMPRESSION_DEFAULTS.batch_size);
  while (st.step < steps) {
    st.losses.push(trainStep(model, opt, sampleBatch([{ ex: data.train, weight: 1 }], batchSize, kit.seed, 'compression', st.step), () => true, mask));
    st.losses = st.losses.slice(-50);
    st.step++;
    await kit.tick();
    if (st.step % 10 === 0 || st.step === steps) {
      const ck = st.step % every === 0 && st.step < steps;
      await kit.progress(15 + (st.step / steps) * 60, `recovery fine-tune ${st.step}/${steps}`, { finetune_loss: round(tailMean(st.losses, 10), 4) }, ck
        ? { step: st.step, data: st, bundle: { json: { optStep: opt.state.step }, arrays: optimizerArrays(opt, modelArrays(model, 'm.')) } }
        : undefined);
    }
  }

  // 3. codebook quantization of the surviving weights
  const codebook = new Map<string, Codebook>();
  const iters = kit.num('kmeans_iterations', COMPRESSION_DEFAULTS.kmeans_iterations);
  let zeros = 0;
  let total = 0;
  for (const name of targets) {
    const w = model.get(name);
    const keep = mask.get(name)!;
    const nz = Float32Array.from(w.filter((_, i) => keep[i] === 1));
    const index = new Int32Array(w.length).fill(-1);
    if (quantize && nz.length > 0) {
      const { centroids, assign } = kmeans1d(nz, cfg.codebook_size, iters);
      let j = 0;
      for (let i = 0; i < w.length; i++) if (keep[i]) index[i] = assign[j++]!;
      codebook.set(name, { centroids, index });
      for (let i = 0; i < w.length; i++) w[i] = index[i]! < 0 ? 0 : centroids[index[i]!]!;
    }
    for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
    total += w.length;
    await kit.tick();
  }
  await kit.progress(90, 'codebooks built', { tensors: targets.length });
  const after = await evaluateAsync(model, valid, tick);
  const { ref, bytes } = await kit.putModel(model, 'model', { codebook, deflate: true, meta: { method, target_sparsity: cfg.target_sparsity, codebook_size: cfg.codebook_size } });
  await kit.progress(100, 'compressed model written', {});
  const q = (e: typeof before) => ({ val_loss: round(e.loss), perplexity: round(e.perplexity), accuracy: round(e.accuracy) });
  return {
    metrics: {
      executor: 'forge',
      original_size_mb: mb(originalBytes),
      compressed_size_mb: mb(bytes.byteLength),
      dense_f32_size_mb: mb(denseBytes),
      original_size_bytes: originalBytes,
      compressed_size_bytes: bytes.byteLength,
      compression_ratio: round(originalBytes / bytes.byteLength, 4),
      total_compression_ratio: round(denseBytes / bytes.byteLength, 4),
      validation_results: {
        before: q(before),
        after_pruning: q(pruned),
        after: q(after),
        accuracy_retained: round(before.accuracy > 0 ? after.accuracy / before.accuracy : 0),
      },
      method,
      sparsity_achieved: round(zeros / Math.max(1, total)),
      target_sparsity: cfg.target_sparsity,
      codebook_size: cfg.codebook_size,
      finetune_steps: st.step,
      tensors_compressed: targets.length,
      ...evalSummary(after),
      seed: kit.seed,
      wall_seconds: kit.elapsedSeconds(),
    },
    artifacts: { model: ref },
  };
}
