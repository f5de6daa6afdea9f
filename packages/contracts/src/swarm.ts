import { z } from 'zod';
import { SwarmTopology } from './enums';

/**
 * What a phase learns about its session's swarm: the topology work flows through, how many agents
 * it may have at once (the session's `max_agents`, the phase's coordinator agent included) and the
 * heap limit each agent thread gets.
 */
export const PhaseSwarmSettings = z.object({
  topology: SwarmTopology,
  maxAgents: z.int().min(1),
  agentMemoryLimitMb: z.int().min(1),
});
export type PhaseSwarmSettings = z.infer<typeof PhaseSwarmSettings>;
