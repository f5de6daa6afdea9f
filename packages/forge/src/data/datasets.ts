import { Rng, hash32 } from '../rng';
import { arithmeticProblems, problemText, type Problem } from './arithmetic';
import { generatedLines, SHIPPED_LINES } from './corpus';
import { encode, NEWLINE, PAD } from './vocab';

/**
 * Next-character examples: `contexts` holds `count × context` token ids (left-padded with PAD),
 * `targets` the character that follows each context. `weights` (optional) scores only some
 * positions (e.g. answers), others get 0.
 */
export interface Examples {
  context: number;
  count: number;
  contexts: Int32Array;
  targets: Int32Array;
  /** Example i belongs to group groups[i] (a line / a problem), for per-example statistics. */
  groups: Int32Array;
}

/** Turn lines into next-char examples; `scoreFrom(line)` = first position that is a target. */
export function linesToExamples(lines: readonly string[], context: number, scoreFrom: (i: number) => number = () => 0): Examples {
  let count = 0;
  const encoded = lines.map((l, i) => {
    const ids = encode(l);
    count += Math.max(0, ids.length + 1 - scoreFrom(i));
    return ids;
  });
  const contexts = new Int32Array(count * context);
  const targets = new Int32Array(count);
  const groups = new Int32Array(count);
  let k = 0;
  encoded.forEach((ids, g) => {
    // the line followed by a newline: predicting the end of the line is part of the task
    const n = ids.length + 1;
    for (let t = scoreFrom(g); t < n; t++) {
      for (let c = 0; c < context; c++) {
        const src = t - context + c;
        contexts[k * context + c] = src < 0 ? PAD : ids[src]!;
      }
      targets[k] = t < ids.length ? ids[t]! : NEWLINE;
      groups[k] = g;
      k++;
    }
  });
  return { context, count, contexts, targets, groups };
}

/** A subset of examples (by index list). */
export function subset(ex: Examples, idx: ArrayLike<number>): Examples {
  const n = idx.length;
  const contexts = new Int32Array(n * ex.context);
  const targets = new Int32Array(n);
  const groups = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = idx[i]!;
    contexts.set(ex.contexts.subarray(j * ex.context, (j + 1) * ex.context), i * ex.context);
    targets[i] = ex.targets[j]!;
    groups[i] = ex.groups[j]!;
  }
  return { context: ex.context, count: n, contexts, targets, groups };
}

/** At most `max` examples, evenly spaced (deterministic, independent of the seed). */
export function capEvenly(ex: Examples, max: number): Examples {
  if (ex.count <= max) return ex;
  const idx = Array.from({ length: max }, (_, i) => Math.floor((i * ex.count) / max));
  return subset(ex, idx);
}

export interface LmData {
  train: Examples;
  /** The training examples split by source, for pre-training on a data mix. */
  trainText: Examples;
  trainArith: Examples;
  /** Held-out: lines and problems never seen in training. */
  valid: Examples;
  trainLines: string[];
  validLines: string[];
}

const cache = new Map<string, LmData>();

/**
 * The language-modelling data of the forge: the shipped lines plus `200 × scale` generated ones,
 * and `300 × scale` arithmetic problems. A line goes to the held-out split by a hash of its text
 * (shipped) or of its problem (arithmetic), about 15–20 %.
 */
export function lmData(seed: number, scale: number, context: number): LmData {
  const key = `${seed}|${scale}|${context}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const rng = new Rng(seed, 'data', 'lm');
  const text = [...SHIPPED_LINES, ...generatedLines(Math.round(200 * scale), rng)];
  const trainLines: string[] = [];
  const validLines: string[] = [];
  const seen = new Set<string>();
  for (const l of text) {
    if (seen.has(l)) continue;
    seen.add(l);
    (hash32(`line|${l}`) % 100 < 15 ? validLines : trainLines).push(l);
  }
  const arithRng = new Rng(seed, 'data', 'arith');
  const arithTrain = arithmeticProblems('train', Math.round(300 * scale), arithRng).map(problemText);
  const textTrain = [...trainLines];
  trainLines.push(...arithTrain);
  validLines.push(...arithmeticProblems('heldout', Math.round(60 * scale), arithRng).map(problemText));
  const data: LmData = {
    train: linesToExamples(trainLines, context),
    trainText: linesToExamples(textTrain, context),
    trainArith: linesToExamples(arithTrain, context),
    valid: linesToExamples(validLines, context),
    trainLines,
    validLines,
  };
  cache.set(key, data);
  return data;
}

/** Arithmetic problems as examples scored on their answers only (answer chars + end of line). */
export function answerExamples(problems: readonly Problem[], context: number): Examples {
  return linesToExamples(problems.map(problemText), context, (i) => problems[i]!.prompt.length);
}
