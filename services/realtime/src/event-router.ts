import { EVENT_CHANNELS, type EventType } from '@agent-forge/contracts';
import type { Logger, Redis } from '@agent-forge/runtime';
import { parseEventMessage, type Keys } from '@agent-forge/state';
import type { ConnectionHub } from './hub';

const DROP_LOG_EVERY_MS = 10_000;

/**
 * The replica's one subscription to the events doorbell. Each message is a complete envelope JSON
 * (the publish script already put `event_id` in), so it is parsed once for routing and the very
 * same string goes to every matching socket: no re-serialization per client.
 */
export class EventRouter {
  private subscribed = false;
  private eventsRouted = 0;
  private dropped = 0;
  private lastDropLog = 0;
  private readonly channel: string;

  constructor(
    private readonly subscriber: Redis,
    keys: Keys,
    private readonly hub: ConnectionHub,
    private readonly logger: Logger,
  ) {
    this.channel = keys.eventsChannel();
  }

  /** Resolves once Redis confirmed the subscription; ioredis re-subscribes after reconnects. */
  async start(): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
  }

  async stop(): Promise<void> {
    this.subscriber.off('message', this.onMessage);
    if (!this.subscribed) return;
    this.subscribed = false;
    try {
      await this.subscriber.unsubscribe(this.channel);
    } catch (err) {
      // The connection may already be gone during shutdown; nothing left to undo then.
      this.logger.debug({ err: (err as Error).message }, 'unsubscribe failed');
    }
  }

  /** True while the subscription is live (the connection being ready implies it was restored). */
  get ready(): boolean {
    return this.subscribed && this.subscriber.status === 'ready';
  }

  /** Events routed since the previous call (the `throughput_ops` numerator). */
  takeEventsRouted(): number {
    const n = this.eventsRouted;
    this.eventsRouted = 0;
    return n;
  }

  /** Deliver one envelope JSON to the matching sockets; returns how many sockets got it. */
  route(message: string): number {
    const envelope = parseEventMessage(message);
    if (!envelope || !Object.hasOwn(EVENT_CHANNELS, envelope.event_type)) {
      this.noteDropped(message);
      return 0;
    }
    const channels = EVENT_CHANNELS[envelope.event_type as EventType];
    const sessionId = typeof envelope.session_id === 'string' ? envelope.session_id : null;
    this.eventsRouted++;
    return this.hub.fanOut(channels, sessionId, message);
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel) return;
    try {
      this.route(message);
    } catch (err) {
      // A bad event must never take the replica down with it.
      this.logger.error({ err }, 'failed to route event');
    }
  };

  private noteDropped(message: string): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.lastDropLog < DROP_LOG_EVERY_MS) return;
    this.logger.warn({ dropped: this.dropped, sample: message.slice(0, 200) }, 'ignoring messages that are not event envelopes');
    this.lastDropLog = now;
    this.dropped = 0;
  }
}
