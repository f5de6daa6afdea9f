import type { PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import { capEvenly } from '../data/datasets';
import { PhaseKit } from '../kit';
import { ACTIVATIONS, archKey, paramCount, type Activation, type Arch } from '../model/arch';
import { evaluateAsync } from '../model/evaluate';
import { Model } from '../model/model';
import { sampleBatch, trainStep } from '../model/train';
import { Rng } from '../rng';
import { round } from '../stats';
import type { EvalSetSpec } from '../swarm/payloads';
import { startPhaseSwarm, swarmMetrics, valuesOrFail } from '../swarm/phase-swarm';
import type { CandidateTask } from '../swarm/tasks';
import { dataFor, evalSummary, makeOptimizer, validSet } from './common';

/**
 * adas — architecture search with NSGA-II over hidden width, depth and activation (context and
 * embedding width are kept from the incoming model). Each candidate is trained from scratch for
 * `train_steps` minibatches (seeded by its architecture) and scored on two objectives, both
 * minimised: held-out validation loss (quality) and parameter count (size). Selection is NSGA-II's
 * non-dominated sorting with crowding distance; offspring by binary tournament, uniform crossover
 * and per-gene mutation. The Pareto front is taken over every evaluated candidate. The chosen
 * architecture maximises score = exp(−val_loss) − size_weight · params / max_params; the output
 * model is it trained for `final_train_steps`, starting from the incoming model's weights where the
 * tensors overlap (weight inheritance: embedding, and the overlapping block of each layer).
 */
export const ADAS_DEFAULTS = { train_steps: 80, final_train_steps: 300, size_weight: 0.1, batch_size: 32, learning_rate: 0.003, eval_samples: 512 };

export interface Genome {
  width: number;
  depth: number;
  activation: Activation;
}

export interface Candidate {
  key: string;
  genome: Genome;
  val_loss: number;
  params: number;
}

interface AdasState {
  iteration: number;
  population: Genome[];
  cache: Record<string, Candidate>;
}

interface Space {
  widths: number[];
  depths: number[];
  activations: Activation[];
}

function searchSpace(raw: Record<string, unknown> | undefined, scale: number): Space {
  const nums = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x) && x > 0 && x <= 4096) : []);
  const widths = nums(raw?.widths ?? raw?.hidden_widths ?? raw?.width);
  const depths = nums(raw?.depths ?? raw?.num_layers ?? raw?.depth).filter((d) => d <= 8);
  const acts = (Array.isArray(raw?.activations) ? raw!.activations : []).filter((a): a is Activation => ACTIVATIONS.includes(a as Activation));
  return {
    widths: widths.length ? widths : [16, 32, 48, 64, 96].map((w) => Math.max(4, Math.round(w * scale))),
    depths: depths.length ? depths : [1, 2, 3],
    activations: acts.length ? acts : [...ACTIVATIONS],
  };
}

export function dominates(a: Candidate, b: Candidate): boolean {
  return a.val_loss <= b.val_loss && a.params <= b.params && (a.val_loss < b.val_loss || a.params < b.params);
}

/** Non-dominated sorting: fronts of indices, best first. */
export function nonDominatedSort(cs: Candidate[]): number[][] {
  const dominatedBy = cs.map(() => 0);
  const dominatesList: number[][] = cs.map(() => []);
  for (let i = 0; i < cs.length; i++)
    for (let j = 0; j < cs.length; j++) {
      if (i === j) continue;
      if (dominates(cs[i]!, cs[j]!)) dominatesList[i]!.push(j);
      else if (dominates(cs[j]!, cs[i]!)) dominatedBy[i]!++;
    }
  const fronts: number[][] = [];
  let current = cs.map((_, i) => i).filter((i) => dominatedBy[i] === 0);
  while (current.length) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current)
      for (const j of dominatesList[i]!) {
        dominatedBy[j]!--;
        if (dominatedBy[j] === 0) next.push(j);
      }
    current = next;
  }
  return fronts;
}

