import { ExecutorRegistry, type FsArtifactStore, type PreviousPhase } from '@agent-forge/engine';
import { PIPELINE_PHASES } from '@agent-forge/contracts';
import { ForgeExecutor, forgeExecutors, registerForgeExecutors } from './executor';
import { decodeModel } from './model/serialize';
import { asPrevious, makeTestContext, makeTestStore } from './test-support';

/** All eight phases chained on tiny configs: each reads the previous model and writes its own. */
const TINY: Record<string, Record<string, unknown>> = {
  cognate: { models_created: 2, pretrain_steps: 40 },
  evomerge: { population_size: 3, generations: 2, eval_samples: 64 },
  quietstar: { iterations: 20, eval_problems: 20, thought_length: 2, num_thoughts: 2, thought_dim: 8 },
  bitnet: { group_size: 32, calibration_samples: 32 },
  training: { training_steps: 30 },
  baking: { iterations: 20, examples_per_label: 5 },
  adas: { iterations: 1, population_size: 3, train_steps: 5, final_train_steps: 10, search_space: { widths: [8, 16], depths: [1] } },
  compression: { finetune_steps: 10, codebook_size: 4 },
};

describe('forge executor', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ store, cleanup } = await makeTestStore()));
  afterAll(() => cleanup());

  it('registers under one name', () => {
    const reg = registerForgeExecutors(new ExecutorRegistry());
    expect(reg.names()).toEqual(['forge']);
    expect(forgeExecutors().map((e) => e.name)).toEqual(['forge']);
  });

  it('runs the eight phases in order, each on the previous phase’s model', async () => {
    const exec = new ForgeExecutor();
    let previous: PreviousPhase | null = null;
    for (const phase of PIPELINE_PHASES) {
      const t = makeTestContext({ phase, config: { ...TINY[phase], unknown_key_from_a_client: 1 }, store, previous, sessionId: 'chain' });
      const r = await exec.run(t.ctx);
      expect(r.metrics.executor).toBe('forge');
      const model = decodeModel(await store.get(r.artifacts!.model!)).model;
      expect(model.allFinite()).toBe(true);
      if (previous) expect(r.artifacts!.model!.sha256).not.toBe(previous.artifacts.model!.sha256);
      if (phase === 'bitnet' || phase === 'compression') expect(r.metrics.original_size_mb).toBe(previous!.artifacts.model!.size_bytes / 2 ** 20);
      expect(t.steps.length).toBeGreaterThan(0);
      previous = asPrevious(phase, r);
    }
  });
});
