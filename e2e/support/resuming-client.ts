import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { Envelope } from './ws-collector';

/**
 * A session WebSocket client that behaves as services/realtime/PROTOCOL.md asks: it starts with
 * `last_event_id=0-0` (the whole retained history), remembers the last event id and epoch, and
 * on any close (a replica killed, 1012, 1013, 4408) reconnects — through whatever URL it was
 * given, so a load balancer picks the replica — with `last_event_id`/`epoch`. Bounded: at most
 * `maxReconnects` reconnects, with a short backoff.
 */
export class ResumingClient {
  /** Stream ids of the events received (not snapshots), in arrival order. */
  readonly ids: string[] = [];
  readonly events: Envelope[] = [];
  reconnects = 0;
  gaps = 0;
  private last = '0-0';
  private epoch: string | null = null;
  private socket: WebSocket | null = null;
  private stopped = false;

  constructor(
    private readonly baseUrl: string,
    private readonly sessionId: string,
    /** Credential sent on every (re)connect (`?token=`), as a browser would. */
    private readonly token: string | null = null,
    private readonly maxReconnects = 20,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private url(): string {
    const q = new URLSearchParams({ session_id: this.sessionId, last_event_id: this.last });
    if (this.epoch !== null) q.set('epoch', this.epoch);
    if (this.token !== null) q.set('token', this.token);
    return `${this.baseUrl}/ws/pipeline?${q.toString()}`;
  }

  private connect(): Promise<void> {
    return new Promise((resolve) => {
      const socket = new WebSocket(this.url());
      this.socket = socket;
      let opened = false;
      socket.on('open', () => {
        opened = true;
        resolve();
      });
      socket.on('message', (raw) => {
        const frame = JSON.parse(raw.toString()) as Envelope & { epoch?: string };
        if (frame.event_type === 'snapshot') {
          this.last = frame.event_id ?? '0-0';
          this.epoch = frame.epoch ?? this.epoch;
          return;
        }
        if (frame.event_type === 'error' && frame.data.error_code === 'HISTORY_GAP') this.gaps++;
        if (!frame.event_id) return;
        this.ids.push(frame.event_id);
        this.events.push(frame);
        this.last = frame.event_id;
        if (frame.epoch !== undefined) this.epoch = frame.epoch;
      });
      socket.on('error', () => undefined); // 'close' follows
      socket.on('close', () => {
        if (!opened) resolve();
        if (this.stopped || this.socket !== socket) return;
        if (this.reconnects >= this.maxReconnects) return;
        this.reconnects++;
        void sleep(100 + Math.random() * 150).then(() => (this.stopped ? undefined : this.connect()));
      });
    });
  }

  /** Wait until an event with this id (or a later one) arrived. */
  async waitForId(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ids.includes(id)) {
      if (Date.now() > deadline) throw new Error(`session ${this.sessionId}: event ${id} not received (got ${this.ids.length}, reconnects ${this.reconnects})`);
      await sleep(25);
    }
  }

  close(): void {
    this.stopped = true;
    this.socket?.close();
  }
}
