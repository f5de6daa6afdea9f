import { sameShapes } from '../model/arch';
import type { Model } from '../model/model';
import type { TheaterEvidence } from './evidence';
import { flag, report, round, type IndicatorCheck, type IndicatorReport } from './indicator';
import type { TheaterTolerances } from './tolerances';

/**
 * Shallow implementation: did the phase produce a model of its own? Every phase of a pipeline
 * transforms the model it receives, so the output model must exist and be readable, must not be
 * the input file again, must differ from the input by more than a rounding error (the decoded
 * weights, not only the bytes: re-encoding the same weights gives a new sha256), and must not be
 * a placeholder (a weight matrix or embedding whose values are all the same, e.g. all zero).
 */

/** Relative L2 change ‖out − in‖ / ‖in‖ over all tensors (same architecture). */
export function relativeWeightChange(input: Model, output: Model): number {
  let diff = 0;
  let base = 0;
  for (const s of input.specs) {
    const a = input.get(s.name);
    const b = output.get(s.name);
    for (let i = 0; i < a.length; i++) {
      const d = b[i]! - a[i]!;
      diff += d * d;
      base += a[i]! * a[i]!;
    }
  }
  return base > 0 ? Math.sqrt(diff) / Math.sqrt(base) : diff > 0 ? Infinity : 0;
}

/** Weight matrices and embeddings whose values are all equal (biases may legitimately be all zero). */
export function constantTensors(m: Model): string[] {
  return m.specs
    .filter((s) => s.kind === 'weight' || s.kind === 'embedding')
    .filter((s) => {
      const t = m.get(s.name);
      return t.every((v) => v === t[0]);
    })
    .map((s) => s.name);
}

export function shallowImplementation(e: TheaterEvidence, t: TheaterTolerances): IndicatorReport {
  const checks: IndicatorCheck[] = [];
  if (!e.output) {
    checks.push(flag('output model present', false, null, 'missing', 'a `model` artifact', 'the phase wrote no model artifact: nothing was built'));
    return report(checks);
  }
  if (!e.output.decoded) {
    checks.push(flag('output model readable', false, e.output.ref.uri, e.output.error ?? 'unreadable', 'a forge model file whose checksum verifies', 'the output model could not be read back and decoded'));
    return report(checks);
  }
  const out = e.output.decoded.model;
  const constant = constantTensors(out);
  checks.push(flag('no placeholder weights', constant.length === 0, null, constant.length ? `constant: ${constant.join(', ')}` : 'none constant', 'no weight matrix or embedding with all values equal', 'placeholder outputs (all-zero or constant tensors) are not a trained model'));
  if (e.input) {
    checks.push(flag('output file differs from input file', e.output.sha256 !== e.input.sha256, e.output.sha256, e.input.sha256, 'sha256 differs', 'the output model artifact is byte-for-byte the input model'));
    const inp = e.input.decoded?.model;
    if (inp) {
      if (sameShapes(inp.arch, out.arch)) {
        const change = relativeWeightChange(inp, out);
        checks.push(flag('weights changed', change >= t.min_weight_change, null, round(change), `relative L2 change ≥ ${t.min_weight_change}`, 'decoded output weights vs decoded input weights, ‖out − in‖ / ‖in‖'));
      } else {
        checks.push(flag('weights changed', true, null, 'architecture changed', `relative L2 change ≥ ${t.min_weight_change}`, 'the output has a different architecture (tensor shapes) than the input'));
      }
    }
  }
  return report(checks);
}
