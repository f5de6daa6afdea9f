import { ALL_TENANTS, type ConnectionLease, type TenantScope } from '@agent-forge/state';
import type { WsChannel } from '@agent-forge/contracts';
import { WebSocket } from 'ws';
import { wsFramesDropped } from './metrics';
import { compareStreamIds, type StreamId } from './stream-id';

/** Close codes of the realtime protocol (PROTOCOL.md). */
export const CLOSE_SLOW_CONSUMER = 4408;
export const CLOSE_TOO_MANY = 4429;
/** Redis could not be read for a snapshot or replay: reconnect (and resume) a little later. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

export interface OutboundLimits {
  /** Bytes ws and the kernel socket may hold unflushed for this socket. */
  maxBufferedBytes: number;
  /** Frames that may be unflushed (written to ws, write callback not yet run). */
  maxBufferedMessages: number;
}

/** How one frame may be treated on its way to one socket. */
export interface FrameMeta {
  /**
   * The event's stream id (events of a session). A session-filtered socket drops a copy at or
   * below the last id it was sent: replay, snapshot and live copies never produce a duplicate.
   */
  readonly id: StreamId | null;
  /** `metrics`: a slow socket keeps only the latest such frame (latest wins) instead of each. */
  readonly coalesce: boolean;
}
export const PLAIN_FRAME: FrameMeta = { id: null, coalesce: false };
export const METRICS_FRAME: FrameMeta = { id: null, coalesce: true };

/**
 * How long a socket we dropped (e.g. a slow consumer, whose close frame waits behind its full
 * send buffer) may take to finish the closing handshake before it is destroyed and its buffer freed.
 */
export const DROP_GRACE_MS = 5_000;

/** Above this share of either bound a socket counts as slow: its `metrics` frames are coalesced. */
const SLOW_SHARE = 0.25;
/** A replay that waits for room goes on once the socket is back below this share. */
const RESUME_SHARE = 0.5;

export type InboundVerdict = 'ok' | 'warn' | 'drop' | 'close';

/**
 * A frame's payload: fan-out encodes an event once (a Buffer shared by every socket it goes to);
 * direct answers and replayed events are per-socket strings.
 */
export type Frame = string | Buffer;

/** The TCP/TLS socket under a WebSocket: corked while a tick's frames are written to it. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Every frame is text (JSON), also when the payload is a pre-encoded Buffer. */
const TEXT_FRAME = { binary: false } as const;

/**
 * Sockets corked during this tick, uncorked together once it is over: when several events reach
 * a socket in one tick (a burst, a backlog), they leave in one writev instead of one syscall each.
 */
let corked: Connection[] = [];
function uncorkAll(): void {
  const batch = corked;
  corked = [];
  for (const connection of batch) connection.uncork();
}

export type DropHandler = (connection: Connection, code: number, reason: string) => void;

/**
 * One client socket and its outbound side: a bounded send buffer, metrics coalescing, and the
 * resume/snapshot synchronisation state of session-filtered sockets.
 *
 * Synchronisation: while a snapshot or replay is read from Redis the socket is `syncing`; live
 * events of its session that arrive meanwhile are held in `pending` (bounded like the send
 * buffer). When the read is done, `endSync` sets `lastId` to the last stream id the read covered
 * and releases the pending events above it, in order. Because the socket starts syncing before
 * the read is sent to Redis, every event is either in the read (its script ran first) or reaches
 * this socket through pub/sub after syncing began — never neither, and the id check drops "both".
 */
export class Connection {
  /** Cleared when a heartbeat ping goes out, set again by the pong (or any inbound frame). */
  alive = true;
  /** Highest stream id sent to this socket (session-filtered sockets only). */
  lastId: StreamId | null = null;
  private syncing = false;
  private syncGen = 0;
  private pending: Array<{ frame: Frame; id: StreamId; coalesce: boolean }> = [];
  private pendingBytes = 0;
  private inflight = 0;
  private held: Frame | null = null;
  private isCorked = false;
  private dropped = false;
  private roomWaiters: Array<() => void> = [];
  private windowStart = 0;
  private windowFrames = 0;
  private dropTimer: NodeJS.Timeout | undefined;

  /**
   * The tenants whose events this socket may receive: its principal's tenant, or every tenant
   * (ALL_TENANTS) for an admin or with AUTH_MODE=off. Set by the server right after the upgrade.
   */
  scope: TenantScope = ALL_TENANTS;
  /** This socket's count against its tenant's connection limit (released on close). */
  lease: ConnectionLease | null = null;

  constructor(
    readonly socket: WebSocket,
    readonly channel: WsChannel,
    /** The `?session_id=` filter, or null for "every session". */
    readonly sessionId: string | null,
    /** The TCP peer address the per-address connection limit counts. */
    readonly ip: string,
    private readonly limits: OutboundLimits,
    private readonly onDrop: DropHandler = () => undefined,
    /** The socket under the WebSocket, to batch a tick's writes; without it every frame is written alone. */
    private readonly transport: Corkable | null = null,
  ) {}

  /** Open and not being dropped: frames may be written. */
  get open(): boolean {
    return !this.dropped && this.socket.readyState === WebSocket.OPEN;
  }

  get isSyncing(): boolean {
    return this.syncing;
  }

  /** Frames written to ws whose write has not completed yet. */
  get unflushed(): number {
    return this.inflight;
  }

