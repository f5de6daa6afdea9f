import type { FsArtifactStore } from '@agent-forge/engine';
import { evaluate } from '../model/evaluate';
import { decodeModel } from '../model/serialize';
import { makeTestContext, makeTestStore, measured, runInterrupted } from '../test-support';
import { runCognate } from './cognate';
import { validSet } from './common';

describe('cognate', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ store, cleanup } = await makeTestStore()));
  afterAll(() => cleanup());

  const config = { models_created: 2, pretrain_steps: 50, merge_strategy: 'evolutionary', merge_trials: 2, checkpoint_every: 25 };

  it('creates and pre-trains real models and merges them; the reported losses re-measure', async () => {
    const t = makeTestContext({ phase: 'cognate', config, store });
    const r = await runCognate(t.ctx);
    const m = r.metrics as Record<string, any>;
    expect(m.models_created).toBe(2);
    expect(m.initial_val_losses).toHaveLength(2);
    // pre-training lowers each model's held-out loss below its loss at initialisation
    m.models.forEach((x: any) => expect(x.pretrained_val_loss).toBeLessThan(x.initial_val_loss));
    const saved = decodeModel(await store.get(r.artifacts!.model!));
    expect(evaluate(saved.model, validSet(1337, 1, saved.model.arch)).loss).toBeCloseTo(m.val_loss, 5);
    const m1 = decodeModel(await store.get(r.artifacts!.model_1!));
    expect(evaluate(m1.model, validSet(1337, 1, m1.model.arch)).loss).toBeCloseTo(m.pretrained_val_losses[1], 5);
    expect(m.merge_weights.reduce((s: number, w: number) => s + w, 0)).toBeCloseTo(1, 5);
    expect(t.steps.length).toBeGreaterThan(3);
    expect(t.steps.every((s) => s.percent >= 0 && s.percent <= 100)).toBe(true);
  });

  it('derives a deterministic architecture for unknown names and merges only compatible shapes', async () => {
    const t = makeTestContext({
      phase: 'cognate',
      config: { base_models: ['tiny-gpt-a', 'my-own-model'], models_created: 2, pretrain_steps: 5, init_strategy: 'kaiming_normal', merge_strategy: 'average' },
      store,
      sessionId: 'derived',
    });
    const m = (await runCognate(t.ctx)).metrics as Record<string, any>;
    expect(m.models[1].arch).not.toBe(m.models[0].arch);
    expect(m.merge_excluded).toEqual(['my-own-model']);
    expect(m.merged_model_count).toBe(1);
  });

  it('resumes after an interruption with the same result', async () => {
    const { full, resumed } = await runInterrupted(runCognate, { phase: 'cognate', config, store, sessionId: 'cg' }, 4);
    expect(measured(resumed)).toEqual(measured(full));
    expect(resumed.artifacts!.model!.sha256).toBe(full.artifacts!.model!.sha256);
  });
});
