import type { PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import type { ArtifactRef } from '@agent-forge/contracts';
import { PhaseKit } from '../kit';
import { archKey, resolveBaseModel, sameShapes, type InitStrategy } from '../model/arch';
import { evaluateAsync } from '../model/evaluate';
import { weightedAverage } from '../model/merge';
import { Model } from '../model/model';
import { modelArrays, modelFromArrays } from '../model/serialize';
import { sampleBatch, trainStep } from '../model/train';
import { round } from '../stats';
import { dataFor, evalSummary, makeOptimizer, optimizerArrays, restoreOptimizer, tailMean, validSet } from './common';

/**
 * cognate — create `models_created` small models from `base_models` (catalogue names or
 * name-derived architectures), initialised with `init_strategy`, each pre-trained for
 * `pretrain_steps` on its data mix; then merge the shape-compatible ones with `merge_strategy`
 * into the phase's output model. Every loss is measured on held-out data.
 */
export const COGNATE_DEFAULTS = { pretrain_steps: 300, batch_size: 32, learning_rate: 0.003, init_std: 0.02, merge_trials: 8, checkpoint_every: 100 };

interface ModelResult {
  name: string;
  arch: string;
  parameters: number;
  initial_val_loss: number;
  pretrained_val_loss: number;
  pretrained_val_accuracy: number;
  final_train_loss: number;
}

interface CognateState {
  index: number;
  stepInModel: number;
  results: ModelResult[];
  initialLoss: number | null;
  losses: number[];
}

const MIX_WEIGHTS = { balanced: { text: 1, arith: 1 }, text: { text: 4, arith: 1 }, arithmetic: { text: 1, arith: 4 } } as const;

export async function runCognate(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'cognate'>>(ctx);
  const cfg = kit.cfg;
  const steps = kit.num('pretrain_steps', COGNATE_DEFAULTS.pretrain_steps);
  const batchSize = kit.num('batch_size', COGNATE_DEFAULTS.batch_size);
  const lr = kit.num('learning_rate', COGNATE_DEFAULTS.learning_rate);
  const every = kit.num('checkpoint_every', COGNATE_DEFAULTS.checkpoint_every);
  const initStd = kit.num('init_std', COGNATE_DEFAULTS.init_std);
  const n = cfg.models_created;
  const names = Array.from({ length: n }, (_, i) => cfg.base_models[i % cfg.base_models.length]!);
  const entries = names.map((name) => resolveBaseModel(name, kit.scale));
  const optCfg = { name: 'adamw' as const, learningRate: lr };

  const resumed = kit.resumed<CognateState>();
  const state: CognateState = resumed?.data ?? { index: 0, stepInModel: 0, results: [], initialLoss: null, losses: [] };
  const done: Model[] = [];
  let current: Model | null = null;
  let opt = makeOptimizer(optCfg);
  if (resumed?.ckpt) {
    const b = await kit.loadBundle<{ optStep: number }>(resumed.ckpt);
    for (let k = 0; k < state.index; k++) done.push(modelFromArrays(entries[k]!.arch, b.arrays, `done${k}.`));
    if (state.index < n && state.stepInModel > 0) {
      current = modelFromArrays(entries[state.index]!.arch, b.arrays, 'cur.');
      opt = restoreOptimizer(opt.cfg, b.json.optStep, b.arrays);
    }
  }

  const totalSteps = n * steps;
  const tick = () => kit.tick();
  const checkpoint = () => {
    const arrays = new Map<string, Float32Array>();
    done.forEach((m, k) => modelArrays(m, `done${k}.`, arrays));
    if (current && state.stepInModel > 0) {
      modelArrays(current, 'cur.', arrays);
      optimizerArrays(opt, arrays);
    }
    return { json: { optStep: opt.state.step }, arrays };
  };

  while (state.index < n) {
    const i = state.index;
    const entry = entries[i]!;
    const valid = validSet(kit.seed, kit.scale, entry.arch);
    const data = dataFor(kit.seed, kit.scale, entry.arch);
    if (!current) {
      current = Model.init(entry.arch, cfg.init_strategy as InitStrategy, kit.rng('init', i), initStd);
      state.initialLoss = (await evaluateAsync(current, valid, tick)).loss;
      state.losses = [];
      opt = makeOptimizer(optCfg);
    }
    const mix = MIX_WEIGHTS[entry.mix];
    const pools = [
      { ex: data.trainText, weight: mix.text },
      { ex: data.trainArith, weight: mix.arith },
    ];
    while (state.stepInModel < steps) {
      const s = state.stepInModel;
      state.losses.push(trainStep(current, opt, sampleBatch(pools, batchSize, kit.seed, `cognate-${i}`, s)));
      state.losses = state.losses.slice(-50);
      state.stepInModel += 1;
      await kit.tick();
      const global = i * steps + state.stepInModel;
      if (state.stepInModel % 25 === 0 || state.stepInModel === steps) {
        const ck = state.stepInModel % every === 0 && state.stepInModel < steps;
        await kit.progress(
          (global / Math.max(1, totalSteps)) * 95,
          `pre-training ${names[i]} (${i + 1}/${n}): step ${state.stepInModel}/${steps}`,
          { models_done: i, train_loss: round(tailMean(state.losses, 25), 4) },
          ck ? { step: global, data: state, bundle: checkpoint() } : undefined,
        );
      }
    }
    const ev = await evaluateAsync(current, valid, tick);
    state.results.push({
      name: names[i]!,
      arch: archKey(entry.arch),
      parameters: current.paramCount(),
      initial_val_loss: round(state.initialLoss ?? NaN),
      pretrained_val_loss: round(ev.loss),
      pretrained_val_accuracy: round(ev.accuracy),
      final_train_loss: round(tailMean(state.losses, 25)),
    });
    done.push(current);
    current = null;
    state.index = i + 1;
    state.stepInModel = 0;
    state.initialLoss = null;
    await kit.progress((((i + 1) * steps) / Math.max(1, totalSteps)) * 95, `created ${names[i]}`, { models_done: i + 1 }, {
      step: (i + 1) * steps,
      data: state,
      bundle: checkpoint(),
    });
  }

  // merge the models that share the first model's shapes
  const target = done[0]!;
  const valid = validSet(kit.seed, kit.scale, target.arch);
  const compatible = done.map((m, k) => ({ m, k })).filter(({ m }) => sameShapes(m.arch, target.arch));
  const excluded = done.map((_, k) => k).filter((k) => !compatible.some((c) => c.k === k));
  const losses = compatible.map(({ k }) => state.results[k]!.pretrained_val_loss);
  let weights: number[];
  let trials = 0;
  if (cfg.merge_strategy === 'average' || compatible.length === 1) {
    weights = compatible.map(() => 1);
  } else if (cfg.merge_strategy === 'weighted') {
    const best = Math.min(...losses);
    weights = losses.map((l) => Math.exp(-(l - best) / 0.1));
  } else {
    // evolutionary: candidate weightings (uniform, each model alone, random Dirichlet draws), best on held-out loss
    const rng = kit.rng('merge');
    const candidates: number[][] = [compatible.map(() => 1), ...compatible.map((_, a) => compatible.map((__, b) => (a === b ? 1 : 0)))];
    const extra = kit.num('merge_trials', COGNATE_DEFAULTS.merge_trials);
    for (let t = 0; t < extra; t++) candidates.push(compatible.map(() => -Math.log(1 - rng.next())));
    let bestLoss = Infinity;
    weights = candidates[0]!;
    for (const w of candidates) {
      const l = (await evaluateAsync(weightedAverage(compatible.map((c) => c.m), w), valid, tick)).loss;
      trials++;
      if (l < bestLoss) {
        bestLoss = l;
        weights = w;
      }
      await kit.tick();
    }
  }
  const total = weights.reduce((s, w) => s + w, 0);
  const merged = weightedAverage(
    compatible.map((c) => c.m),
    weights,
  );
  const ev = await evaluateAsync(merged, valid, tick);
  const { ref } = await kit.putModel(merged, 'model', { meta: { merge_weights: weights.map((w) => w / total) } });
  const artifacts: Record<string, ArtifactRef> = { model: ref };
  for (let k = 0; k < done.length; k++) artifacts[`model_${k}`] = (await kit.putModel(done[k]!, `model_${k}`)).ref;
  await kit.progress(100, 'merged', { models_done: n });
  return {
    metrics: {
      executor: 'forge',
      models_created: n,
      base_models: names,
      init_strategy: cfg.init_strategy,
      merge_strategy: cfg.merge_strategy,
      models: state.results,
      initial_val_losses: state.results.map((r) => r.initial_val_loss),
      pretrained_val_losses: state.results.map((r) => r.pretrained_val_loss),
      merge_weights: weights.map((w) => round(w / total)),
      merged_model_count: compatible.length,
      merge_excluded: excluded.map((k) => names[k]),
      merge_trials: trials,
      ...evalSummary(ev),
      parameters: merged.paramCount(),
      architecture: archKey(merged.arch),
      pretrain_steps: steps,
      seed: kit.seed,
      wall_seconds: kit.elapsedSeconds(),
    },
    artifacts,
  };
}
