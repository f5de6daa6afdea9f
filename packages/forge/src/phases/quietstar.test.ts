import type { FsArtifactStore, PreviousPhase } from '@agent-forge/engine';
import { jStat } from 'jstat';
import { mean } from 'simple-statistics';
import { arithmeticProblems } from '../data/arithmetic';
import { answerExamples } from '../data/datasets';
import { evaluate, perGroupMean } from '../model/evaluate';
import { decodeModel } from '../model/serialize';
import { Rng } from '../rng';
import { cognateFixture, makeTestContext, makeTestStore, measured, runInterrupted } from '../test-support';
import { runQuietstar } from './quietstar';

describe('quietstar', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  let previous: PreviousPhase;
  beforeAll(async () => {
    ({ store, cleanup } = await makeTestStore());
    previous = await cognateFixture(store);
  });
  afterAll(() => cleanup());

  const config = { iterations: 60, eval_problems: 40, thought_length: 2, num_thoughts: 2, thought_dim: 8, checkpoint_every: 20 };

  it('p_value is a real paired t-test over the per-problem A/B results', async () => {
    const r = await runQuietstar(makeTestContext({ phase: 'quietstar', config, store, previous }).ctx);
    const m = r.metrics as Record<string, any>;
    const ab = JSON.parse(new TextDecoder().decode(await store.get(r.artifacts!.ab_results!)));
    expect(ab.baseline).toHaveLength(40);
    const diffs = ab.with_thoughts.map((b: number, i: number) => b - ab.baseline[i]);
    expect(m.accuracy_improvement).toBeCloseTo(mean(diffs), 5);
    // recomputed independently with jstat's one-sample t-test on the per-problem differences
    expect(m.p_value).toBeCloseTo(jStat.ttest(0, diffs, 2), 10);
    expect(m.p_value).toBeGreaterThan(0);
    expect(m.p_value).toBeLessThanOrEqual(1);
    expect(m.iterations_completed).toBe(60);
    expect(['with_thoughts', 'baseline', 'tie']).toContain(m.ab_test_winner);
    // the "without thoughts" arm is exactly the incoming model (its base is frozen)
    const incoming = decodeModel(await store.get(previous.artifacts.model!)).model;
    const test = answerExamples(arithmeticProblems('heldout', 40, new Rng(1337, 'quietstar', 'test-problems')), incoming.arch.context);
    const base = perGroupMean(evaluate(incoming, test).perRowCorrect, test.groups).map((g) => g.mean);
    expect(base).toEqual(ab.baseline);
    // the saved model carries the thought module, and with it the "with thoughts" arm re-measures
    const saved = decodeModel(await store.get(r.artifacts!.model!)).model;
    expect(saved.arch.thought).toEqual({ count: 2, length: 2, dim: 8 });
    const withT = perGroupMean(evaluate(saved, test).perRowCorrect, test.groups).map((g) => g.mean);
    expect(withT).toEqual(ab.with_thoughts);
  });

  it('resumes after an interruption with the same result', async () => {
    const { full, resumed } = await runInterrupted(runQuietstar, { phase: 'quietstar', config, store, previous, sessionId: 'qs' }, 3);
    expect(measured(resumed)).toEqual(measured(full));
    expect(resumed.artifacts!.model!.sha256).toBe(full.artifacts!.model!.sha256);
  });
});
