import type { PreviousPhase } from '@agent-forge/engine';
import type { FsArtifactStore } from '@agent-forge/engine';
import { capEvenly } from '../data/datasets';
import { evaluate } from '../model/evaluate';
import { decodeModel } from '../model/serialize';
import type { SwarmTopology } from '@agent-forge/contracts';
import { cognateFixture, makeTestContext, makeTestStore, measured, runInterrupted, type TestContextOptions } from '../test-support';
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

describe('evomerge on a swarm', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  let previous: PreviousPhase;
  beforeAll(async () => {
    ({ store, cleanup } = await makeTestStore());
    previous = await cognateFixture(store, 'swarm-fixture');
  });
  afterAll(() => cleanup());

  const config = { population_size: 4, generations: 3, eval_samples: 128 };
  const swarm = (topology: SwarmTopology, maxAgents = 4) => ({ topology, maxAgents, agentMemoryLimitMb: 128 });
  const run = (sessionId: string, s?: ReturnType<typeof swarm>, extra: Partial<TestContextOptions> = {}) => {
    const t = makeTestContext({ phase: 'evomerge', config, store, previous, sessionId, ...(s ? { swarm: s } : {}), ...extra });
    return runEvomerge(t.ctx).then((r) => ({ r, t }));
  };
  const peerEdges = (m: Record<string, number>) => Object.keys(m).filter((k) => !k.includes('coordinator')).sort();

  it('star and hierarchical: agents evaluate the children; the result is the one computed without a swarm', async () => {
    const alone = await run('alone');
    for (const topology of ['star', 'hierarchical'] as const) {
      const { r, t } = await run(`on-${topology}`, swarm(topology));
      expect(r.artifacts!.model!.sha256).toBe(alone.r.artifacts!.model!.sha256);
      expect(measured(r)).toMatchObject(Object.fromEntries(Object.entries(measured(alone.r)).filter(([k]) => k !== 'fitness_definition')));
      const messages = r.metrics.swarm_messages as Record<string, number>;
      // 4 initial members + 3 generations × 4 children = 16 fitness tasks
      if (topology === 'star') {
        expect(peerEdges(messages)).toEqual([]);
        expect(Object.entries(messages).filter(([k]) => k.startsWith('coordinator→')).reduce((n, [, v]) => n + v, 0)).toBe(16);
      } else {
        expect(Object.keys(messages).filter((k) => k.startsWith('coordinator→'))).toEqual(['coordinator→team-lead-0']);
        const fromLead = Object.entries(messages).filter(([k]) => k.startsWith('team-lead-0→') && !k.endsWith('coordinator'));
        expect(fromLead.reduce((n, [, v]) => n + v, 0)).toBe(16);
      }
      // agents were reported while they worked, never more than max_agents − 1 (the coordinator is the other one)
      const ids = new Set(t.agentReports.flatMap((x) => x.agents.map((a) => a.agent_id)));
      expect(ids.size).toBe(r.metrics.swarm_agents);
      expect(ids.size).toBeLessThanOrEqual(3);
      expect(ids.size).toBeGreaterThanOrEqual(topology === 'hierarchical' ? 2 : 1);
      expect(t.agentReports.some((x) => x.agents.some((a) => a.state === 'executing' && /evaluate/.test(a.current_task ?? '')))).toBe(true);
      expect(t.agentReports[t.agentReports.length - 1]!.agents.every((a) => a.state === 'stopped')).toBe(true);
      expect(t.agentReports.every((x) => x.latencyMs !== null && x.latencyMs > 0)).toBe(true);
    }
  }, 60_000);

  it('mesh: islands on the agents exchange their best members peer to peer; seeded, so repeatable', async () => {
    const a = await run('mesh-a', swarm('mesh', 4));
    const b = await run('mesh-b', swarm('mesh', 4));
    expect(a.r.artifacts!.model!.sha256).toBe(b.r.artifacts!.model!.sha256);
    const m = a.r.metrics as Record<string, any>;
    expect(m.islands).toBe(3);
    // every island received from both others after each of the first 3 rounds (start, gen 1, gen 2)
    expect(m.migrations).toBe(3 * 2 * 3);
    const names = ['fitness-evaluator-0', 'merge-operator-1', 'evolutionary-optimizer-2'];
    const expected = names.flatMap((x) => names.filter((y) => y !== x).map((y) => `${x}→${y}`)).sort();
    expect(peerEdges(m.swarm_messages)).toEqual(expected);
    for (const e of expected) expect(m.swarm_messages[e]).toBe(3);
    // the reported fitness is the saved model's
    const best = decodeModel(await store.get(a.r.artifacts!.model!)).model;
    expect(evaluate(best, capEvenly(validSet(1337, 1, best.arch), 128)).score).toBeCloseTo(m.final_fitness, 6);
    expect(m.fitness_scores).toHaveLength(4);
  }, 60_000);

  it('ring: each island passes its best to the next one only', async () => {
    const { r } = await run('ring', swarm('ring', 4));
    const m = r.metrics as Record<string, any>;
    expect(peerEdges(m.swarm_messages)).toEqual(['evolutionary-optimizer-2→fitness-evaluator-0', 'fitness-evaluator-0→merge-operator-1', 'merge-operator-1→evolutionary-optimizer-2']);
    expect(m.migrations).toBe(3 * 3);
  }, 60_000);

  it('mesh resumes after an interruption with the same result', async () => {
    const { full, resumed } = await runInterrupted(runEvomerge, { phase: 'evomerge', config, store, previous, sessionId: 'mesh-resume', swarm: swarm('mesh', 3) }, 2);
    expect(resumed.artifacts!.model!.sha256).toBe(full.artifacts!.model!.sha256);
    expect(resumed.metrics.final_fitness).toBe(full.metrics.final_fitness);
  }, 60_000);

  it('max_agents = 1: no agents besides the coordinator, the phase computes in its own thread', async () => {
    const { r, t } = await run('solo', swarm('mesh', 1));
    expect(r.metrics.swarm_agents).toBeUndefined();
    expect(t.agentReports).toEqual([]);
  });

  it('an agent heap limit too small to even start fails the phase with AGENT_MEMORY_LIMIT', async () => {
    const err = await run('tiny', { topology: 'star', maxAgents: 2, agentMemoryLimitMb: 2 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AGENT_MEMORY_LIMIT', retryable: false });
  }, 30_000);
});
