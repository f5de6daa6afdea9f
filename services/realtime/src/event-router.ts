import { randomBytes } from 'node:crypto';
import { EVENT_CHANNELS, type EventType } from '@agent-forge/contracts';
import type { Logger, Redis } from '@agent-forge/runtime';
import { parseEventMessage, type Keys } from '@agent-forge/state';
import { METRICS_FRAME, PLAIN_FRAME, type FrameMeta } from './connection';
import type { ConnectionHub } from './hub';
import { parseStreamId } from './stream-id';

const DROP_LOG_EVERY_MS = 10_000;
/** Silent canary periods after which the subscription counts as deaf. */
export const CANARY_MISSES = 3;
/** Every canary message starts with this; events never do (they start with `{"event_id"` or `{"event_type"`). */
const CANARY_PREFIX = '{"canary":';

export interface EventRouterOptions {
  /** Command connection: publishes the canary (a subscribed connection cannot publish). */
  publisher: Redis;
  canaryIntervalMs: number;
  /**
   * Called once events flow again after the subscription was interrupted (connection lost or
   * deaf); `since` is when the interruption was noticed. Events published meanwhile never reached
   * this replica: the server replays them to session-filtered sockets and tells the others.
   */
  onRestored?: (since: number) => void;
}

/**
 * The replica's one subscription to the events doorbell. Each message is one or more complete
 * envelope JSONs, one per line (the publish script already put `event_id` in), so each is parsed
 * once for routing and the very same string goes to every matching socket: no re-serialization
 * per client.
 *
 * Never silently deaf: Socket.IO's Redis adapter had replicas that stayed up after a Redis
 * reconnect without their subscriptions (socket.io-redis-adapter issues), so clients silently got
 * nothing while the replica reported healthy. Trusting the client library's resubscribe is not
 * enough; so each replica publishes a canary on the very channel it subscribes to (through the
 * command connection) every `canaryIntervalMs`, and must hear its own canary back on its one
 * subscription. After CANARY_MISSES silent periods it reports not ready (/ready 503, so the load
 * balancer stops sending new clients) and repairs: first a plain SUBSCRIBE, then, if that does not
 * help either, a forced reconnect of the subscriber connection. It is ready again once its canary
 * is heard; the events it missed are replayed from the streams (see `onRestored`).
 */
export class EventRouter {
  private subscribed = false;
  private eventsRouted = 0;
  private dropped = 0;
  private lastDropLog = 0;
  private readonly channel: string;
  private readonly replicaId = randomBytes(8).toString('hex');
  private readonly canaryPrefix: string;
  private canaryTimer: NodeJS.Timeout | undefined;
  private canarySeq = 0;
  /** When this replica last heard its own canary (or confirmed its subscription). */
  private lastHeard = 0;
  /** When an interruption (lost connection or silence) was first noticed; 0 while healthy. */
  private troubleSince = 0;
  private lastRepairAt = 0;
  private repairs = 0;

  constructor(
    private readonly subscriber: Redis,
    keys: Keys,
    private readonly hub: ConnectionHub,
    private readonly logger: Logger,
    private readonly options: EventRouterOptions,
  ) {
    this.channel = keys.eventsChannel();
    this.canaryPrefix = `${CANARY_PREFIX}${JSON.stringify(this.replicaId)}`;
  }

