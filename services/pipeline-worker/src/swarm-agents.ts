import type { AgentStatus, PipelinePhase } from '@agent-forge/contracts';
import type { Logger } from '@agent-forge/runtime';
import type { SessionStore } from '@agent-forge/state';

/**
 * The agents a phase's executor reports (its swarm), persisted: every change is written with
 * `store.updateAgent` (which publishes `agent_update`), the measured link latency becomes the
 * session's `communication_latency_ms`. `max_agents` is enforced here whatever the executor does:
 * the runner's own coordinator agent is one of them, so at most `max_agents − 1` others are kept;
 * an agent beyond that is refused (logged) and never shown.
 */
export class PhaseSwarmAgents {
  private readonly last = new Map<string, AgentStatus>();
  private refused = 0;

  constructor(
    private readonly o: { store: SessionStore; sessionId: string; phase: PipelinePhase; maxAgents: number; log: Logger },
  ) {}

  async report(agents: AgentStatus[], latencyMs: number | null): Promise<void> {
    for (const raw of agents) {
      const agent: AgentStatus = { ...raw, phase: this.o.phase };
      if (!this.last.has(agent.agent_id) && this.last.size >= this.o.maxAgents - 1) {
        if (this.refused++ === 0) this.o.log.warn({ maxAgents: this.o.maxAgents, agent: agent.agent_id }, 'executor reported more agents than max_agents allows; extra agents are not recorded');
        continue;
      }
      const before = this.last.get(agent.agent_id);
      if (before && JSON.stringify(before) === JSON.stringify(agent)) continue;
      this.last.set(agent.agent_id, agent);
      await this.o.store.updateAgent(this.o.sessionId, agent);
    }
    if (latencyMs !== null && Number.isFinite(latencyMs) && latencyMs > 0) {
      await this.o.store.setField(this.o.sessionId, 'communication_latency_ms', Math.max(0.001, Math.round(latencyMs * 1000) / 1000));
    }
  }

  /** Mark every agent still running as stopped (the phase is over). */
  async retire(): Promise<void> {
    for (const a of this.last.values()) {
      if (a.state === 'stopped' || a.state === 'error') continue;
      const stopped: AgentStatus = { ...a, state: 'stopped', current_task: null };
      this.last.set(a.agent_id, stopped);
      await this.o.store.updateAgent(this.o.sessionId, stopped);
    }
  }
}
