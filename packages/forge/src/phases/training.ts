import type { PhaseConfig } from '@agent-forge/contracts';
import type { PhaseContext, PhaseResult } from '@agent-forge/engine';
import { PhaseKit } from '../kit';
import { evaluateAsync } from '../model/evaluate';
import type { OptimizerConfig } from '../model/optim';
import { modelArrays, modelFromArrays } from '../model/serialize';
import { batchOf, trainStep } from '../model/train';
import { round } from '../stats';
import { dataFor, evalSummary, makeOptimizer, optimizerArrays, restoreOptimizer, tailMean, validSet } from './common';

/**
 * training — minibatch training of the incoming model on the shipped corpus plus the arithmetic
 * training problems: `epochs` shuffled passes (or exactly `training_steps` steps), `optimizer`
 * AdamW (decoupled `weight_decay`) or SGD with `momentum`, gradient-norm clipping at 1, optional
 * Grokfast-EMA gradient filtering (g ← g + λ·EMA_α(g)). A quantized input (bitnet) is trained as
 * float32 from its dequantized values. Loss curve = training loss; accuracy = held-out next-char.
 */
export const TRAINING_DEFAULTS = { weight_decay: 0.01, momentum: 0.9, eval_samples: 1024, checkpoint_every: 100 };

interface TrainState {
  step: number;
  losses: number[];
  curve: [number, number][];
  firstLosses: number[];
}

export async function runTraining(ctx: PhaseContext): Promise<PhaseResult> {
  const kit = new PhaseKit<PhaseConfig<'training'>>(ctx);
  const cfg = kit.cfg;
  const input = await kit.inputModel();
  let model = input.model.clone();
  const data = dataFor(kit.seed, kit.scale, model.arch);
  const valid = validSet(kit.seed, kit.scale, model.arch, kit.num('eval_samples', TRAINING_DEFAULTS.eval_samples));
  const perEpoch = Math.ceil(data.train.count / cfg.batch_size);
  const total = cfg.training_steps ?? cfg.epochs * perEpoch;
  const every = kit.num('checkpoint_every', TRAINING_DEFAULTS.checkpoint_every);
  const curveEvery = Math.max(1, Math.floor(total / 50));
  const gf = cfg.grokfast;
  const optCfg: Partial<OptimizerConfig> = {
    name: cfg.optimizer,
    learningRate: cfg.learning_rate,
    weightDecay: kit.num('weight_decay', TRAINING_DEFAULTS.weight_decay),
    momentum: kit.num('momentum', TRAINING_DEFAULTS.momentum),
    grokfast: gf?.enabled ? { enabled: true, alpha: gf.ema_alpha, lambda: gf.lambda } : null,
  };
  const tick = () => kit.tick();
  const initial = await evaluateAsync(model, valid, tick);

  let opt = makeOptimizer(optCfg);
  let st: TrainState = { step: 0, losses: [], curve: [], firstLosses: [] };
  const resumed = kit.resumed<TrainState>();
  if (resumed?.ckpt) {
    st = resumed.data;
    const b = await kit.loadBundle<{ optStep: number }>(resumed.ckpt);
    model = modelFromArrays(model.arch, b.arrays, 'm.');
    opt = restoreOptimizer(opt.cfg, b.json.optStep, b.arrays);
  }
  let perm: Int32Array | null = null;
  let permEpoch = -1;
  const began = Date.now();
  const startStep = st.step;
  while (st.step < total) {
    const epoch = Math.floor(st.step / perEpoch);
    if (epoch !== permEpoch) {
      perm = kit.rng('epoch', epoch).permutation(data.train.count);
      permEpoch = epoch;
    }
    const from = (st.step % perEpoch) * cfg.batch_size;
    const idx = perm!.subarray(from, Math.min(data.train.count, from + cfg.batch_size));
    const loss = trainStep(model, opt, batchOf(data.train, idx));
    if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${st.step} (loss ${loss})`);
    st.step++;
    st.losses.push(loss);
    st.losses = st.losses.slice(-50);
    if (st.firstLosses.length < 20) st.firstLosses.push(loss);
    if (st.step % curveEvery === 0 || st.step === total) st.curve.push([st.step, round(tailMean(st.losses, curveEvery), 4)]);
    await kit.tick();
    if (st.step % 20 === 0 || st.step === total) {
      const ck = st.step % every === 0 && st.step < total;
      await kit.progress(
        (st.step / total) * 95,
        `training step ${st.step}/${total} (epoch ${epoch + 1})`,
        { step: st.step, train_loss: round(tailMean(st.losses, 20), 4) },
        ck ? { step: st.step, data: st, bundle: { json: { optStep: opt.state.step }, arrays: optimizerArrays(opt, modelArrays(model, 'm.')) } } : undefined,
      );
    }
  }
  const seconds = (Date.now() - began) / 1000;
  const final = await evaluateAsync(model, valid, tick);
  const { ref } = await kit.putModel(model);
  await kit.progress(100, 'training finished', { step: st.step });
  return {
    metrics: {
      executor: 'forge',
      total_steps: st.step,
      epochs_completed: round(st.step / perEpoch, 3),
      final_loss: round(tailMean(st.losses, 50)),
      initial_loss: round(tailMean(st.firstLosses, 20)),
      final_accuracy: round(final.accuracy),
      initial_val_loss: round(initial.loss),
      initial_accuracy: round(initial.accuracy),
      ...evalSummary(final),
      loss_curve: st.curve,
      optimizer: cfg.optimizer,
      learning_rate: cfg.learning_rate,
      batch_size: cfg.batch_size,
      grokfast_enabled: !!gf?.enabled,
      examples_per_second: seconds > 0 ? round(((st.step - startStep) * cfg.batch_size) / seconds, 1) : null,
      seed: kit.seed,
      wall_seconds: kit.elapsedSeconds(),
    },
    artifacts: { model: ref },
  };
}
