import { hash32, Rng } from '../rng';

/**
 * The synthetic reasoning set: small arithmetic problems written as text, e.g. `37+45=82`.
 * A problem's split is decided by a hash of the problem itself, so train and held-out problems
 * never overlap whatever the seed; the seed only decides which problems are drawn and their order.
 */
export interface Problem {
  /** The prompt up to and including `=`. */
  prompt: string;
  /** The answer characters (without the trailing newline). */
  answer: string;
}

export function problemText(p: Problem): string {
  return `${p.prompt}${p.answer}`;
}

function isHeldOut(key: string): boolean {
  return hash32(`split|${key}`) % 100 < 20;
}

function drawProblem(rng: Rng, maxOperand: number): Problem {
  const op = rng.pick(['+', '+', '-', '*']);
  let a = rng.int(maxOperand + 1);
  let b = rng.int(maxOperand + 1);
  if (op === '*') {
    a = rng.int(13);
    b = rng.int(13);
  }
  if (op === '-' && b > a) [a, b] = [b, a];
  const value = op === '+' ? a + b : op === '-' ? a - b : a * b;
  return { prompt: `${a}${op}${b}=`, answer: String(value) };
}

/** `count` distinct problems of the given split (`train` or `heldout`). */
export function arithmeticProblems(split: 'train' | 'heldout', count: number, rng: Rng, maxOperand = 49): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  let guard = 0;
  while (out.length < count && guard++ < count * 200) {
    const p = drawProblem(rng, maxOperand);
    if (seen.has(p.prompt) || isHeldOut(p.prompt) !== (split === 'heldout')) continue;
    seen.add(p.prompt);
    out.push(p);
  }
  return out;
}
