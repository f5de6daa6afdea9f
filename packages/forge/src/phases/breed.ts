import { dare, linear, mutate, rmsDistance, slerp, ties, type MergeOperator } from '../model/merge';
import type { Model } from '../model/model';
import type { Rng } from '../rng';
import { round } from '../stats';

/** How a population member came to be (the merge recipe is the best member's ancestry). */
export interface Recipe {
  id: number;
  generation: number;
  op: MergeOperator | 'seed' | 'mutant' | 'migrant';
  parents: number[];
  param: number | null;
  source?: string;
}

export interface BreedSettings {
  operators: readonly MergeOperator[];
  mutationRate: number;
  mutationScale: number;
  density: number;
}

function tournament(fitness: readonly number[], rng: Rng): number {
  const a = rng.int(fitness.length);
  const b = rng.int(fitness.length);
  return fitness[a]! >= fitness[b]! ? a : b;
}

/**
 * One child: a merge operator drawn from `operators` applied to two tournament-selected parents
 * (ties/dare relative to `base`), then Gaussian mutation. All randomness comes from `rng`, so a
 * generation's children depend only on the seed and the parents — never on where fitness is computed.
 */
export function breedChild(pop: readonly Model[], fitness: readonly number[], ids: readonly number[], base: Model, s: BreedSettings, rng: Rng, id: number, generation: number): { child: Model; recipe: Recipe } {
  const op = rng.pick(s.operators);
  const a = tournament(fitness, rng);
  let b = tournament(fitness, rng);
  if (b === a && pop.length > 1) b = (a + 1 + rng.int(pop.length - 1)) % pop.length;
  let child: Model;
  let param: number;
  if (op === 'linear' || op === 'slerp') {
    param = rng.uniform(0.2, 0.8);
    child = (op === 'linear' ? linear : slerp)(pop[a]!, pop[b]!, param);
  } else {
    param = s.density;
    child = op === 'ties' ? ties(base, [pop[a]!, pop[b]!], s.density) : dare(base, [pop[a]!, pop[b]!], s.density, rng);
  }
  child = mutate(child, s.mutationRate, s.mutationScale, rng);
  return { child, recipe: { id, generation, op, parents: [ids[a]!, ids[b]!], param: round(param, 4) } };
}

/** Elitist (μ+λ) selection: the best `size` of parents and children; ties keep the older (lower id). */
export function select<T extends { id: number; f: number }>(all: T[], size: number): T[] {
  return [...all].sort((x, y) => y.f - x.f || x.id - y.id).slice(0, size);
}

/** Mean pairwise RMS distance between members. */
export function diversity(pop: readonly Model[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < pop.length; i++)
    for (let j = i + 1; j < pop.length; j++) {
      s += rmsDistance(pop[i]!, pop[j]!);
      n++;
    }
  return n ? s / n : 0;
}
