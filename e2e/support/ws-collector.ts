import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

export interface Envelope {
  event_type: string;
  event_id?: string;
  session_id: string | null;
  timestamp: string;
  data: Record<string, unknown>;
}

/** A WebSocket client that records every envelope it receives, for assertions. */
export class WsCollector {
  readonly messages: Envelope[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      try {
        this.messages.push(JSON.parse(raw.toString()) as Envelope);
      } catch {
        // every frame the server sends is JSON; a non-JSON frame would fail the assertions anyway
      }
    });
  }

  static async connect(url: string): Promise<WsCollector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new WsCollector(socket);
  }

  ofType(type: string): Envelope[] {
    return this.messages.filter((m) => m.event_type === type);
  }

  async waitFor(pred: (msgs: Envelope[]) => boolean, timeoutMs = 15_000, what = 'messages'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.messages)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.messages.length} messages`);
      await sleep(20);
    }
  }

  close(): void {
    this.socket.close();
  }
}
