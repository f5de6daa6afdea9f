import type { ArtifactRef, PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import { capEvenly } from '../data/datasets';
import { PhaseKit } from '../kit';
import { sameShapes } from '../model/arch';
import { evaluateAsync } from '../model/evaluate';
import { mutate } from '../model/merge';
import { Model } from '../model/model';
import { decodeModel, modelArrays, modelFromArrays } from '../model/serialize';
import type { Swarm } from '@agent-forge/swarm';
import { fromPayload, toPayload, type EvalSetSpec } from '../swarm/payloads';
import { startPhaseSwarm, swarmMetrics, valuesOrFail } from '../swarm/phase-swarm';
import type { IslandResult, IslandTask } from '../swarm/tasks';
import { breedChild, diversity, select, type BreedSettings, type Recipe } from './breed';
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
export const EVOMERGE_DEFAULTS = { mutation_scale: 0.05, merge_density: 0.5, eval_samples: 512, convergence_threshold: 0.001, islands: 4 };

export type { Recipe } from './breed';

interface GenRecord {
  generation: number;
  best: number;
  mean: number;
  worst: number;
  diversity: number;
}

/** One population (the whole one, or an island): member ids and fitness, in the bundle as `g<k>p<i>.`. */
interface Group {
  ids: number[];
  fitness: number[];
  /** Next id counter; ids are `counter × groups + group`, unique across groups. */
  counter: number;
}

interface EvoState {
  generation: number;
  groups: Group[];
  recipes: Record<string, Recipe>;
  history: GenRecord[];
  evaluations: number;
  migrations: number;
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

/**
 * How the population is spread over the swarm. `star`/`hierarchical` (and no swarm): one
 * population; the agents evaluate each generation's children (fitness tasks), so the result is
 * the same whoever computes it. `mesh`/`ring` with ≥ 2 agents: island model, one island per agent
 * (at most `evomerge.islands`), each of ⌈population_size / islands⌉ members, evolving on its agent;
 * after every generation an island sends its best member to its neighbours (mesh: every other
 * island; ring: the next one) directly, agent to agent, and they take it in before breeding.
 */
function groupCount(swarm: Swarm | null, islands: number): number {
  if (!swarm || (swarm.topology !== 'mesh' && swarm.topology !== 'ring')) return 1;
  return Math.min(islands, swarm.agents.length) >= 2 ? Math.min(islands, swarm.agents.length) : 1;
}

export async function runEvomerge(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'evomerge'>>(ctx);
  const cfg = kit.cfg;
  const popSize = cfg.population_size;
  const breed: BreedSettings = {
    operators: cfg.merge_operators,
    mutationRate: cfg.mutation_rate,
    mutationScale: kit.num('mutation_scale', EVOMERGE_DEFAULTS.mutation_scale),
    density: kit.num('merge_density', EVOMERGE_DEFAULTS.merge_density),
  };
  const threshold = kit.num('convergence_threshold', EVOMERGE_DEFAULTS.convergence_threshold);
  const input = await kit.inputModel();
  const base = input.model;
  const evalSamples = kit.num('eval_samples', EVOMERGE_DEFAULTS.eval_samples);
  const evalSet = capEvenly(validSet(kit.seed, kit.scale, base.arch), evalSamples);
  const setSpec: EvalSetSpec = { seed: kit.seed, scale: kit.scale, context: base.arch.context, samples: evalSamples };
  const tick = () => kit.tick();
  const islandsWanted = Math.max(1, Math.floor(kit.num('islands', EVOMERGE_DEFAULTS.islands)));
  const topology = ctx.swarm?.topology;
  const swarm = await startPhaseSwarm(ctx, topology === 'mesh' || topology === 'ring' ? islandsWanted : popSize, topology === 'mesh' || topology === 'ring' ? 'islands' : 'batch');
  try {
    const groups = groupCount(swarm, islandsWanted);
    if (swarm && groups === 1 && (topology === 'mesh' || topology === 'ring')) ctx.logger.info({ agents: swarm.agents.length }, `${topology}: fewer than two islands, nothing to exchange; one population`);
    const groupSize = groups === 1 ? popSize : Math.max(2, Math.ceil(popSize / groups));

    /** Fitness of many models: on the agents when there is a swarm, else here between yields. */
    const fitnessAll = async (models: Model[], priority: (k: number) => number, label: (k: number) => string): Promise<number[]> => {
      if (swarm) {
        const tasks = models.map((m, k) => ({ kind: 'fitness', payload: { model: toPayload(m), set: setSpec }, label: label(k), priority: priority(k) }));
        return valuesOrFail(ctx, await swarm.map<unknown, number>(tasks));
      }
      const out: number[] = [];
      for (const m of models) {
        out.push((await evaluateAsync(m, evalSet, tick)).score);
        await kit.tick();
      }
      return out;
    };

    let pops: Model[][];
    let st: EvoState;
    const resumed = kit.resumed<EvoState>();
    if (resumed?.ckpt && resumed.data.groups?.length === groups) {
      st = resumed.data;
      const b = await kit.loadBundle<null>(resumed.ckpt);
      pops = st.groups.map((g, gi) => g.ids.map((_, k) => modelFromArrays(base.arch, b.arrays, `g${gi}p${k}.`)));
    } else {
      // seeds: the incoming model and the shape-compatible models it was made from
      const seeds: { m: Model; source: string }[] = [{ m: base, source: input.source }];
      const prevArtifacts = ctx.previous?.artifacts ?? {};
      for (const key of Object.keys(prevArtifacts).filter((k) => /^model_\d+$/.test(k)).sort()) {
        const m = decodeModel(await ctx.artifacts.get(prevArtifacts[key]!)).model;
        if (sameShapes(m.arch, base.arch)) seeds.push({ m, source: `${ctx.previous!.phase}:${key}` });
      }
      st = { generation: 0, groups: [], recipes: {}, history: [], evaluations: 0, migrations: 0 };
      pops = [];
      const rng = kit.rng('init');
      for (let gi = 0; gi < groups; gi++) {
        const g: Group = { ids: [], fitness: [], counter: 0 };
        const pop: Model[] = [];
        for (let j = 0; j < groupSize; j++) {
          const k = gi * groupSize + j;
          const seed = seeds[k % seeds.length]!;
          const id = g.counter++ * groups + gi;
          if (k < seeds.length) {
            pop.push(seed.m.clone());
            st.recipes[id] = { id, generation: 0, op: 'seed', parents: [], param: null, source: seed.source };
          } else {
            pop.push(mutate(seed.m, cfg.mutation_rate, breed.mutationScale, rng));
            st.recipes[id] = { id, generation: 0, op: 'mutant', parents: [], param: breed.mutationScale, source: seed.source };
          }
          g.ids.push(id);
        }
        st.groups.push(g);
        pops.push(pop);
      }
      if (groups === 1) {
        st.groups[0]!.fitness = await fitnessAll(pops[0]!, () => 0, (k) => `evaluate initial member ${k}`);
        st.evaluations += popSize;
      }
    }
    const bundle = () => {
      const arrays = new Map<string, Float32Array>();
      pops.forEach((pop, gi) => pop.forEach((m, k) => modelArrays(m, `g${gi}p${k}.`, arrays)));
      return { json: null, arrays };
    };
    const all = () => pops.flat();
    const allFitness = () => st.groups.flatMap((g) => g.fitness);

    /** Island mode: one exchange round over every island. */
    const islandRound = async (mode: IslandTask['mode'], generation: number) => {
      const tasks = st.groups.map((g, gi) => ({
        kind: 'island',
        agent: gi,
        label: mode === 'evolve' ? `island ${gi}: generation ${generation}` : `island ${gi}: ${mode}`,
        payload: {
          island: gi,
          islands: groups,
          mode,
          generation,
          seed: kit.seed,
          members: g.ids.map((id, k) => ({ model: toPayload(pops[gi]![k]!), id, f: g.fitness[k] ?? null })),
          base: toPayload(base),
          counter: g.counter,
          breed,
          set: setSpec,
          last: generation >= cfg.generations,
        } satisfies IslandTask,
      }));
      const results = valuesOrFail(ctx, await swarm!.round<IslandTask, IslandResult>(generation, tasks));
      results.forEach((r, gi) => {
        st.groups[gi] = { ids: r.members.map((m) => m.id), fitness: r.members.map((m) => m.f!), counter: r.counter };
        pops[gi] = r.members.map((m) => fromPayload(m.model));
        for (const rec of r.recipes) st.recipes[rec.id] = rec;
        st.evaluations += r.evaluations;
        st.migrations += r.migrantsIn;
      });
    };

    if (groups > 1) {
      // Round `generation` gathers what was shared in the round before: on a fresh start the islands
      // evaluate and share; after a resume they share their saved best again, so the next
      // generation sees exactly the migrants an uninterrupted run would have.
      await islandRound(st.history.length === 0 ? 'start' : 'share', st.generation);
    }
    if (st.history.length === 0) st.history.push(record(0, allFitness(), all()));
    const initialBest = st.history[0]!.best;

    while (st.generation < cfg.generations) {
      const g = st.generation + 1;
      if (groups > 1) {
        await islandRound('evolve', g);
      } else {
        const rng = kit.rng('generation', g);
        const group = st.groups[0]!;
        const pop = pops[0]!;
        const bred = Array.from({ length: popSize }, () => breedChild(pop, group.fitness, group.ids, base, breed, rng, group.counter++, g));
        for (const b of bred) st.recipes[b.recipe.id] = b.recipe;
        // hierarchical: children of fitter parents first
        const parentFit = (r: Recipe) => r.parents.reduce((s, id) => s + (group.fitness[group.ids.indexOf(id)] ?? 0), 0);
        const childFit = await fitnessAll(
          bred.map((b) => b.child),
          (k) => parentFit(bred[k]!.recipe),
          (k) => `generation ${g}: evaluate child ${bred[k]!.recipe.id} (${bred[k]!.recipe.op})`,
        );
        st.evaluations += popSize;
        const keep = select([...pop.map((m, k) => ({ m, id: group.ids[k]!, f: group.fitness[k]! })), ...bred.map((b, k) => ({ m: b.child, id: b.recipe.id, f: childFit[k]! }))], popSize);
        pops[0] = keep.map((x) => x.m);
        st.groups[0] = { ids: keep.map((x) => x.id), fitness: keep.map((x) => x.f), counter: group.counter };
      }
      st.generation = g;
      st.history.push(record(g, allFitness(), all()));
      const live = new Set<number>();
      const visit = (id: number) => {
        if (live.has(id)) return;
        live.add(id);
        st.recipes[id]?.parents.forEach(visit);
      };
      st.groups.forEach((gr) => gr.ids.forEach(visit));
      for (const id of Object.keys(st.recipes)) if (!live.has(Number(id))) delete st.recipes[id];
      const bestNow = Math.max(...allFitness());
      await kit.progress(
        (g / cfg.generations) * 98,
        `generation ${g}/${cfg.generations}: best fitness ${round(bestNow, 4)}`,
        { generation: g, best_fitness: round(bestNow), diversity: st.history[st.history.length - 1]!.diversity },
        { step: g, data: st, bundle: bundle() },
      );
    }

    // The final population: the best `population_size` over every island.
    const final = select(pops.flatMap((pop, gi) => pop.map((m, k) => ({ m, id: st.groups[gi]!.ids[k]!, f: st.groups[gi]!.fitness[k]! }))), popSize);
    const pop = final.map((x) => x.m);
    const ids = final.map((x) => x.id);
    const fitness = final.map((x) => x.f);
    const swarmReport = swarm ? { ...(await swarmMetrics(ctx, swarm)), islands: groups, migrations: st.migrations } : {};
    const best = pop[0]!;
    const finalFitness = fitness[0]!;
    const finalBest = st.history[st.history.length - 1]!.best;
    const convergence = st.history.find((h) => finalBest - h.best <= threshold * Math.abs(finalBest))?.generation ?? st.generation;
    const ancestry = (id: number, seen = new Set<number>()): Recipe[] => {
      if (seen.has(id)) return [];
      seen.add(id);
      const r = st.recipes[id];
      if (!r) return [];
      return [r, ...r.parents.flatMap((p) => ancestry(p, seen))];
    };
    const recipe = { best_id: ids[0], base: input.source, operators: cfg.merge_operators, steps: ancestry(ids[0]!) };
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
        fitness_scores: fitness.map((f) => round(f)),
        diversity_final: st.history[st.history.length - 1]!.diversity,
        convergence_generation: convergence,
        initial_best_fitness: initialBest,
        fitness_improvement: round(finalFitness - initialBest),
        generations: st.generation,
        population_size: popSize,
        evaluations: st.evaluations,
        ...swarmReport,
        fitness_definition: `exp(-validation loss) on ${evalSet.count} held-out characters`,
        best_recipe_operator: st.recipes[ids[0]!]?.op ?? null,
        input_val_loss: round(baseFull.loss),
        ...evalSummary(full),
        seed: kit.seed,
        wall_seconds: kit.elapsedSeconds(),
      },
      artifacts,
    };
  } finally {
    await swarm?.close();
  }
}
