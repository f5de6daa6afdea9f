import os from 'node:os';
import path from 'node:path';
import { PhaseError, type PhaseContext } from '@agent-forge/engine';
import { Swarm, SwarmError, type EdgeCounts, type TaskOutcome } from '@agent-forge/swarm';

/** The handlers module agent threads load: TypeScript source in development, JavaScript when built. */
const TASKS_MODULE = path.join(__dirname, `tasks${path.extname(__filename)}`);

/**
 * The phase's swarm: up to `wanted` agents, capped by the session's max_agents (minus one: the phase's
 * runner agent is the coordinator), reporting to the engine through `ctx.agents`. Null when the
 * phase runs outside a session (no swarm settings) or max_agents leaves room for the coordinator
 * only — the coordinator then computes in the phase's own thread, and says so in the log.
 */
export async function startPhaseSwarm(ctx: PhaseContext, wanted: number, shape: 'batch' | 'islands'): Promise<Swarm | null> {
  const s = ctx.swarm;
  if (!s) return null;
  // A batch gains nothing from more agents than can compute at once (each would only pay its start
  // and data set-up): the pool's width, plus the team lead under hierarchical. Islands are the
  // agents' own populations: one agent each, computing through the bounded pool.
  const useful = shape === 'islands' ? wanted : Math.min(wanted, os.availableParallelism() + (s.topology === 'hierarchical' ? 1 : 0));
  const agents = Math.min(useful, s.maxAgents - 1);
  if (agents < 1) {
    ctx.logger.info({ phase: ctx.phase, maxAgents: s.maxAgents }, 'max_agents leaves no agent besides the coordinator: the phase computes in its own thread');
    return null;
  }
  const swarm = await Swarm.start({
    phase: ctx.phase,
    topology: s.topology,
    agents,
    memoryLimitMb: s.agentMemoryLimitMb,
    module: TASKS_MODULE,
    exportName: 'forgeTasks',
    idPrefix: swarmPrefix(ctx),
    onAgents: (statuses, latency) => ctx.agents?.(statuses, latency),
  }).catch((err: unknown) => {
    // e.g. an agent over its heap limit while starting: the phase fails with the agent's code.
    if (err instanceof SwarmError) throw new PhaseError(err.code, err.message, false);
    throw err;
  });
  // Cancel, stop or timeout: the agents stop now, not when their batch is done.
  ctx.signal.addEventListener('abort', () => void swarm.close(), { once: true });
  return swarm;
}

function swarmPrefix(ctx: PhaseContext): string {
  return `${ctx.phase}-${ctx.sessionId.slice(0, 8)}`;
}

/**
 * The values of a batch; a failed task fails the phase with the task's code (e.g.
 * AGENT_MEMORY_LIMIT) — unless the phase was aborted, which stopped the agents: then the abort.
 */
export function valuesOrFail<R>(ctx: PhaseContext, outcomes: TaskOutcome<R>[]): R[] {
  ctx.signal.throwIfAborted();
  return outcomes.map((o) => {
    if (!o.ok) throw new PhaseError(o.error.code, `${o.agent}: ${o.error.message}`, false);
    return o.value;
  });
}

/** What the phase reports about its swarm: topology, agents and data messages per edge (names without the session prefix). */
export async function swarmMetrics(ctx: PhaseContext, swarm: Swarm): Promise<Record<string, unknown>> {
  const prefix = `${swarmPrefix(ctx)}-`;
  const short = (name: string) => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  const edges: EdgeCounts = {};
  for (const [edge, n] of Object.entries(await swarm.messages())) {
    const [from, to] = edge.split('→') as [string, string];
    edges[`${short(from)}→${short(to)}`] = n;
  }
  return {
    swarm_topology: swarm.topology,
    swarm_agents: swarm.agents.length,
    swarm_messages: edges,
  };
}
