import type { TheaterEvidence } from './evidence';
import { closeTo, flag, metric, report, round, type IndicatorCheck, type IndicatorReport } from './indicator';
import type { TheaterTolerances } from './tolerances';

/**
 * Fake metrics: the phase's claims about model quality against the engine's re-measurement of the
 * same model on the audit split; perfect scores no char-level model reaches on held-out text; and
 * claimed improvements larger than the measured improvement from input to output.
 *
 * Claim keys (the forge's names, which command executors implementing a phase report too):
 * about the output model — accuracy: val_accuracy, final_accuracy, post_accuracy,
 * validation_results.after.accuracy; loss: val_loss, validation_results.after.val_loss;
 * perplexity: val_perplexity, post_perplexity, validation_results.after.perplexity; fitness
 * (= exp(−loss)): final_fitness. Claims about the input model (initial_accuracy, pre_accuracy,
 * initial_val_loss, input_val_loss, lm_val_loss_before, validation_results.before.*) enter the
 * improvement check: understating the baseline is how an improvement is inflated.
 */
type Kind = 'accuracy' | 'loss' | 'perplexity' | 'fitness';

const OUTPUT_CLAIMS: [string, Kind][] = [
  ['val_accuracy', 'accuracy'],
  ['final_accuracy', 'accuracy'],
  ['post_accuracy', 'accuracy'],
  ['validation_results.after.accuracy', 'accuracy'],
  ['val_loss', 'loss'],
  ['validation_results.after.val_loss', 'loss'],
  ['val_perplexity', 'perplexity'],
  ['post_perplexity', 'perplexity'],
  ['validation_results.after.perplexity', 'perplexity'],
  ['final_fitness', 'fitness'],
];

/** Claims compared before vs after for the improvement check: [before key, after key]. */
const IMPROVEMENT_PAIRS: [string, string, Kind][] = [
  ['initial_accuracy', 'final_accuracy', 'accuracy'],
  ['pre_accuracy', 'post_accuracy', 'accuracy'],
  ['validation_results.before.accuracy', 'validation_results.after.accuracy', 'accuracy'],
  ['initial_val_loss', 'val_loss', 'loss'],
  ['input_val_loss', 'val_loss', 'loss'],
  ['lm_val_loss_before', 'val_loss', 'loss'],
  ['validation_results.before.val_loss', 'validation_results.after.val_loss', 'loss'],
];

/** Claims whose perfect value a small char-level model cannot reach on held-out text. */
const PERFECT = { accuracy: /(^|_)accuracy$/, loss: /(^|_)loss$/, perplexity: /(^|_)perplexity$/ };

/** A claim expressed as the quantity we measure: accuracy as is, the rest as a loss in nats. */
function asMeasured(kind: Kind, v: number): number {
  if (kind === 'perplexity') return Math.log(v);
  if (kind === 'fitness') return -Math.log(v);
  return v;
}

/**
 * Output claims against the re-measurement. One-sided: only a claim *better* than the measurement
 * is suspect. The audit split is a little easier than the validation split the forge reports on
 * (its lines come from the grammar only, not the shipped prose), so honest claims come out worse
 * than the re-measurement; a model that is better than it claims is modest, not theater.
 */
function claimChecks(metrics: Record<string, unknown>, measured: { loss: number; accuracy: number }, t: TheaterTolerances): IndicatorCheck[] {
  const out: IndicatorCheck[] = [];
  for (const [key, kind] of OUTPUT_CLAIMS) {
    const claimed = metric(metrics, key);
    if (claimed === null) continue;
    if (kind === 'accuracy') {
      const c = closeTo(`${key} vs re-measured accuracy`, claimed, measured.accuracy, t.accuracy_tolerance, "the output model's next-character accuracy on the engine's audit split");
      out.push(claimed <= measured.accuracy ? modest(c) : c);
    } else {
      const asLoss = asMeasured(kind, claimed);
      const c = closeTo(`${key} vs re-measured loss`, round(asLoss), measured.loss, t.loss_tolerance, `the output model's held-out loss in nats on the audit split${kind === 'loss' ? '' : ` (claimed ${kind} ${claimed} converted to loss)`}`);
      if (!Number.isFinite(asLoss)) out.push({ ...c, claimed, passed: false, severity: 1 });
      else out.push(asLoss >= measured.loss ? modest(c) : c);
    }
  }
  return out;
}

/** A claim on the safe side of the measurement passes whatever the gap. */
function modest(c: IndicatorCheck): IndicatorCheck {
  return { ...c, passed: true, severity: 0 };
}

function perfectScores(metrics: Record<string, unknown>): IndicatorCheck[] {
  const out: IndicatorCheck[] = [];
  for (const [key, v] of Object.entries(metrics)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (PERFECT.accuracy.test(key) && v >= 0.999) out.push(flag(`${key} is perfect`, false, v, null, '< 0.999', 'a perfect held-out accuracy is not reachable for a char-level model; it was not measured'));
    if (PERFECT.loss.test(key) && v <= 0.001) out.push(flag(`${key} is perfect`, false, v, null, '> 0.001', 'a zero loss is not reachable on real text; it was not measured'));
    if (PERFECT.perplexity.test(key) && v <= 1.001) out.push(flag(`${key} is perfect`, false, v, null, '> 1.001', 'a perplexity of 1 means perfect prediction; it was not measured'));
  }
  return out;
}

function improvementChecks(metrics: Record<string, unknown>, e: TheaterEvidence, t: TheaterTolerances): IndicatorCheck[] {
  const out: IndicatorCheck[] = [];
  if (e.inputEval && e.outputEval) {
    for (const [before, after, kind] of IMPROVEMENT_PAIRS) {
      const b = metric(metrics, before);
      const a = metric(metrics, after);
      if (b === null || a === null) continue;
      // improvement = accuracy gained or loss shed
      const claimed = kind === 'accuracy' ? a - b : b - a;
      const measured = kind === 'accuracy' ? e.outputEval.accuracy - e.inputEval.accuracy : e.inputEval.loss - e.outputEval.loss;
      const tol = kind === 'accuracy' ? t.accuracy_tolerance : t.loss_tolerance;
      const c = closeTo(`improvement ${before} → ${after}`, round(claimed), measured, tol, `claimed ${kind} improvement vs the one measured from the input to the output model on the audit split`);
      // only an overstated improvement is theater; an understated one is modesty
      out.push(claimed <= measured ? modest(c) : c);
    }
  }
  // an explicit improvement claim about a model that did not change at all cannot be true
  if (e.input && e.output && e.input.sha256 === e.output.sha256) {
    for (const [key, v] of Object.entries(metrics)) {
      if (/(^|_)improvement$/.test(key) && typeof v === 'number' && v > 0) {
        out.push(flag(`${key} with an unchanged model`, false, v, 0, 'output model ≠ input model', 'an improvement is claimed but the output model is byte-for-byte the input model'));
      }
    }
  }
  return out;
}

export function fakeMetrics(metrics: Record<string, unknown>, e: TheaterEvidence, t: TheaterTolerances): IndicatorReport {
  const checks: IndicatorCheck[] = [];
  if (e.outputEval) checks.push(...claimChecks(metrics, e.outputEval, t));
  checks.push(...perfectScores(metrics), ...improvementChecks(metrics, e, t));
  return report(checks);
}
