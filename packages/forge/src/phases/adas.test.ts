import type { FsArtifactStore, PreviousPhase } from '@agent-forge/engine';
import { decodeModel } from '../model/serialize';
import { cognateFixture, makeTestContext, makeTestStore, measured, runInterrupted } from '../test-support';
import { dominates, nonDominatedSort, runAdas, type Candidate } from './adas';

const cand = (key: string, val_loss: number, params: number): Candidate => ({ key, genome: { width: 1, depth: 1, activation: 'tanh' }, val_loss, params });

describe('adas', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  let previous: PreviousPhase;
  beforeAll(async () => {
    ({ store, cleanup } = await makeTestStore());
    previous = await cognateFixture(store);
  });
  afterAll(() => cleanup());

  const config = { iterations: 2, population_size: 4, train_steps: 15, final_train_steps: 20, search_space: { widths: [8, 16, 32], depths: [1, 2], activations: ['tanh', 'relu'] } };

  it('non-dominated sorting', () => {
    const cs = [cand('a', 1, 10), cand('b', 2, 5), cand('c', 2, 10), cand('d', 0.5, 20), cand('e', 3, 20)];
    expect(dominates(cs[0]!, cs[2]!)).toBe(true);
    expect(dominates(cs[0]!, cs[1]!)).toBe(false);
    const fronts = nonDominatedSort(cs);
    expect(fronts[0]!.sort()).toEqual([0, 1, 3]);
    expect(fronts[1]).toEqual([2]);
    expect(fronts[2]).toEqual([4]);
  });

  it('reports a non-dominated Pareto front over every evaluated candidate and saves the chosen architecture', async () => {
    const r = await runAdas(makeTestContext({ phase: 'adas', config, store, previous }).ctx);
    const m = r.metrics as Record<string, any>;
    const pf = JSON.parse(new TextDecoder().decode(await store.get(r.artifacts!.pareto_front!)));
    expect(pf.front).toHaveLength(m.pareto_front_size);
    expect(m.candidates_evaluated).toBe(pf.all.length);
    for (const f of pf.front) for (const c of pf.all) expect(dominates(c, f)).toBe(false);
    // every candidate not on the front is dominated by a front member
    for (const c of pf.all) if (!pf.front.some((f: Candidate) => f.key === c.key)) expect(pf.front.some((f: Candidate) => dominates(f, c))).toBe(true);
    const best = m.best_architecture_config;
    expect(pf.front.some((f: Candidate) => f.genome.width === best.width && f.genome.depth === best.depth && f.genome.activation === best.activation)).toBe(true);
    const saved = decodeModel(await store.get(r.artifacts!.model!)).model;
    expect(saved.arch.hidden).toEqual(best.hidden);
    expect(saved.arch.activation).toBe(best.activation);
    expect(m.best_architecture_score).toBeCloseTo(Math.max(...m.pareto_front.map((p: any) => p.score)), 5);
  });

  it('resumes after an interruption with the same result', async () => {
    const { full, resumed } = await runInterrupted(runAdas, { phase: 'adas', config, store, previous, sessionId: 'ad' }, 5);
    expect(measured(resumed)).toEqual(measured(full));
    expect(resumed.artifacts!.model!.sha256).toBe(full.artifacts!.model!.sha256);
  });

  it('on a swarm, agents train the candidates; every topology gives the result computed without one', async () => {
    const alone = await runAdas(makeTestContext({ phase: 'adas', config, store, previous, sessionId: 'ad-alone' }).ctx);
    for (const topology of ['star', 'hierarchical', 'mesh', 'ring'] as const) {
      const t = makeTestContext({ phase: 'adas', config, store, previous, sessionId: `ad-${topology}`, swarm: { topology, maxAgents: 3, agentMemoryLimitMb: 128 } });
      const r = await runAdas(t.ctx);
      expect(r.artifacts!.model!.sha256).toBe(alone.artifacts!.model!.sha256);
      expect(r.metrics.pareto_front).toEqual(alone.metrics.pareto_front);
      expect(r.metrics.swarm_topology).toBe(topology);
      const peer = Object.keys(r.metrics.swarm_messages as object).filter((k) => !k.includes('coordinator'));
      // star: agents never talk; hierarchical: lead↔worker; mesh: both ways; ring: the results travel one way
      const n = r.metrics.swarm_agents as number;
      expect(n).toBeLessThanOrEqual(2);
      expect(peer.length).toBe({ star: 0, hierarchical: 2 * (n - 1), mesh: n * (n - 1), ring: n - 1 }[topology]);
      expect(t.agentReports.some((x) => x.agents.some((a) => /train and evaluate/.test(a.current_task ?? '')))).toBe(true);
    }
  }, 120_000);
});
