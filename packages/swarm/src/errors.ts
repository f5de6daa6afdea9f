/** A swarm failure with a stable code (the phase reports it as its error code). */
export class SwarmError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SwarmError';
  }
}

/** An agent's thread outgrew its heap limit: V8 stopped it; only that agent's task fails. */
export class AgentMemoryLimitError extends SwarmError {
  constructor(agent: string, limitMb: number) {
    super('AGENT_MEMORY_LIMIT', `agent ${agent} exceeded its memory limit of ${limitMb} MB`);
    this.name = 'AgentMemoryLimitError';
  }
}

/** An agent's thread ended for another reason (crash, terminate) while work was waiting on it. */
export class AgentLostError extends SwarmError {
  constructor(agent: string, why: string) {
    super('AGENT_LOST', `agent ${agent} was lost: ${why}`);
    this.name = 'AgentLostError';
  }
}

/** What a task's failure looks like in its outcome (plain data: it crosses thread boundaries). */
export interface TaskFailure {
  code: string;
  message: string;
}

export function toTaskFailure(err: unknown): TaskFailure {
  if (err instanceof SwarmError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown } | null;
  return { code: typeof e?.code === 'string' ? e.code : 'TASK_FAILED', message: String(e?.message ?? err) };
}