function crowding(cs: Candidate[], front: number[]): Map<number, number> {
  const d = new Map(front.map((i) => [i, 0]));
  for (const obj of ['val_loss', 'params'] as const) {
    const sorted = [...front].sort((a, b) => cs[a]![obj] - cs[b]![obj]);
    const lo = cs[sorted[0]!]![obj];
    const hi = cs[sorted[sorted.length - 1]!]![obj];
    d.set(sorted[0]!, Infinity);
    d.set(sorted[sorted.length - 1]!, Infinity);
    for (let k = 1; k < sorted.length - 1; k++) {
      if (hi > lo) d.set(sorted[k]!, d.get(sorted[k]!)! + (cs[sorted[k + 1]!]![obj] - cs[sorted[k - 1]!]![obj]) / (hi - lo));
    }
  }
  return d;
}

/** Copy the overlapping block of every same-named tensor from `from` into `to`; returns values copied. */
export function inheritWeights(from: Model, to: Model): number {
  let copied = 0;
  for (const s of to.specs) {
    const src = from.tensors.get(s.name);
    const spec = from.specs.find((x) => x.name === s.name);
    if (!src || !spec || spec.shape.length !== s.shape.length) continue;
    const dst = to.get(s.name);
    if (s.shape.length === 1) {
      const n = Math.min(spec.shape[0]!, s.shape[0]!);
      dst.set(src.subarray(0, n));
      copied += n;
    } else {
      const rows = Math.min(spec.shape[0]!, s.shape[0]!);
      const cols = Math.min(spec.shape[1]!, s.shape[1]!);
      for (let r = 0; r < rows; r++) dst.set(src.subarray(r * spec.shape[1]!, r * spec.shape[1]! + cols), r * s.shape[1]!);
      copied += rows * cols;
    }
  }
  return copied;
}

function archOf(g: Genome, base: Arch): Arch {
  return { vocab: base.vocab, context: base.context, embed: base.embed, hidden: Array.from({ length: g.depth }, () => g.width), activation: g.activation };
}

