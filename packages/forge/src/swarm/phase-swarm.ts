import path from 'node:path';
import { PhaseError, type PhaseContext } from '@agent-forge/engine';
import { Swarm, SwarmError, type EdgeCounts, type TaskOutcome } from '@agent-forge/swarm';

/** The handlers module agent threads load: TypeScript source in development, JavaScript when built. */
const TASKS_MODULE = path.join(__dirname, `tasks${path.extname(__filename)}`);

/**
 * The phase's swarm: `wanted` agents, capped by the session's max_agents (minus one: the phase's
 * runner agent is the coordinator), reporting to the engine through `ctx.agents`. Null when the
 * phase runs outside a session (no swarm settings) or max_agents leaves room for the coordinator
 * only — the coordinator then computes in the phase's own thread, and says so in the log.
 */
export async function startPhaseSwarm(ctx: PhaseContext, wanted: number): Promise<Swarm | null> {
  const s = ctx.swarm;
  if (!s) return null;
  const agents = Math.min(wanted, s.maxAgents - 1);
  if (agents < 1) {
    ctx.logger.info({ phase: ctx.phase, maxAgents: s.maxAgents }, 'max_agents leaves no agent besides the coordinator: the phase computes in its own thread');
    return null;
  }
  return Swarm.start({
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
}

function swarmPrefix(ctx: PhaseContext): string {
  return `${ctx.phase}-${ctx.sessionId.slice(0, 8)}`;
}

/** The values of a batch; a failed task fails the phase with the task's code (e.g. AGENT_MEMORY_LIMIT). */
export function valuesOrFail<R>(outcomes: TaskOutcome<R>[]): R[] {
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
