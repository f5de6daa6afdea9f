import type { PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import { bakingExamples, type BakingExample } from '../data/baking';
import { capEvenly, linesToExamples, type Examples } from '../data/datasets';
import { PhaseKit } from '../kit';
import { evaluateAsync } from '../model/evaluate';
import type { Model } from '../model/model';
import { modelArrays, modelFromArrays } from '../model/serialize';
import { sampleBatch, trainStep } from '../model/train';
import { round } from '../stats';
import { dataFor, evalSummary, makeOptimizer, optimizerArrays, restoreOptimizer, tailMean, validSet } from './common';

/**
 * baking — tool and persona baking: fine-tune on generated examples of tool calls (`tool_types`:
 * e.g. `q: what is 3 plus 4? a: <calc>3+4</calc> 7`) and persona replies (`persona_traits`), mixed
 * with a replay of the LM training data (so the model keeps its general skill). Scores are the
 * held-out examples' response-character accuracy (teacher-forced), measured before and after.
 * `convergence_achieved`: the held-out examples' response accuracy (measured every 10 iterations on
 * at most 256 characters) moved by less than 2 points between the last two fifths of training.
 */
export const BAKING_DEFAULTS = { iterations: 600, learning_rate: 0.006, batch_size: 32, examples_per_label: 60, checkpoint_every: 50, replay_weight: 0.5 };

interface BakeState {
  iteration: number;
  losses: number[];
  curve: number[];
  accCurve: number[];
}

function toExamples(list: BakingExample[], context: number): Examples {
  return linesToExamples(
    list.map((e) => e.prompt + e.response),
    context,
    (i) => list[i]!.prompt.length,
  );
}

export async function runBaking(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'baking'>>(ctx);
  const cfg = kit.cfg;
  const iterations = kit.num('iterations', BAKING_DEFAULTS.iterations);
  const batchSize = kit.num('batch_size', BAKING_DEFAULTS.batch_size);
  const perLabel = kit.num('examples_per_label', BAKING_DEFAULTS.examples_per_label);
  const every = kit.num('checkpoint_every', BAKING_DEFAULTS.checkpoint_every);
  const tools = cfg.tool_types.length ? cfg.tool_types : ['calculator'];
  const traits = cfg.persona_traits;
  const input = await kit.inputModel();
  let model: Model = input.model.clone();
  const C = model.arch.context;
  const trainList = bakingExamples(tools, traits, perLabel, kit.rng('train-examples'));
  const testList = bakingExamples(tools, traits, Math.max(5, Math.round(perLabel / 3)), kit.rng('test-examples'));
  const train = toExamples(trainList, C);
  const toolTest = toExamples(testList.filter((e) => e.kind === 'tool'), C);
  const personaTest = toExamples(testList.filter((e) => e.kind === 'persona'), C);
  const allTest = toExamples(testList, C);
  const lm = dataFor(kit.seed, kit.scale, model.arch);
  const valid = validSet(kit.seed, kit.scale, model.arch);
  const tick = () => kit.tick();
  const score = async (m: Model, ex: Examples) => (ex.count ? (await evaluateAsync(m, ex, tick)).accuracy : NaN);
  const before = { tool: await score(model, toolTest), persona: await score(model, personaTest), all: await score(model, allTest) };
  const lmBefore = await evaluateAsync(model, valid, tick);

  const optCfg = { name: 'adamw' as const, learningRate: kit.num('learning_rate', BAKING_DEFAULTS.learning_rate) };
  let opt = makeOptimizer(optCfg);
  let st: BakeState = { iteration: 0, losses: [], curve: [], accCurve: [] };
  const resumed = kit.resumed<BakeState>();
  if (resumed?.ckpt) {
    st = resumed.data;
    const b = await kit.loadBundle<{ optStep: number }>(resumed.ckpt);
    model = modelFromArrays(model.arch, b.arrays, 'm.');
    opt = restoreOptimizer(optCfg, b.json.optStep, b.arrays);
  }
  // convergence is judged on the held-out examples' loss, measured every 10 iterations (batch
  // losses mix in LM replay and are too noisy; training-example loss keeps falling as it memorises)
  const probe = capEvenly(allTest, 256);
  const pools = [
    { ex: train, weight: 1 },
    { ex: lm.train, weight: BAKING_DEFAULTS.replay_weight },
  ];
  while (st.iteration < iterations) {
    st.losses.push(trainStep(model, opt, sampleBatch(pools, batchSize, kit.seed, 'baking', st.iteration)));
    st.iteration++;
    st.losses = st.losses.slice(-50);
    await kit.tick();
    if (st.iteration % 10 === 0) {
      const e = await evaluateAsync(model, probe, tick);
      st.curve.push(round(e.loss, 4));
      st.accCurve.push(round(e.accuracy, 4));
    }
    if (st.iteration % 10 === 0 || st.iteration === iterations) {
      const ck = st.iteration % every === 0 && st.iteration < iterations;
      await kit.progress(
        (st.iteration / iterations) * 90,
        `baking: iteration ${st.iteration}/${iterations}`,
        { iteration: st.iteration, bake_loss: round(tailMean(st.losses, 10), 4) },
        ck ? { step: st.iteration, data: st, bundle: { json: { optStep: opt.state.step }, arrays: optimizerArrays(opt, modelArrays(model, 'm.')) } } : undefined,
      );
    }
  }
  const after = { tool: await score(model, toolTest), persona: await score(model, personaTest), all: await score(model, allTest) };
  const lmAfter = await evaluateAsync(model, valid, tick);
  // converged: held-out accuracy of the last fifth of training is within 2 points of the fifth before
  const k = Math.max(1, Math.floor(st.curve.length / 5));
  const last = tailMean(st.curve, k);
  const prev = tailMean(st.curve.slice(0, -k), k);
  const relChange = Number.isFinite(prev) && prev > 0 ? (prev - last) / prev : NaN;
  const accChange = tailMean(st.accCurve, k) - tailMean(st.accCurve.slice(0, -k), k);
  const { ref } = await kit.putModel(model);
  await kit.progress(100, 'baked', { iteration: st.iteration });
  const diff = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? round(a - b) : null);
  return {
    metrics: {
      executor: 'forge',
      tool_improvement: diff(after.tool, before.tool),
      persona_improvement: diff(after.persona, before.persona),
      overall_improvement: diff(after.all, before.all),
      convergence_achieved: Number.isFinite(accChange) && Math.abs(accChange) < 0.02,
      final_accuracy_change: Number.isFinite(accChange) ? round(accChange, 4) : null,
      final_loss_change_ratio: Number.isFinite(relChange) ? round(relChange, 4) : null,
      tool_accuracy_before: round(before.tool),
      tool_accuracy_after: round(after.tool),
      persona_accuracy_before: round(before.persona),
      persona_accuracy_after: round(after.persona),
      tool_types: tools,
      persona_traits: traits,
      train_examples: trainList.length,
      test_examples: testList.length,
      iterations_completed: st.iteration,
      bake_loss_curve: st.curve,
      bake_accuracy_curve: st.accCurve,
      lm_val_loss_before: round(lmBefore.loss),
      ...evalSummary(lmAfter),
      seed: kit.seed,
      wall_seconds: kit.elapsedSeconds(),
    },
    artifacts: { model: ref },
  };
}