  /**
   * A live frame for this socket. Returns true when it was written, held or queued.
   * Session-filtered sockets drop copies they already have (id at or below `lastId`).
   */
  deliver(frame: Frame, meta: FrameMeta): boolean {
    if (!this.open) return false;
    if (this.syncing) {
      // Periodic frames (no id) are skipped: the snapshot comes first; the next tick brings a fresh one.
      if (meta.id === null || this.sessionId === null) return false;
      this.pending.push({ frame, id: meta.id, coalesce: meta.coalesce });
      this.pendingBytes += frame.length;
      if (
        this.pendingBytes + this.socket.bufferedAmount >= this.limits.maxBufferedBytes ||
        this.pending.length + this.inflight >= this.limits.maxBufferedMessages
      ) {
        this.drop(CLOSE_SLOW_CONSUMER, 'slow consumer');
        return false;
      }
      return true;
    }
    if (meta.id !== null && this.sessionId !== null) {
      if (this.lastId !== null && compareStreamIds(meta.id, this.lastId) <= 0) return false;
      this.lastId = meta.id;
    }
    return this.write(frame, meta.coalesce);
  }

  /** Start a snapshot/replay; returns its generation (a newer sync makes older ones stale). */
  beginSync(): number {
    this.syncing = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.held = null; // the snapshot or replay supersedes a held metrics frame
    return ++this.syncGen;
  }

  /** True while `gen` is the latest sync and the socket can still be written to. */
  isCurrent(gen: number): boolean {
    return gen === this.syncGen && this.open;
  }

  /**
   * A frame of the sync itself (snapshot, replayed event, gap error): in order, before any pending
   * live event. A full send buffer makes it wait for room rather than drop the client: a long
   * replay to a healthy client is paced by the client. Resolves false if the socket went away.
   */
  async sendInOrder(frame: string): Promise<boolean> {
    while (this.open && this.congested(1)) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    if (!this.open) return false;
    this.rawSend(frame);
    return true;
  }

  /** The sync `gen` covered the stream up to `lastId` (null: nothing recorded): go live. */
  endSync(gen: number, lastId: StreamId | null): void {
    if (!this.isCurrent(gen)) return;
    this.lastId = lastId;
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.syncing = false;
    for (const event of pending) {
      if (!this.open) return;
      if (this.lastId !== null && compareStreamIds(event.id, this.lastId) <= 0) continue;
      this.lastId = event.id;
      this.write(event.frame, event.coalesce);
    }
  }

  /** A direct answer to the client (pong, error about its frame): small, not an event, not held. */
  reply(frame: string): void {
    if (this.open) this.rawSend(frame);
  }

  /** Count one inbound frame against the per-second budget. */
  admitInbound(maxPerSecond: number, now = Date.now()): InboundVerdict {
    if (now - this.windowStart >= 1_000) {
      this.windowStart = now;
      this.windowFrames = 0;
    }
    this.windowFrames++;
    if (this.windowFrames <= maxPerSecond) return 'ok';
    if (this.windowFrames > 2 * maxPerSecond) return 'close';
    return this.windowFrames === maxPerSecond + 1 ? 'warn' : 'drop';
  }

  /** Stop writing to this socket and close it with `code` (its buffered frames go out first). */
  drop(code: number, reason: string): void {
    if (this.dropped) return;
    this.dropped = true;
    const discarded = this.pending.length + (this.held !== null ? 1 : 0);
    if (discarded > 0) wsFramesDropped().inc({ channel: this.channel, reason: 'dropped' }, discarded);
    this.release();
    this.onDrop(this, code, reason);
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.close(code, reason);
    this.dropTimer = setTimeout(() => this.socket.terminate(), DROP_GRACE_MS);
    this.dropTimer.unref();
  }

  /** The socket closed: free what it held and wake a waiting sync (which then sees it closed). */
  dispose(): void {
    this.dropped = true;
    clearTimeout(this.dropTimer);
    this.release();
  }

  private release(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.held = null;
    this.syncing = false;
    this.wakeWaiters();
  }

  private write(frame: Frame, coalesce: boolean): boolean {
    if (coalesce) {
      if (this.congested(SLOW_SHARE)) {
        if (this.held !== null) wsFramesDropped().inc({ channel: this.channel, reason: 'coalesced' });
        this.held = frame; // latest wins; a slow client is not cut off for metrics
        return true;
      }
      this.held = null; // superseded by this newer one
      this.rawSend(frame);
      return true;
    }
    if (this.congested(1)) {
      this.drop(CLOSE_SLOW_CONSUMER, 'slow consumer');
      return false;
    }
    if (this.held !== null) {
      const held = this.held;
      this.held = null;
      this.rawSend(held); // keep order: the held frame is older than this one
    }
    this.rawSend(frame);
    return true;
  }

  private congested(share: number): boolean {
    return (
      this.socket.bufferedAmount >= this.limits.maxBufferedBytes * share ||
      this.inflight >= this.limits.maxBufferedMessages * share
    );
  }

  private rawSend(frame: Frame): void {
    this.inflight++;
    if (this.transport !== null && !this.isCorked) {
      this.transport.cork();
      this.isCorked = true;
      if (corked.length === 0) setImmediate(uncorkAll);
      corked.push(this);
    }
    this.socket.send(frame, TEXT_FRAME, this.onFlushed);
  }

  /** End of the tick: what was written to this socket goes out (in one writev when there were several). */
  uncork(): void {
    if (!this.isCorked) return;
    this.isCorked = false;
    this.transport?.uncork();
  }

  /** ws runs this once the frame was handed to the kernel (or the socket failed). */
  private readonly onFlushed = (): void => {
    this.inflight--;
    if (this.dropped) return;
    if (this.held !== null && !this.congested(SLOW_SHARE) && this.socket.readyState === WebSocket.OPEN) {
      const held = this.held;
      this.held = null;
      this.rawSend(held);
    }
    if (this.roomWaiters.length > 0 && !this.congested(RESUME_SHARE)) this.wakeWaiters();
  };

  private wakeWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
