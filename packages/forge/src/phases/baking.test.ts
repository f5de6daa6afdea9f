import type { FsArtifactStore, PreviousPhase } from '@agent-forge/engine';
import { cognateFixture, makeTestContext, makeTestStore, measured, runInterrupted } from '../test-support';
import { runBaking } from './baking';

describe('baking', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  let previous: PreviousPhase;
  beforeAll(async () => {
    ({ store, cleanup } = await makeTestStore());
    previous = await cognateFixture(store);
  });
  afterAll(() => cleanup());

  const config = { iterations: 150, examples_per_label: 20, tool_types: ['calculator', 'search', 'weather'], persona_traits: ['helpful', 'stoic'] };

  it('measures tool and persona skill before and after; fine-tuning improves both', async () => {
    const r = await runBaking(makeTestContext({ phase: 'baking', config, store, previous }).ctx);
    const m = r.metrics as Record<string, any>;
    expect(m.tool_improvement).toBeCloseTo(m.tool_accuracy_after - m.tool_accuracy_before, 5);
    expect(m.persona_improvement).toBeCloseTo(m.persona_accuracy_after - m.persona_accuracy_before, 5);
    expect(m.tool_improvement).toBeGreaterThan(0.1);
    expect(m.persona_improvement).toBeGreaterThan(0.1);
    expect(m.overall_improvement).toBeGreaterThan(0);
    expect(typeof m.convergence_achieved).toBe('boolean');
    expect(m.iterations_completed).toBe(150);
  });

  it('resumes after an interruption with the same result', async () => {
    const { full, resumed } = await runInterrupted(runBaking, { phase: 'baking', config: { ...config, iterations: 60, checkpoint_every: 20 }, store, previous, sessionId: 'bk' }, 3);
    expect(measured(resumed)).toEqual(measured(full));
  });
});
