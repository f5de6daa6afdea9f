import type { ArtifactRef, PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import { capEvenly } from '../data/datasets';
import { PhaseKit } from '../kit';
import { sameShapes } from '../model/arch';
import { evaluateAsync } from '../model/evaluate';
import { dare, linear, mutate, rmsDistance, slerp, ties, type MergeOperator } from '../model/merge';
import { Model } from '../model/model';
import { decodeModel, modelArrays, modelFromArrays } from '../model/serialize';
import type { Rng } from '../rng';
import { round } from '../stats';
import { evalSummary, validSet } from './common';

/**
 * evomerge — evolutionary model merging. The population starts from the incoming model and the
 * models it was merged from (cognate's `model_<k>`), filled up with mutated copies. Each
 * generation breeds `population_size` children with a merge operator drawn from
 * `merge_operators` (linear / slerp / ties / dare, relative to the incoming model as base) and
 * Gaussian mutation, measures every child's fitness = exp(−validation loss) on held-out data,
 * and keeps the best `population_size` of parents and children (elitist μ+λ selection).
 */
export const EVOMERGE_DEFAULTS = { mutation_scale: 0.05, merge_density: 0.5, eval_samples: 512, convergence_threshold: 0.001 };

export interface Recipe {
  id: number;
  generation: number;
  op: MergeOperator | 'seed' | 'mutant';
  parents: number[];
  param: number | null;
  source?: string;
}

interface GenRecord {
  generation: number;
  best: number;
  mean: number;
  worst: number;
  diversity: number;
}

interface EvoState {
  generation: number;
  nextId: number;
  ids: number[];
  fitness: number[];
  recipes: Record<string, Recipe>;
  history: GenRecord[];
  evaluations: number;
}

function diversity(pop: Model[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < pop.length; i++)
    for (let j = i + 1; j < pop.length; j++) {
      s += rmsDistance(pop[i]!, pop[j]!);
      n++;
    }
  return n ? s / n : 0;
}

function tournament(fitness: number[], rng: Rng): number {
  const a = rng.int(fitness.length);
  const b = rng.int(fitness.length);
  return fitness[a]! >= fitness[b]! ? a : b;
}

function record(generation: number, fitness: number[], pop: Model[]): GenRecord {
  return {
    generation,
    best: Math.max(...fitness),
    mean: fitness.reduce((s, f) => s + f, 0) / fitness.length,
    worst: Math.min(...fitness),
    diversity: round(diversity(pop)),
  };
}

export async function runEvomerge(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'evomerge'>>(ctx);
  const cfg = kit.cfg;
  const popSize = cfg.population_size;
  const mutationScale = kit.num('mutation_scale', EVOMERGE_DEFAULTS.mutation_scale);
  const density = kit.num('merge_density', EVOMERGE_DEFAULTS.merge_density);
  const threshold = kit.num('convergence_threshold', EVOMERGE_DEFAULTS.convergence_threshold);
  const input = await kit.inputModel();
  const base = input.model;
  const evalSet = capEvenly(validSet(kit.seed, kit.scale, base.arch), kit.num('eval_samples', EVOMERGE_DEFAULTS.eval_samples));
  const tick = () => kit.tick();
  const fit = async (m: Model) => (await evaluateAsync(m, evalSet, tick)).score;

  let pop: Model[];
  let st: EvoState;
  const resumed = kit.resumed<EvoState>();
  if (resumed?.ckpt) {
    st = resumed.data;
    const b = await kit.loadBundle<null>(resumed.ckpt);
    pop = st.ids.map((_, k) => modelFromArrays(base.arch, b.arrays, `p${k}.`));
  } else {
    // seeds: the incoming model and the shape-compatible models it was made from
    const seeds: { m: Model; source: string }[] = [{ m: base, source: input.source }];
    const prevArtifacts = ctx.previous?.artifacts ?? {};
    for (const key of Object.keys(prevArtifacts).filter((k) => /^model_\d+$/.test(k)).sort()) {
      const m = decodeModel(await ctx.artifacts.get(prevArtifacts[key]!)).model;
      if (sameShapes(m.arch, base.arch)) seeds.push({ m, source: `${ctx.previous!.phase}:${key}` });
    }
    st = { generation: 0, nextId: 0, ids: [], fitness: [], recipes: {}, history: [], evaluations: 0 };
    pop = [];
    const rng = kit.rng('init');
    for (let k = 0; k < popSize; k++) {
      const seed = seeds[k % seeds.length]!;
      const id = st.nextId++;
      if (k < seeds.length) {
        pop.push(seed.m.clone());
        st.recipes[id] = { id, generation: 0, op: 'seed', parents: [], param: null, source: seed.source };
      } else {
        pop.push(mutate(seed.m, cfg.mutation_rate, mutationScale, rng));
        st.recipes[id] = { id, generation: 0, op: 'mutant', parents: [], param: mutationScale, source: seed.source };
      }
      st.ids.push(id);
      st.fitness.push(await fit(pop[k]!));
      st.evaluations++;
      await kit.tick();
    }
    st.history.push(record(0, st.fitness, pop));
  }
  const bundle = () => {
    const arrays = new Map<string, Float32Array>();
    pop.forEach((m, k) => modelArrays(m, `p${k}.`, arrays));
    return { json: null, arrays };
  };
  const initialBest = st.history[0]!.best;

  while (st.generation < cfg.generations) {
    const g = st.generation + 1;
    const rng = kit.rng('generation', g);
    const children: Model[] = [];
    const childIds: number[] = [];
    const childFit: number[] = [];
    for (let c = 0; c < popSize; c++) {
      const op = rng.pick(cfg.merge_operators) as MergeOperator;
      const a = tournament(st.fitness, rng);
      let b = tournament(st.fitness, rng);
      if (b === a && pop.length > 1) b = (a + 1 + rng.int(pop.length - 1)) % pop.length;
      let child: Model;
      let param: number;
      if (op === 'linear' || op === 'slerp') {
        param = rng.uniform(0.2, 0.8);
        child = (op === 'linear' ? linear : slerp)(pop[a]!, pop[b]!, param);
      } else {
        param = density;
        child = op === 'ties' ? ties(base, [pop[a]!, pop[b]!], density) : dare(base, [pop[a]!, pop[b]!], density, rng);
      }
      child = mutate(child, cfg.mutation_rate, mutationScale, rng);
      const id = st.nextId++;
      st.recipes[id] = { id, generation: g, op, parents: [st.ids[a]!, st.ids[b]!], param: round(param, 4) };
      children.push(child);
      childIds.push(id);
      childFit.push(await fit(child));
      st.evaluations++;
      await kit.tick();
    }
    // elitist (μ+λ) selection; ties keep the older individual
    const all = [...pop.map((m, k) => ({ m, id: st.ids[k]!, f: st.fitness[k]! })), ...children.map((m, k) => ({ m, id: childIds[k]!, f: childFit[k]! }))];
    all.sort((x, y) => y.f - x.f || x.id - y.id);
    const keep = all.slice(0, popSize);
    pop = keep.map((x) => x.m);
    st.ids = keep.map((x) => x.id);
    st.fitness = keep.map((x) => x.f);
    st.generation = g;
    st.history.push(record(g, st.fitness, pop));
    const live = new Set<number>();
    const visit = (id: number) => {
      if (live.has(id)) return;
      live.add(id);
      st.recipes[id]?.parents.forEach(visit);
    };
    st.ids.forEach(visit);
    for (const id of Object.keys(st.recipes)) if (!live.has(Number(id))) delete st.recipes[id];
    await kit.progress(
      (g / cfg.generations) * 98,
      `generation ${g}/${cfg.generations}: best fitness ${round(st.fitness[0]!, 4)}`,
      { generation: g, best_fitness: round(st.fitness[0]!), diversity: st.history[st.history.length - 1]!.diversity },
      { step: g, data: st, bundle: bundle() },
    );
  }

  const best = pop[0]!;
  const finalFitness = st.fitness[0]!;
  const finalBest = st.history[st.history.length - 1]!.best;
  const convergence = st.history.find((h) => finalBest - h.best <= threshold * Math.abs(finalBest))?.generation ?? st.generation;
  const ancestry = (id: number, seen = new Set<number>()): Recipe[] => {
    if (seen.has(id)) return [];
    seen.add(id);
    const r = st.recipes[id];
    if (!r) return [];
    return [r, ...r.parents.flatMap((p) => ancestry(p, seen))];
  };
  const recipe = { best_id: st.ids[0], base: input.source, operators: cfg.merge_operators, steps: ancestry(st.ids[0]!) };
  const { ref } = await kit.putModel(best, 'model', { meta: { fitness: finalFitness } });
  const artifacts: Record<string, ArtifactRef> = {
    model: ref,
    merge_recipe: await kit.putJson('merge_recipe', recipe),
    fitness_history: await kit.putJson('fitness_history', st.history),
  };
  const full = await evaluateAsync(best, validSet(kit.seed, kit.scale, best.arch), tick);
  const baseFull = await evaluateAsync(base, validSet(kit.seed, kit.scale, base.arch), tick);
  await kit.progress(100, 'evolution finished', { generation: st.generation });
  return {
    metrics: {
      executor: 'forge',
      final_fitness: finalFitness,
      fitness_scores: st.fitness.map((f) => round(f)),
      diversity_final: st.history[st.history.length - 1]!.diversity,
      convergence_generation: convergence,
      initial_best_fitness: initialBest,
      fitness_improvement: round(finalFitness - initialBest),
      generations: st.generation,
      population_size: popSize,
      evaluations: st.evaluations,
      fitness_definition: `exp(-validation loss) on ${evalSet.count} held-out characters`,
      best_recipe_operator: st.recipes[st.ids[0]!]?.op ?? null,
      input_val_loss: round(baseFull.loss),
      ...evalSummary(full),
      seed: kit.seed,
      wall_seconds: kit.elapsedSeconds(),
    },
    artifacts,
  };
}
