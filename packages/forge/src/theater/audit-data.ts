import { arithmeticProblems, problemText } from '../data/arithmetic';
import { generatedLines } from '../data/corpus';
import { lmData, linesToExamples, type Examples } from '../data/datasets';
import { Rng } from '../rng';

/**
 * The engine's audit split: held-out examples that no phase ever sees, neither for training nor
 * for selection (evomerge's fitness and adas' search select on `validSet`, so a phase could
 * overfit that one). Lines come from the same grammar and the same held-out arithmetic problems
 * as the validation split, drawn from a stream of their own, and every line that also occurs in
 * the training or validation split is dropped — so the audit set measures the model on data it
 * cannot have memorised, from the same distribution the phases report on.
 */
const cache = new Map<string, Examples>();

export function auditSet(seed: number, scale: number, context: number): Examples {
  const key = `${seed}|${scale}|${context}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const data = lmData(seed, scale, context);
  const known = new Set([...data.trainLines, ...data.validLines]);
  const lines: string[] = [];
  const take = (l: string) => {
    if (known.has(l)) return;
    known.add(l);
    lines.push(l);
  };
  // proportions of the validation split: ~30 grammar lines and 60 problems per unit of scale
  for (const l of generatedLines(Math.round(60 * scale), new Rng(seed, 'audit', 'lines'))) take(l);
  for (const p of arithmeticProblems('heldout', Math.round(90 * scale), new Rng(seed, 'audit', 'arith'))) take(problemText(p));
  const ex = linesToExamples(lines, context);
  cache.set(key, ex);
  return ex;
}
