import type { EventEnvelope, EventData, EventType, StatusResponse, WsChannel } from '@agent-forge/contracts';
import { LiveConnectionError } from './errors';

/**
 * The part of a WebSocket this SDK uses: the browser's WebSocket, Node 22's global one and the
 * `ws` package all have it.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** Opens a socket to `url`, presenting `token` when one is configured. */
export type WebSocketFactory = (url: string, token: string | null) => WebSocketLike;

type WebSocketCtor = new (url: string) => WebSocketLike;

/** The global WebSocket (browsers, Node 22+); the token travels as `?token=` (browsers cannot set headers). */
export function globalWebSocketFactory(): WebSocketFactory | undefined {
  const Ctor = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (!Ctor) return undefined;
  return (url, token) => new Ctor(token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url);
}

/** Compare stream ids (`<ms>-<seq>`) numerically, part by part. */
export function compareEventIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

export type LiveState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** An envelope with its data typed by event type. */
export type LiveEvent = { [T in EventType]: Omit<EventEnvelope, 'event_type' | 'data'> & { event_type: T; data: EventData<T> } }[EventType];

export interface LiveHandlers {
  /** Every event frame (not snapshots, not pongs), in order, each once. */
  event: (event: LiveEvent) => void;
  /** Session sockets: the state to (re)start from — first frame, and after a HISTORY_GAP. `null`: unknown session. */
  snapshot: (status: StatusResponse | null, envelope: EventEnvelope) => void;
  /** Events may have been missed: a session socket gets a snapshot next; an unfiltered one should reload. */
  gap: (reason: 'history_gap' | 'reconnected') => void;
  state: (state: LiveState, info: { attempt: number; closeCode?: number; delayMs?: number }) => void;
  /** A close that is not retried (4401, 4403, 1009) or a reconnect budget used up. */
  error: (error: LiveConnectionError) => void;
}

export interface LiveOptions {
  channel: WsChannel;
  client: { wsUrl(channel: WsChannel, query: Record<string, string | undefined>): string; token(): string | null; readonly webSocket: WebSocketFactory | undefined };
  /** Only this session's events; enables snapshot and resume. */
  sessionId?: string;
  /** Start after this event (resume); without it a session socket starts with a snapshot. */
  lastEventId?: string;
  epoch?: string;
  /** Reconnect on unexpected closes (default true). */
  reconnect?: boolean;
  /** Give up after this many consecutive failed reconnects (default: never). */
  maxReconnects?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * One WebSocket channel, kept open: reconnects with exponential backoff and jitter; a session
 * socket resumes with `last_event_id` and `epoch` (the server replays exactly what was missed) and
 * starts over from a snapshot on HISTORY_GAP, as services/realtime/PROTOCOL.md describes.
 */
export class LiveConnection {
  readonly channel: WsChannel;
  readonly sessionId: string | undefined;
  /** The greatest event id received (resume point). */
  lastEventId: string | null;
  epoch: string | null;
  state: LiveState = 'connecting';
  /** Reconnects so far. */
  reconnects = 0;
  private socket: WebSocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private stopped = false;
  private everOpened = false;
  private readonly handlers: { [K in keyof LiveHandlers]: LiveHandlers[K][] } = { event: [], snapshot: [], gap: [], state: [], error: [] };
  private readonly factory: WebSocketFactory;

  constructor(private readonly opts: LiveOptions) {
    this.channel = opts.channel;
    this.sessionId = opts.sessionId;
    this.lastEventId = opts.lastEventId ?? null;
    this.epoch = opts.epoch ?? null;
    const factory = opts.client.webSocket ?? globalWebSocketFactory();
    if (!factory) throw new Error('no WebSocket implementation: in Node 20 use createNodeClient from @agent-forge/sdk/node (it uses the `ws` package)');
    this.factory = factory;
    // Connect on the next tick so handlers registered right after construction see everything.
    this.timer = setTimeout(() => this.connect(), 0);
  }

  on<K extends keyof LiveHandlers>(name: K, handler: LiveHandlers[K]): this {
    this.handlers[name].push(handler);
    return this;
  }

  private emit<K extends keyof LiveHandlers>(name: K, ...args: Parameters<LiveHandlers[K]>): void {
    for (const h of this.handlers[name]) (h as (...a: Parameters<LiveHandlers[K]>) => void)(...args);
  }

