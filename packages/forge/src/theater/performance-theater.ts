import { MB } from '../kit';
import type { Model } from '../model/model';
import { encodeModel } from '../model/serialize';
import type { TheaterEvidence } from './evidence';
import { flag, metric, relativelyClose, closeTo, report, round, type ClaimSide, type IndicatorCheck, type IndicatorReport } from './indicator';
import type { TheaterTolerances } from './tolerances';

/**
 * Performance theater: claimed sizes, compression ratios, sparsity and speed-ups against the real
 * artifacts. Sizes are the bytes the engine read back from the store; the dense size is the same
 * architecture encoded as plain float32 (what `total_compression_ratio` is relative to); sparsity
 * is counted on the decoded weights; speed-up is the engine's own timing of the input vs the output
 * model on the audit split. Claim keys: compressed_size_bytes / _mb, original_size_bytes / _mb,
 * compression_ratio, total_compression_ratio, sparsity_ratio (weight matrices, as bitnet counts
 * it), sparsity_achieved / sparsity (weight matrices and embeddings, as compression counts it),
 * speedup / speed_up / inference_speedup.
 */

function zeroFraction(m: Model, kinds: readonly string[]): number {
  let zeros = 0;
  let total = 0;
  for (const s of m.specs) {
    if (!kinds.includes(s.kind)) continue;
    const t = m.get(s.name);
    for (let i = 0; i < t.length; i++) if (t[i] === 0) zeros++;
    total += t.length;
  }
  return total ? zeros / total : 0;
}

export function performanceTheater(metrics: Record<string, unknown>, e: TheaterEvidence, t: TheaterTolerances): IndicatorReport {
  const checks: IndicatorCheck[] = [];
  const claim = (k: string) => metric(metrics, k);
  const out = e.output && !e.output.error ? e.output : null;
  const inp = e.input && !e.input.error ? e.input : null;
  // Theater overstates: an output smaller, an input larger, a ratio or sparsity higher than real.
  const size = (key: string, claimed: number | null, realBytes: number, unit: number, what: string, side: ClaimSide) => {
    if (claimed !== null) checks.push(relativelyClose(`${key} vs real size`, claimed, realBytes / unit, t.size_tolerance, `${what}: ${realBytes} bytes as read from the artifact store`, side));
  };
  if (out) {
    size('compressed_size_bytes', claim('compressed_size_bytes'), out.bytes, 1, 'the output model artifact', 'not-below');
    size('compressed_size_mb', claim('compressed_size_mb'), out.bytes, MB, 'the output model artifact', 'not-below');
  }
  if (inp) {
    size('original_size_bytes', claim('original_size_bytes'), inp.bytes, 1, 'the input model artifact', 'not-above');
    size('original_size_mb', claim('original_size_mb'), inp.bytes, MB, 'the input model artifact', 'not-above');
    const ratio = claim('compression_ratio');
    if (out && ratio !== null) checks.push(relativelyClose('compression_ratio vs real sizes', ratio, inp.bytes / out.bytes, t.size_tolerance, `input artifact ${inp.bytes} bytes / output artifact ${out.bytes} bytes`, 'not-above'));
  }
  const model = out?.decoded?.model;
  if (model && out) {
    const total = claim('total_compression_ratio');
    if (total !== null) {
      const dense = encodeModel(model).byteLength;
      checks.push(relativelyClose('total_compression_ratio vs real sizes', total, dense / out.bytes, t.size_tolerance, `the architecture as dense float32 (${dense} bytes) / output artifact ${out.bytes} bytes`, 'not-above'));
    }
    const weightSparsity = claim('sparsity_ratio');
    if (weightSparsity !== null) checks.push(closeTo('sparsity_ratio vs zero weights', weightSparsity, zeroFraction(model, ['weight']), t.sparsity_tolerance, 'fraction of exact zeros in the output model’s weight matrices', 'not-above'));
    for (const key of ['sparsity_achieved', 'sparsity']) {
      const s = claim(key);
      if (s !== null) checks.push(closeTo(`${key} vs zero weights`, s, zeroFraction(model, ['weight', 'embedding']), t.sparsity_tolerance, 'fraction of exact zeros in the output model’s weight matrices and embedding', 'not-above'));
    }
  }
  for (const key of ['speedup', 'speed_up', 'inference_speedup']) {
    const s = claim(key);
    if (s === null) continue;
    if (e.inputEval && e.outputEval) {
      const measured = e.inputEval.inference_ms_per_1k / e.outputEval.inference_ms_per_1k;
      const ok = s <= measured * t.speedup_tolerance;
      checks.push(flag(`${key} vs timed inference`, ok, s, round(measured, 3), `≤ ${t.speedup_tolerance}× measured`, `the engine timed both models on the audit split: input ${round(e.inputEval.inference_ms_per_1k, 3)} ms, output ${round(e.outputEval.inference_ms_per_1k, 3)} ms per 1,000 examples`));
    } else {
      checks.push(flag(`${key} vs timed inference`, false, s, null, 'an input and an output model to time', 'a speed-up is claimed but there are no two models the engine could time'));
    }
  }
  return report(checks);
}
