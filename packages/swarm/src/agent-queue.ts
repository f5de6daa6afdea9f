import type { Agent } from './agent';

/** Free agents in rotation (so work spreads over every agent), waiting when all are busy. */
export class AgentQueue {
  private readonly free: Agent[];
  private readonly waiting: ((a: Agent | null) => void)[] = [];
  private busy = 0;

  constructor(agents: Agent[]) {
    this.free = agents.filter((a) => a.alive);
  }

  /** A free live agent, or null once no agent is alive (or could become free). */
  acquire(): Promise<Agent | null> {
    const a = this.take();
    if (a) return Promise.resolve(a);
    if (this.busy === 0) return Promise.resolve(null);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(agent: Agent): void {
    this.busy--;
    if (agent.alive) this.free.push(agent);
    while (this.waiting.length > 0) {
      const a = this.take();
      if (a) this.waiting.shift()!(a);
      else if (this.busy > 0) return;
      else this.waiting.shift()!(null);
    }
  }

  private take(): Agent | null {
    while (this.free.length > 0) {
      const a = this.free.shift()!;
      if (a.alive) {
        this.busy++;
        return a;
      }
    }
    return null;
  }
}
