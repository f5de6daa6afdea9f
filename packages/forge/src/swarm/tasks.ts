/**
 * Task handlers the forge's swarm agents run (loaded inside each agent thread; see
 * @agent-forge/swarm). They are pure functions of their payload and seed, so a result does not
 * depend on which agent computed it.
 */
import { archKey, type Arch } from '../model/arch';
import { evaluate } from '../model/evaluate';
import { Model } from '../model/model';
import { sampleBatch, trainStep } from '../model/train';
import { dataFor, makeOptimizer } from '../phases/common';
import { breedChild, select, type BreedSettings, type Recipe } from '../phases/breed';
import { Rng } from '../rng';
import { evalSetFor, fromPayload, toPayload, type EvalSetSpec, type ModelPayload } from './payloads';

/** Chunk size of the phases' own evaluateAsync: the same arithmetic, bit for bit. */
const EVAL_CHUNK = 128;

export function fitnessOf(model: Model, set: EvalSetSpec): number {
  return evaluate(model, evalSetFor(set), { chunk: EVAL_CHUNK }).score;
}

export interface FitnessTask {
  model: ModelPayload;
  set: EvalSetSpec;
}

export interface IslandMember {
  model: ModelPayload;
  id: number;
  /** Fitness; null until evaluated (round 0). */
  f: number | null;
}

export interface IslandTask {
  island: number;
  islands: number;
  /** 'start': evaluate the initial members; 'share': only pass the best on (after a resume); 'evolve': one generation. */
  mode: 'start' | 'share' | 'evolve';
  generation: number;
  seed: number;
  members: IslandMember[];
  base: ModelPayload;
  /** Next id counter of this island; ids are `counter × islands + island`, unique across islands. */
  counter: number;
  breed: BreedSettings;
  set: EvalSetSpec;
  /** No later round: do not share. */
  last: boolean;
}

export interface IslandResult {
  members: IslandMember[];
  counter: number;
  recipes: Recipe[];
  evaluations: number;
  migrantsIn: number;
}

interface Exchange {
  share(value: unknown): void;
  gather(): Promise<{ from: string; value: unknown }[]>;
}

/**
 * One island of the island-model evolution (mesh/ring): take in the best members the neighbours
 * shared after the previous generation (as new members, recipe `migrant`), breed a generation from
 * the island's own seeded RNG, keep the best, and share this island's best with the neighbours.
 */
export async function island(t: IslandTask, ctx: Exchange): Promise<IslandResult> {
  const recipes: Recipe[] = [];
  let counter = t.counter;
  let evaluations = 0;
  const nextId = () => counter++ * t.islands + t.island;
  let members = t.members.map((m) => ({ m: fromPayload(m.model), id: m.id, f: m.f }));
  let migrantsIn = 0;

  if (t.mode === 'start') {
    for (const x of members) {
      x.f = fitnessOf(x.m, t.set);
      evaluations++;
    }
  } else if (t.mode === 'evolve') {
    for (const got of await ctx.gather()) {
      const mig = got.value as IslandMember;
      const id = nextId();
      recipes.push({ id, generation: t.generation, op: 'migrant', parents: [mig.id], param: null, source: `from ${got.from}` });
      members.push({ m: fromPayload(mig.model), id, f: mig.f });
      migrantsIn++;
    }
    const size = t.members.length;
    const pop = members.map((x) => x.m);
    const fitness = members.map((x) => x.f!);
    const ids = members.map((x) => x.id);
    const base = fromPayload(t.base);
    const rng = new Rng(t.seed, 'evomerge', 'island', t.island, 'generation', t.generation);
    const children: { m: Model; id: number; f: number | null }[] = [];
    for (let c = 0; c < size; c++) {
      const { child, recipe } = breedChild(pop, fitness, ids, base, t.breed, rng, nextId(), t.generation);
      recipes.push(recipe);
      children.push({ m: child, id: recipe.id, f: null });
    }
    for (const c of children) {
      c.f = fitnessOf(c.m, t.set);
      evaluations++;
    }
    members = select([...members, ...children] as { m: Model; id: number; f: number }[], size);
  }
  const out = members.map((x) => ({ model: toPayload(x.m), id: x.id, f: x.f }));
  if (!t.last) ctx.share(select(out as (IslandMember & { f: number })[], 1)[0]);
  return { members: out, counter, recipes, evaluations, migrantsIn };
}

export interface CandidateTask {
  arch: Arch;
  /** Names the candidate's minibatch stream, as the phase does. */
  label: string;
  seed: number;
  scale: number;
  trainSteps: number;
  batchSize: number;
  learningRate: number;
  set: EvalSetSpec;
}

/**
 * adas: train a candidate architecture from its seeded initialisation for `trainSteps` minibatches
 * and return its validation loss — the same arithmetic as the phase's own loop, so it does not
 * matter whether an agent or the phase computed it.
 */
export function trainCandidate(t: CandidateTask): number {
  const data = dataFor(t.seed, t.scale, t.arch);
  const m = Model.init(t.arch, 'xavier_uniform', new Rng(t.seed, 'adas-init', archKey(t.arch)));
  const opt = makeOptimizer({ learningRate: t.learningRate });
  for (let s = 0; s < t.trainSteps; s++) trainStep(m, opt, sampleBatch([{ ex: data.train, weight: 1 }], t.batchSize, t.seed, t.label, s));
  return evaluate(m, evalSetFor(t.set), { chunk: EVAL_CHUNK }).loss;
}

export const forgeTasks = {
  fitness: (t: FitnessTask): number => fitnessOf(fromPayload(t.model), t.set),
  island,
  candidate: trainCandidate,
};