export async function runAdas(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'adas'>>(ctx);
  const cfg = kit.cfg;
  const trainSteps = kit.num('train_steps', ADAS_DEFAULTS.train_steps);
  const finalSteps = kit.num('final_train_steps', ADAS_DEFAULTS.final_train_steps);
  const sizeWeight = kit.num('size_weight', ADAS_DEFAULTS.size_weight);
  const batchSize = kit.num('batch_size', ADAS_DEFAULTS.batch_size);
  const lr = kit.num('learning_rate', ADAS_DEFAULTS.learning_rate);
  const space = searchSpace(cfg.search_space, kit.scale);
  const input = await kit.inputModel();
  const baseArch: Arch = { ...input.model.arch, thought: undefined };
  const data = dataFor(kit.seed, kit.scale, baseArch);
  const valid = capEvenly(validSet(kit.seed, kit.scale, baseArch), ADAS_DEFAULTS.eval_samples);
  const setSpec: EvalSetSpec = { seed: kit.seed, scale: kit.scale, context: baseArch.context, samples: ADAS_DEFAULTS.eval_samples };
  const keyOf = (g: Genome) => archKey(archOf(g, baseArch));
  const randomGenome = (rng: Rng): Genome => ({ width: rng.pick(space.widths), depth: rng.pick(space.depths), activation: rng.pick(space.activations) });

  const train = async (arch: Arch, steps: number, label: string, from?: Model) => {
    const m = from?.clone() ?? Model.init(arch, 'xavier_uniform', new Rng(kit.seed, 'adas-init', archKey(arch)));
    const opt = makeOptimizer({ learningRate: lr });
    for (let s = 0; s < steps; s++) {
      trainStep(m, opt, sampleBatch([{ ex: data.train, weight: 1 }], batchSize, kit.seed, label, s));
      await kit.tick();
    }
    return m;
  };

  const resumed = kit.resumed<AdasState>();
  let st: AdasState;
  if (resumed) st = resumed.data;
  else {
    const rng = kit.rng('init');
    const population: Genome[] = [];
    const incoming = baseArch.hidden.length > 0 && baseArch.hidden.every((w) => w === baseArch.hidden[0]) ? { width: baseArch.hidden[0]!, depth: baseArch.hidden.length, activation: baseArch.activation } : null;
    if (incoming) population.push(incoming);
    while (population.length < cfg.population_size) population.push(randomGenome(rng));
    st = { iteration: 0, population, cache: {} };
  }
  const totalEvals = (cfg.iterations + 1) * cfg.population_size;
  let evalsDone = 0;
  const evaluateGenome = async (g: Genome): Promise<Candidate> => {
    const key = keyOf(g);
    const hit = st.cache[key];
    evalsDone++;
    if (hit) return hit;
    const arch = archOf(g, baseArch);
    const loss = precomputed.get(key) ?? (await evaluateAsync(await train(arch, trainSteps, `adas-${key}`), valid, () => kit.tick())).loss;
    const c: Candidate = { key, genome: g, val_loss: round(loss), params: paramCount(arch) };
    st.cache[key] = c;
    await kit.progress((evalsDone / totalEvals) * 85, `evaluated ${key}: val_loss ${c.val_loss}, ${c.params} params`, {
      iteration: st.iteration,
      candidates_evaluated: Object.keys(st.cache).length,
    }, { step: Object.keys(st.cache).length, data: st });
    return c;
  };

  // With a swarm, the agents train a batch of new candidates at once (each a pure function of its
  // architecture and the seed); the phase then records them in order exactly as it would have.
  const swarm = await startPhaseSwarm(ctx, cfg.population_size, 'batch');
  let swarmReport: Record<string, unknown> = {};
  const precomputed = new Map<string, number>();
  const prepare = async (genomes: Genome[]) => {
    if (!swarm) return;
    const fresh = [...new Map(genomes.filter((g) => !st.cache[keyOf(g)] && !precomputed.has(keyOf(g))).map((g) => [keyOf(g), g])).values()];
    const tasks = fresh.map((g) => {
      const key = keyOf(g);
      const payload: CandidateTask = { arch: archOf(g, baseArch), label: `adas-${key}`, seed: kit.seed, scale: kit.scale, trainSteps, batchSize, learningRate: lr, set: setSpec };
      // hierarchical: the bigger (slower) candidates first, so the team finishes together
      return { kind: 'candidate', payload, label: `train and evaluate ${key}`, priority: paramCount(payload.arch) };
    });
    valuesOrFail(ctx, await swarm.map<CandidateTask, number>(tasks)).forEach((loss, k) => precomputed.set(keyOf(fresh[k]!), loss));
  };
  try {
    let popC: Candidate[] = [];
    await prepare(st.population);
    for (const g of st.population) popC.push(await evaluateGenome(g));
    while (st.iteration < cfg.iterations) {
      const rng = kit.rng('generation', st.iteration + 1);
      const fronts = nonDominatedSort(popC);
      const rank = new Map<number, number>();
      const crowd = new Map<number, number>();
      fronts.forEach((f, r) => {
        f.forEach((i) => rank.set(i, r));
        for (const [i, d] of crowding(popC, f)) crowd.set(i, d);
      });
      const better = (a: number, b: number) => (rank.get(a)! < rank.get(b)! || (rank.get(a) === rank.get(b) && crowd.get(a)! > crowd.get(b)!) ? a : b);
      const pick = () => better(rng.int(popC.length), rng.int(popC.length));
      const children: Genome[] = [];
      for (let k = 0; k < cfg.population_size; k++) {
        const a = popC[pick()]!.genome;
        const b = popC[pick()]!.genome;
        const child: Genome = {
          width: rng.next() < 0.5 ? a.width : b.width,
          depth: rng.next() < 0.5 ? a.depth : b.depth,
          activation: rng.next() < 0.5 ? a.activation : b.activation,
        };
        if (rng.next() < 1 / 3) child.width = rng.pick(space.widths);
        if (rng.next() < 1 / 3) child.depth = rng.pick(space.depths);
        if (rng.next() < 1 / 3) child.activation = rng.pick(space.activations);
        children.push(child);
      }
      const childC: Candidate[] = [];
      await prepare(children);
      for (const g of children) childC.push(await evaluateGenome(g));
      // environmental selection over parents ∪ children (distinct architectures)
      const union = [...new Map([...popC, ...childC].map((c) => [c.key, c])).values()];
      const next: Candidate[] = [];
      for (const f of nonDominatedSort(union)) {
        if (next.length + f.length <= cfg.population_size) next.push(...f.map((i) => union[i]!));
        else {
          const d = crowding(union, f);
          next.push(...[...f].sort((x, y) => d.get(y)! - d.get(x)! || x - y).slice(0, cfg.population_size - next.length).map((i) => union[i]!));
          break;
        }
      }
      popC = next;
      st.iteration++;
      st.population = popC.map((c) => c.genome);
      await kit.progress((st.iteration / cfg.iterations) * 85, `NSGA-II generation ${st.iteration}/${cfg.iterations}`, { iteration: st.iteration }, { step: 10_000 + st.iteration, data: st });
    }

  } finally {
    swarmReport = swarm ? await swarmMetrics(ctx, swarm) : {};
    await swarm?.close();
  }

  const all = Object.values(st.cache).sort((a, b) => a.key.localeCompare(b.key));
  const front = nonDominatedSort(all)[0]!.map((i) => all[i]!).sort((a, b) => a.params - b.params);
  const maxParams = Math.max(...all.map((c) => c.params));
  const scoreOf = (c: Candidate) => Math.exp(-c.val_loss) - (sizeWeight * c.params) / maxParams;
  const best = front.reduce((b, c) => (scoreOf(c) > scoreOf(b) ? c : b), front[0]!);
  const bestArch = archOf(best.genome, baseArch);
  // weight inheritance: the chosen architecture starts from the incoming model's weights where
  // tensors overlap (the embedding always; hidden layers and head as far as their shapes allow)
  const start = Model.init(bestArch, 'xavier_uniform', new Rng(kit.seed, 'adas-init', archKey(bestArch)));
  const inherited = inheritWeights(input.model, start);
  const warm = inherited > 0;
  const finalModel = await train(bestArch, finalSteps, 'adas-final', start);
  const fin = await evaluateAsync(finalModel, validSet(kit.seed, kit.scale, bestArch), () => kit.tick());
  const { ref } = await kit.putModel(finalModel, 'model', { meta: { architecture: best.key } });
  const frontRef = await kit.putJson('pareto_front', { objectives: ['val_loss (min)', 'params (min)'], front, all });
  await kit.progress(100, `chose ${best.key}`, { iteration: st.iteration });
  return {
    metrics: {
      executor: 'forge',
      pareto_front_size: front.length,
      pareto_front: front.map((c) => ({ architecture: c.key, ...c.genome, val_loss: c.val_loss, params: c.params, score: round(scoreOf(c)) })),
      best_architecture_score: round(scoreOf(best)),
      best_architecture_config: { ...best.genome, context: bestArch.context, embed: bestArch.embed, hidden: bestArch.hidden, params: best.params, search_val_loss: best.val_loss },
      candidates_evaluated: all.length,
      ...swarmReport,
      iterations: st.iteration,
      population_size: cfg.population_size,
      search_space: space,
      score_definition: `exp(-val_loss) - ${sizeWeight} * params / ${maxParams}`,
      warm_started: warm,
      inherited_parameters: inherited,
      final_train_steps: finalSteps,
      ...evalSummary(fin),
      parameters: finalModel.paramCount(),
      seed: kit.seed,
      wall_seconds: kit.elapsedSeconds(),
    },
    artifacts: { model: ref, pareto_front: frontRef },
  };
}
