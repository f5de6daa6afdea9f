import type { SwarmTopology } from '@agent-forge/contracts';

/**
 * How work and results flow in each topology. "coordinator" is the phase's runner agent (the hub);
 * agents are worker threads. These are the message patterns the edge counters show:
 *
 * - `star`: the coordinator sends every task to an agent and the agent answers it; agents never
 *   talk to each other. Edges: coordinator→agent and agent→coordinator only, one message each
 *   way per task.
 * - `hierarchical`: the coordinator sorts a batch by priority and hands it to the team lead in one
 *   message; the lead fans the tasks out to its team (lead→worker, one per task), gathers the
 *   answers (worker→lead) and returns the batch (lead→coordinator). The coordinator never talks
 *   to a worker. With a single agent the lead has no team and computes the batch itself.
 * - `mesh`: peers exchange results directly over MessagePorts, every peer with every other.
 *   Island rounds (`Swarm.rounds`): each peer sends its round result to every other peer
 *   (agent→agent for each ordered pair) and starts its next round from what the others sent.
 *   A plain batch (`Swarm.map`): the coordinator sends each peer its part; then peers all-gather
 *   their results and the first peer returns the whole batch.
 * - `ring`: each agent passes its result to the next agent only (agent i → agent i+1, the last →
 *   the first in island rounds), which refines it. A plain batch travels the ring as a growing
 *   result list and the last agent returns it.
 */
export const TOPOLOGY_PATTERNS: Record<SwarmTopology, string> = {
  star: 'coordinator↔agent per task; agents never talk to each other',
  hierarchical: 'coordinator→lead (batch by priority), lead↔worker per task, lead→coordinator',
  mesh: 'every peer sends its result to every other peer directly',
  ring: 'each agent sends its result to the next agent, which refines it',
};

/** The name the hub has in edge counts and agent links. */
export const COORDINATOR = 'coordinator';

/** Whom agent `i` of `n` sends exchange results to, by index. */
export function outNeighbours(topology: SwarmTopology, i: number, n: number): number[] {
  if (n < 2) return [];
  if (topology === 'mesh') return Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
  if (topology === 'ring') return [(i + 1) % n];
  return [];
}

/** Whom agent `i` of `n` receives exchange results from, by index (the inverse of outNeighbours). */
export function inNeighbours(topology: SwarmTopology, i: number, n: number): number[] {
  if (n < 2) return [];
  if (topology === 'mesh') return Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
  if (topology === 'ring') return [(i - 1 + n) % n];
  return [];
}

/** Messages sent per directed edge, keyed `from→to`. */
export type EdgeCounts = Record<string, number>;

export function edgeKey(from: string, to: string): string {
  return `${from}→${to}`;
}