  private setState(state: LiveState, info: { closeCode?: number; delayMs?: number } = {}): void {
    this.state = state;
    this.emit('state', state, { attempt: this.reconnects, ...info });
  }

  private url(): string {
    const q: Record<string, string | undefined> = { session_id: this.sessionId };
    if (this.sessionId && this.lastEventId !== null) {
      q.last_event_id = this.lastEventId;
      if (this.epoch !== null) q.epoch = this.epoch;
    }
    return this.opts.client.wsUrl(this.channel, q);
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped) return;
    let socket: WebSocketLike;
    try {
      socket = this.factory(this.url(), this.opts.client.token());
    } catch (err) {
      this.scheduleReconnect(1006, String(err));
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.setState('open');
      // An unfiltered socket cannot resume: whoever shows its data should reload what it shows.
      if (reconnected && !this.sessionId) this.emit('gap', 'reconnected');
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.failures = 0;
      this.onFrame(typeof ev.data === 'string' ? ev.data : String(ev.data));
    };
    socket.onerror = () => undefined; // a close follows
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      this.scheduleReconnect(ev.code, ev.reason);
    };
  }

  private onFrame(text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (frame.type === 'pong' || typeof frame.event_type !== 'string') return;
    const env = frame as unknown as EventEnvelope;
    if (env.event_type === 'snapshot') {
      this.lastEventId = env.event_id ?? '0-0';
      if (env.epoch !== undefined) this.epoch = env.epoch;
      const data = env.data as { status?: unknown };
      this.emit('snapshot', data.status === null ? null : (env.data as unknown as StatusResponse), env);
      return;
    }
    if (env.event_type === 'error' && (env.data as { error_code?: unknown }).error_code === 'HISTORY_GAP' && !env.event_id) {
      this.emit('gap', 'history_gap');
      return;
    }
    if (env.event_id && this.sessionId) {
      // Events already reflected (replayed twice across a reconnect race) are dropped; ids only grow.
      if (this.lastEventId !== null && compareEventIds(env.event_id, this.lastEventId) <= 0) return;
      this.lastEventId = env.event_id;
      if (env.epoch !== undefined) this.epoch = env.epoch;
    }
    this.emit('event', env as LiveEvent);
  }

  private scheduleReconnect(code: number, reason: string): void {
    if (code === 4401 || code === 4403 || code === 1009 || this.opts.reconnect === false) {
      const fatal = code === 4401 || code === 4403 || code === 1009;
      this.setState('closed', { closeCode: code });
      if (fatal) {
        const what = code === 4401 ? 'unauthenticated (give a valid token)' : code === 4403 ? 'forbidden' : 'frame too big';
        this.emit('error', new LiveConnectionError(`WebSocket /ws/${this.channel} closed: ${code} ${what}`, code, reason));
      }
      return;
    }
    this.failures++;
    if (this.opts.maxReconnects !== undefined && this.failures > this.opts.maxReconnects) {
      this.setState('closed', { closeCode: code });
      this.emit('error', new LiveConnectionError(`WebSocket /ws/${this.channel}: gave up after ${this.opts.maxReconnects} reconnects (last close ${code})`, code, reason));
      return;
    }
    const base = this.opts.initialDelayMs ?? 250;
    const cap = this.opts.maxDelayMs ?? 10_000;
    // 1012 (service restart): reconnect at once, any replica. 4429: back off at least 5 s.
    let delay = code === 1012 ? 50 : Math.min(cap, base * 2 ** Math.min(this.failures - 1, 10));
    if (code === 4429) delay = Math.max(delay, 5_000);
    delay = Math.round(delay * (0.75 + Math.random() * 0.5));
    this.reconnects++;
    this.setState('reconnecting', { closeCode: code, delayMs: delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Ask the server for a pong (keeps proxies awake; optional). */
  ping(): void {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify({ type: 'ping' }));
  }

  /** Drop the socket and reconnect now (resuming). Useful after a network change. */
  reconnectNow(): void {
    if (this.stopped) return;
    const s = this.socket;
    this.socket = null;
    s?.close(1000, 'reconnect');
    if (this.timer) clearTimeout(this.timer);
    this.reconnects++;
    this.setState('reconnecting', { delayMs: 0 });
    this.timer = setTimeout(() => this.connect(), 0);
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onmessage = null;
      s.onclose = null;
      s.onerror = () => undefined;
      try {
        s.close(1000, 'client closed');
      } catch {
        // not open yet
      }
    }
    this.setState('closed');
  }
}