  /** Resolves once Redis confirmed the subscription; then the canary keeps checking it. */
  async start(): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    this.subscriber.on('close', this.onConnectionLost);
    this.subscriber.on('ready', this.onConnectionReady);
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
    this.lastHeard = Date.now();
    this.canaryTimer = setInterval(() => this.canaryTick(), this.options.canaryIntervalMs);
    this.canaryTimer.unref();
    this.publishCanary();
  }

  async stop(): Promise<void> {
    clearInterval(this.canaryTimer);
    this.subscriber.off('message', this.onMessage);
    this.subscriber.off('close', this.onConnectionLost);
    this.subscriber.off('ready', this.onConnectionReady);
    if (!this.subscribed) return;
    this.subscribed = false;
    try {
      await this.subscriber.unsubscribe(this.channel);
    } catch (err) {
      // The connection may already be gone during shutdown; nothing left to undo then.
      this.logger.debug({ err: (err as Error).message }, 'unsubscribe failed');
    }
  }

  /** True while the subscription is live and this replica heard its own canary recently. */
  get ready(): boolean {
    return (
      this.subscribed &&
      this.troubleSince === 0 &&
      this.subscriber.status === 'ready' &&
      Date.now() - this.lastHeard <= CANARY_MISSES * this.options.canaryIntervalMs
    );
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
    // `snapshot` is per socket and never published; one arriving here is not ours to fan out.
    if (!envelope || envelope.event_type === 'snapshot' || !Object.hasOwn(EVENT_CHANNELS, envelope.event_type)) {
      this.noteDropped(message);
      return 0;
    }
    const channels = EVENT_CHANNELS[envelope.event_type as EventType];
    const sessionId = typeof envelope.session_id === 'string' ? envelope.session_id : null;
    // The emit script stamps the owning tenant on every session event; without one, only sockets
    // that see every tenant get it.
    const tenant = typeof (envelope as { tenant?: unknown }).tenant === 'string' ? ((envelope as { tenant?: string }).tenant as string) : null;
    const id = typeof envelope.event_id === 'string' ? parseStreamId(envelope.event_id) : null;
    const coalesce = envelope.event_type === 'metrics';
    const meta: FrameMeta = id === null ? (coalesce ? METRICS_FRAME : PLAIN_FRAME) : { id, coalesce };
    this.eventsRouted++;
    return this.hub.fanOut(channels, sessionId, message, meta, tenant);
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel) return;
    if (message.startsWith(CANARY_PREFIX)) {
      if (message.startsWith(this.canaryPrefix)) this.heard();
      return; // other replicas' canaries: not ours to check
    }
    // One message may carry several envelopes, one per line (a script that emits several events
    // announces them together); JSON never holds a raw newline, so the split is exact.
    for (const envelope of message.split('\n')) this.routeSafely(envelope);
  };

  private routeSafely(envelope: string): void {
    try {
      this.route(envelope);
    } catch (err) {
      // A bad event must never take the replica down with it.
      this.logger.error({ err }, 'failed to route event');
    }
  }

  private heard(): void {
    this.lastHeard = Date.now();
    if (this.troubleSince === 0) return;
    const since = this.troubleSince;
    this.troubleSince = 0;
    this.repairs = 0;
    this.logger.info({ interrupted_ms: this.lastHeard - since }, 'event subscription restored');
    this.options.onRestored?.(since);
  }

  private readonly onConnectionLost = (): void => {
    if (!this.subscribed || this.troubleSince !== 0) return;
    this.troubleSince = Date.now();
    this.logger.warn('event subscription connection lost');
  };

  /** After a reconnect (ioredis resubscribes by itself): check at once rather than a period later. */
  private readonly onConnectionReady = (): void => {
    if (this.subscribed && this.troubleSince !== 0) this.publishCanary();
  };

  private canaryTick(): void {
    this.publishCanary();
    const now = Date.now();
    if (now - this.lastHeard <= CANARY_MISSES * this.options.canaryIntervalMs) return;
    if (this.troubleSince === 0) {
      this.troubleSince = now;
      this.logger.warn({ silent_ms: now - this.lastHeard }, 'event subscription is deaf (own canary not heard); resubscribing');
    }
    // Give each repair the same grace before the next, stronger one.
    if (now - this.lastRepairAt < CANARY_MISSES * this.options.canaryIntervalMs) return;
    this.lastRepairAt = now;
    this.repairs++;
    if (this.repairs % 2 === 1) {
      this.subscriber.subscribe(this.channel).catch((err: unknown) => {
        this.logger.warn({ err: (err as Error).message }, 'resubscribe failed');
      });
    } else {
      this.logger.warn('resubscribing did not help; reconnecting the subscriber');
      this.subscriber.disconnect(true);
    }
  }

  private publishCanary(): void {
    const message = `${this.canaryPrefix},"seq":${++this.canarySeq}}`;
    this.options.publisher.publish(this.channel, message).catch((err: unknown) => {
      // Redis unreachable: the missing canary will make the replica not ready; nothing else to do.
      this.logger.debug({ err: (err as Error).message }, 'canary publish failed');
    });
  }

  private noteDropped(message: string): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.lastDropLog < DROP_LOG_EVERY_MS) return;
    this.logger.warn({ dropped: this.dropped, sample: message.slice(0, 200) }, 'ignoring messages that are not event envelopes');
    this.lastDropLog = now;
    this.dropped = 0;
  }
}
