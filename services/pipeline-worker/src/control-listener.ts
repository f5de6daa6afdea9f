import type { Logger, Redis } from '@agent-forge/runtime';
import type { Keys } from '@agent-forge/state';
import { controlMessages } from './metrics';

interface ControlMessage {
  session_id: string;
  action: string;
  status: string;
}

/**
 * Turns control messages from Redis pub/sub into AbortSignals of the phases this process runs.
 * Pause needs no signal: the next progress step sees the paused status and parks the phase.
 */
export class ControlListener {
  private readonly running = new Map<string, Set<AbortController>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: Keys,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.controlChannel()) return;
      controlMessages().inc();
      this.onMessage(message);
    });
    await this.subscriber.subscribe(this.keys.controlChannel());
  }

  register(sessionId: string, controller: AbortController): () => void {
    let set = this.running.get(sessionId);
    if (!set) this.running.set(sessionId, (set = new Set()));
    set.add(controller);
    return () => {
      set.delete(controller);
      if (set.size === 0) this.running.delete(sessionId);
    };
  }

  private onMessage(raw: string): void {
    let msg: ControlMessage;
    try {
      msg = JSON.parse(raw) as ControlMessage;
    } catch {
      this.logger.warn({ raw: raw.slice(0, 200) }, 'ignoring malformed control message');
      return;
    }
    // stop is graceful: the phase ends at its next step (progress sees the status). cancel is now.
    if (msg.action !== 'cancel') return;
    const controllers = this.running.get(msg.session_id);
    if (!controllers) return;
    this.logger.info({ sessionId: msg.session_id, action: msg.action }, 'aborting running phase');
    for (const c of controllers) c.abort(new Error(`session ${msg.action}`));
  }
}
