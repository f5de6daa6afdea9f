import type { PreviousPhase } from '@agent-forge/engine';
import type { FsArtifactStore } from '@agent-forge/engine';
import { capEvenly } from '../data/datasets';
import { evaluate } from '../model/evaluate';
import { decodeModel } from '../model/serialize';
import { cognateFixture, makeTestContext, makeTestStore, measured, runInterrupted } from '../test-support';
import { validSet } from './common';
import { runEvomerge } from './evomerge';

describe('evomerge', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  let previous: PreviousPhase;
  beforeAll(async () => {
    ({ store, cleanup } = await makeTestStore());
    previous = await cognateFixture(store);
  });
  afterAll(() => cleanup());

  const config = { population_size: 4, generations: 3, eval_samples: 128 };

  it('final_fitness equals a re-evaluation of the saved best model', async () => {
    const t = makeTestContext({ phase: 'evomerge', config, store, previous });
    const r = await runEvomerge(t.ctx);
    const m = r.metrics as Record<string, any>;
    const best = decodeModel(await store.get(r.artifacts!.model!)).model;
    const evalSet = capEvenly(validSet(1337, 1, best.arch), 128);
    expect(evaluate(best, evalSet).score).toBeCloseTo(m.final_fitness, 6);
    expect(m.fitness_scores).toHaveLength(4);
    expect([...m.fitness_scores].sort((a: number, b: number) => b - a)).toEqual(m.fitness_scores);
    expect(m.final_fitness).toBeGreaterThanOrEqual(m.initial_best_fitness);
    expect(m.convergence_generation).toBeGreaterThanOrEqual(0);
    expect(m.convergence_generation).toBeLessThanOrEqual(3);
    expect(m.diversity_final).toBeGreaterThan(0);
    const history = JSON.parse(new TextDecoder().decode(await store.get(r.artifacts!.fitness_history!)));
    expect(history).toHaveLength(4);
    expect(history[3].best).toBeCloseTo(m.final_fitness, 5);
    const recipe = JSON.parse(new TextDecoder().decode(await store.get(r.artifacts!.merge_recipe!)));
    expect(recipe.steps[0].id).toBe(recipe.best_id);
    // every ancestor in the recipe is traceable to a seed
    expect(recipe.steps.some((s: any) => s.op === 'seed')).toBe(true);
  });

  it('runs from a fresh model when it is the first phase', async () => {
    const r = await runEvomerge(makeTestContext({ phase: 'evomerge', config: { population_size: 2, generations: 1, eval_samples: 64 }, store, sessionId: 'first' }).ctx);
    expect(r.metrics.generations).toBe(1);
  });

  it('resumes after an interruption with the same result', async () => {
    const { full, resumed } = await runInterrupted(runEvomerge, { phase: 'evomerge', config, store, previous, sessionId: 'em' }, 2);
    expect(measured(resumed)).toEqual(measured(full));
    expect(resumed.artifacts!.model!.sha256).toBe(full.artifacts!.model!.sha256);
  });
});
