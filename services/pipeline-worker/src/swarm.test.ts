import { ForgeExecutor } from '@agent-forge/forge';
import { ALL_TENANTS, EventReader, toSwarmStatus } from '@agent-forge/state';
import { createWorkerHarness, waitFor } from './test-harness';

/**
 * The swarm through the worker: the forge's evomerge runs on agent threads, every agent change
 * arrives as agent_update and on the swarm view, the link latency is measured, and max_agents
 * holds at every moment (the phase's coordinator agent included).
 */
const h = createWorkerHarness({ label: 'swarm', executors: [new ForgeExecutor()] });
const reader = new EventReader(h.t.redis, h.t.keys);
beforeAll(() => h.start());
afterAll(() => h.stop());

const tiny = { executor: 'forge', cognate: { base_models: ['tiny-gpt-a'], models_created: 1 }, evomerge: { population_size: 4, generations: 2, eval_samples: 128 } };

/** Live agents after each agent_update event, replaying the events in order. */
async function liveCounts(id: string): Promise<{ counts: number[]; roles: Set<string>; tasks: string[] }> {
  const state = new Map<string, string>();
  const counts: number[] = [];
  const roles = new Set<string>();
  const tasks: string[] = [];
  for (const e of await reader.readAfter(id, '0', 10_000)) {
    if (e.event_type !== 'agent_update') continue;
    state.set(String(e.data.agent_id), String(e.data.state));
    roles.add(String(e.data.role));
    if (e.data.task) tasks.push(String(e.data.task));
    counts.push([...state.values()].filter((s) => s !== 'stopped').length);
  }
  return { counts, roles, tasks };
}

it.each([
  ['mesh', 3],
  ['hierarchical', 4],
] as const)('%s with max_agents %i: real agents on the swarm view, never more than max_agents', async (topology, maxAgents) => {
  const id = await h.startSession(['cognate', 'evomerge'], tiny, false, { swarm: { topology, maxAgents } });
  const final = await waitFor(() => h.status(id), (s) => s.status === 'completed' || s.status === 'failed' || s.status === 'paused', 60_000);
  expect(final.status).toBe('completed');

  const metrics = final.metrics.evomerge as Record<string, any>;
  const agents = metrics.swarm_agents as number;
  expect(agents).toBeGreaterThanOrEqual(2);
  expect(agents).toBeLessThanOrEqual(maxAgents - 1);
  const { counts, roles, tasks } = await liveCounts(id);
  expect(Math.max(...counts)).toBeLessThanOrEqual(maxAgents);
  expect(Math.max(...counts)).toBe(agents + 1); // the coordinator and every agent were live together
  expect(roles).toContain('swarm-coordinator');
  expect(roles).toContain('fitness-evaluator');
  if (topology === 'hierarchical') expect(roles).toContain('team-lead');
  expect(tasks.some((t) => (topology === 'mesh' ? /island \d: (start|generation \d)/ : /evaluate/).test(t))).toBe(true);

  const swarm = toSwarmStatus((await h.store.snapshot(id, ALL_TENANTS))!);
  expect(swarm.topology).toBe(topology);
  expect(swarm.max_agents).toBe(maxAgents);
  expect(swarm.communication_latency_ms).toBeGreaterThan(0);
  const evo = swarm.agents.filter((a) => a.phase === 'evomerge' && a.role !== 'swarm-coordinator');
  expect(evo).toHaveLength(agents);
  for (const a of evo) {
    expect(a.state).toBe('stopped');
    expect(a.memory_usage_mb).toBeGreaterThan(0);
    expect(a.uptime_seconds).toBeGreaterThan(0);
  }
  // the phase's metrics show the topology's message pattern
  expect(metrics.swarm_topology).toBe(topology);
  const peer = Object.keys(metrics.swarm_messages).filter((k) => !k.includes('coordinator'));
  expect(peer).toHaveLength(topology === 'mesh' ? agents * (agents - 1) : 2 * (agents - 1));
}, 90_000);
