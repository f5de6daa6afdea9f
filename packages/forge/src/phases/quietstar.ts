import type { PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import { arithmeticProblems } from '../data/arithmetic';
import { answerExamples } from '../data/datasets';
import { PhaseKit } from '../kit';
import { evaluateAsync, perGroupMean } from '../model/evaluate';
import { paramCount } from '../model/arch';
import { modelArrays, modelFromArrays } from '../model/serialize';
import { sampleBatch, trainStep } from '../model/train';
import { pairedTTest, round } from '../stats';
import { dataFor, evalSummary, makeOptimizer, optimizerArrays, restoreOptimizer, tailMean, validSet } from './common';

/**
 * quietstar — learned latent "thought" tokens. The model gets a thought module: `num_thoughts`
 * learned thought-token embeddings added to a `thought_dim`-wide projection of the model's last
 * hidden state, each unrolled `thought_length` steps through a shared tanh cell; their mean is mixed into the logits through a head that
 * starts at zero. Only the thought module is trained (the base is frozen) on the arithmetic
 * training problems' answers mixed with a replay of the LM training data, so "without thoughts" is exactly the incoming model. A/B: on held-out
 * problems, each problem's answer-character accuracy with vs without thoughts; `p_value` is a
 * two-sided paired t-test over the per-problem differences.
 */
export const QUIETSTAR_DEFAULTS = { iterations: 600, learning_rate: 0.005, batch_size: 32, eval_problems: 200, thought_dim: 32, replay_weight: 1, checkpoint_every: 50 };

interface QsState {
  iteration: number;
  losses: number[];
  curve: number[];
}

export async function runQuietstar(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'quietstar'>>(ctx);
  const cfg = kit.cfg;
  const iterations = kit.num('iterations', QUIETSTAR_DEFAULTS.iterations);
  const batchSize = kit.num('batch_size', QUIETSTAR_DEFAULTS.batch_size);
  const every = kit.num('checkpoint_every', QUIETSTAR_DEFAULTS.checkpoint_every);
  const input = await kit.inputModel();
  // a fresh thought module of the asked size (an incoming one is replaced); the base stays as it is
  const dim = kit.num('thought_dim', QUIETSTAR_DEFAULTS.thought_dim);
  let model = input.model.withThoughts(cfg.num_thoughts, cfg.thought_length, dim, kit.rng('thought-init'));
  const baseParams = paramCount({ ...input.model.arch, thought: undefined });
  const C = model.arch.context;
  const trainProblems = arithmeticProblems('train', Math.round(300 * kit.scale), kit.rng('train-problems'));
  const testProblems = arithmeticProblems('heldout', kit.num('eval_problems', QUIETSTAR_DEFAULTS.eval_problems), kit.rng('test-problems'));
  const train = answerExamples(trainProblems, C);
  const test = answerExamples(testProblems, C);
  const trainable = (n: string) => n.startsWith('thought.');
  const optCfg = { name: 'adamw' as const, learningRate: kit.num('learning_rate', QUIETSTAR_DEFAULTS.learning_rate), weightDecay: 0 };

  let opt = makeOptimizer(optCfg);
  let st: QsState = { iteration: 0, losses: [], curve: [] };
  const resumed = kit.resumed<QsState>();
  if (resumed?.ckpt) {
    st = resumed.data;
    const b = await kit.loadBundle<{ optStep: number }>(resumed.ckpt);
    model = modelFromArrays(model.arch, b.arrays, 'm.');
    opt = restoreOptimizer(optCfg, b.json.optStep, b.arrays);
  }
  // answers of the training problems, plus a replay of the LM data so thoughts do not hurt text
  const pools = [
    { ex: train, weight: 1 },
    { ex: dataFor(kit.seed, kit.scale, model.arch).train, weight: QUIETSTAR_DEFAULTS.replay_weight },
  ];
  while (st.iteration < iterations) {
    const loss = trainStep(model, opt, sampleBatch(pools, batchSize, kit.seed, 'quietstar', st.iteration), trainable);
    st.iteration++;
    st.losses.push(loss);
    st.losses = st.losses.slice(-50);
    if (st.iteration % 10 === 0) st.curve.push(round(tailMean(st.losses, 10), 4));
    await kit.tick();
    if (st.iteration % 10 === 0 || st.iteration === iterations) {
      const ck = st.iteration % every === 0 && st.iteration < iterations;
      await kit.progress(
        (st.iteration / iterations) * 85,
        `training thoughts: iteration ${st.iteration}/${iterations}`,
        { iterations_completed: st.iteration, thought_loss: round(tailMean(st.losses, 10), 4) },
        ck ? { step: st.iteration, data: st, bundle: { json: { optStep: opt.state.step }, arrays: optimizerArrays(opt, modelArrays(model, 'm.')) } } : undefined,
      );
    }
  }

  // A/B on held-out problems: the same model with and without its thoughts
  const tick = () => kit.tick();
  const without = await evaluateAsync(model, test, tick, { thoughts: false });
  const withT = await evaluateAsync(model, test, tick, { thoughts: true });
  const a = perGroupMean(without.perRowCorrect, test.groups).map((g) => g.mean);
  const b = perGroupMean(withT.perRowCorrect, test.groups).map((g) => g.mean);
  const t = pairedTTest(a, b);
  const winner = t.meanDiff > 0 ? 'with_thoughts' : t.meanDiff < 0 ? 'baseline' : 'tie';
  // convergence rate: relative loss decrease per 10 iterations over the last fifth of training
  const tail = st.curve.slice(-Math.max(2, Math.ceil(st.curve.length / 5)));
  const convergenceRate = tail.length >= 2 && tail[0]! > 0 ? (tail[0]! - tail[tail.length - 1]!) / tail[0]! / (tail.length - 1) : 0;

  const { ref } = await kit.putModel(model);
  const abRef = await kit.putJson('ab_results', {
    metric: 'per-problem answer-character accuracy (teacher-forced)',
    problems: testProblems.map((p) => p.prompt + p.answer),
    baseline: a,
    with_thoughts: b,
    test: { kind: 'paired t-test, two-sided', ...t },
  });
  const lm = await evaluateAsync(model, validSet(kit.seed, kit.scale, model.arch), tick);
  await kit.progress(100, 'A/B evaluation done', { iterations_completed: st.iteration });
  return {
    metrics: {
      executor: 'forge',
      ab_test_winner: winner,
      ab_test_significant: t.pValue < 0.05,
      accuracy_improvement: round(t.meanDiff),
      accuracy_improvement_ci95: t.ci95.map((x) => round(x)),
      p_value: t.pValue,
      t_statistic: round(t.t, 4),
      baseline_accuracy: round(a.reduce((s, x) => s + x, 0) / a.length),
      thought_accuracy: round(b.reduce((s, x) => s + x, 0) / b.length),
      baseline_answer_loss: round(without.loss),
      thought_answer_loss: round(withT.loss),
      ab_test_problems: a.length,
      final_convergence_rate: round(convergenceRate),
      iterations_completed: st.iteration,
      thought_loss_curve: st.curve,
      thought_length: cfg.thought_length,
      num_thoughts: cfg.num_thoughts,
      thought_parameters: model.paramCount() - baseParams,
      ...evalSummary(lm),
      seed: kit.seed,
      wall_seconds: kit.elapsedSeconds(),
    },
    artifacts: { model: ref, ab_results: abRef },
  };
}
