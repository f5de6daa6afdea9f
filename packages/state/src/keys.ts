import type { PipelinePhase } from '@agent-forge/contracts';

/**
 * Every Redis key and channel name of Agent Forge. All keys of one session share the hash tag
 * `{s:<id>}` so the multi-key Lua scripts run on one Redis Cluster slot.
 */
export class Keys {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error('key prefix must not contain braces');
  }

  private s(sessionId: string): string {
    return `${this.prefix}:{s:${sessionId}}`;
  }
  session(sessionId: string): string {
    return `${this.s(sessionId)}:session`;
  }
  phase(sessionId: string, phase: PipelinePhase): string {
    return `${this.s(sessionId)}:phase:${phase}`;
  }
  agents(sessionId: string): string {
    return `${this.s(sessionId)}:agents`;
  }
  /** The session's capped event stream: its entry ids are the events' `event_id`s. */
  events(sessionId: string): string {
    return `${this.s(sessionId)}:events`;
  }
  /** Checkpoint ids of one session, scored by creation time. */
  sessionCheckpoints(sessionId: string): string {
    return `${this.s(sessionId)}:checkpoints`;
  }
  /** A checkpoint lives in its session's slot so saving it reads and writes one slot only. */
  checkpoint(sessionId: string, checkpointId: string): string {
    return `${this.s(sessionId)}:checkpoint:${checkpointId}`;
  }
  /**
   * checkpoint id → session id, so a checkpoint can be loaded by its id alone. One small key per
   * checkpoint (not one hash) so it can expire with its session.
   */
  checkpointOwner(checkpointId: string): string {
    return `${this.prefix}:checkpoint-owner:${checkpointId}`;
  }
  /** History records of finished sessions (id → JSON), kept after the session's own keys expire. */
  historyEntries(): string {
    return `${this.prefix}:{history}:entries`;
  }
  /** All sessions by start time (ms). Shares a hash tag with the records so trimming is one script. */
  history(): string {
    return `${this.prefix}:{history}`;
  }
  /** Ids of sessions not yet in a terminal status. */
  active(): string {
    return `${this.prefix}:active`;
  }
  presets(): string {
    return `${this.prefix}:presets`;
  }

  /** Pub/sub: every event envelope (JSON, with its event_id) — the realtime replicas' doorbell. */
  eventsChannel(): string {
    return `${this.prefix}:events`;
  }
  /** Pub/sub: control messages `{session_id, action}` for the worker running a session's phase. */
  controlChannel(): string {
    return `${this.prefix}:control`;
  }
  /** BullMQ prefix: one hash tag for every queue, so BullMQ's scripts never cross slots. */
  queuePrefix(): string {
    return `${this.prefix}:{queues}`;
  }
}
