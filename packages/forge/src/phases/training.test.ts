import type { FsArtifactStore, PreviousPhase } from '@agent-forge/engine';
import { evaluate } from '../model/evaluate';
import { decodeModel } from '../model/serialize';
import { cognateFixture, makeTestContext, makeTestStore, measured, runInterrupted } from '../test-support';
import { validSet } from './common';
import { runTraining } from './training';

describe('training', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  let previous: PreviousPhase;
  beforeAll(async () => {
    ({ store, cleanup } = await makeTestStore());
    previous = await cognateFixture(store);
  });
  afterAll(() => cleanup());

  it('lowers the loss on the shipped data (adamw); final_accuracy re-measures on the saved model', async () => {
    const r = await runTraining(makeTestContext({ phase: 'training', config: { training_steps: 120, learning_rate: 0.003 }, store, previous }).ctx);
    const m = r.metrics as Record<string, any>;
    expect(m.total_steps).toBe(120);
    expect(m.final_loss).toBeLessThan(m.initial_loss);
    expect(m.val_loss).toBeLessThan(m.initial_val_loss);
    const curve = m.loss_curve as [number, number][];
    expect(curve.length).toBeGreaterThan(10);
    expect(curve[curve.length - 1]![1]).toBeLessThan(curve[0]![1]);
    const saved = decodeModel(await store.get(r.artifacts!.model!)).model;
    const re = evaluate(saved, validSet(1337, 1, saved.arch));
    expect(re.accuracy).toBeCloseTo(m.final_accuracy, 5);
  });

  it('trains with sgd and with grokfast filtering', async () => {
    const sgd = await runTraining(makeTestContext({ phase: 'training', config: { training_steps: 60, optimizer: 'sgd', learning_rate: 0.05 }, store, previous, sessionId: 'sgd' }).ctx);
    expect(sgd.metrics.val_loss as number).toBeLessThan(sgd.metrics.initial_val_loss as number);
    const gf = await runTraining(
      makeTestContext({ phase: 'training', config: { training_steps: 60, learning_rate: 0.003, grokfast: { enabled: true, ema_alpha: 0.9, lambda: 1 } }, store, previous, sessionId: 'gf' }).ctx,
    );
    expect(gf.metrics.grokfast_enabled).toBe(true);
    expect(gf.metrics.val_loss as number).toBeLessThan(gf.metrics.initial_val_loss as number);
    expect(gf.metrics.val_loss).not.toBe(sgd.metrics.val_loss);
  });

  it('resumes after an interruption with the same result', async () => {
    const { full, resumed } = await runInterrupted(runTraining, { phase: 'training', config: { training_steps: 100, checkpoint_every: 40 }, store, previous, sessionId: 'tr' }, 4);
    expect(measured(resumed)).toEqual(measured(full));
    expect(resumed.artifacts!.model!.sha256).toBe(full.artifacts!.model!.sha256);
  });
});
