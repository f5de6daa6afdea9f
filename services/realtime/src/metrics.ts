import type { WsStatsResponse } from '@agent-forge/contracts';
import { counter, gauge, type Counter } from '@agent-forge/runtime';

/** Sockets the replica closed itself: slow consumer (4408), too many frames/connections (4429), no history. */
export const wsDropped = (): Counter<'code'> =>
  counter({ name: 'af_ws_dropped_connections_total', help: 'WebSocket connections closed by this replica, by close code', labelNames: ['code'] as const });

/** Inbound frames refused by the per-socket rate limit. */
export const wsInboundDropped = (): Counter =>
  counter({ name: 'af_ws_inbound_frames_dropped_total', help: 'Inbound WebSocket frames dropped by the per-socket rate limit', labelNames: [] as const });

/** Outbound frames not sent to a socket because it was closing or had fallen behind (bounded send buffer). */
export const wsFramesDropped = (): Counter<'channel' | 'reason'> =>
  counter({
    name: 'af_ws_frames_dropped_total',
    help: 'Outbound frames not delivered: discarded when a socket was dropped (reason=dropped) or a held metrics frame superseded by a newer one for a slow socket (reason=coalesced)',
    labelNames: ['channel', 'reason'] as const,
  });

/** Connection gauges read from the hub when Prometheus scrapes. */
export function registerRealtimeGauges(source: { stats(): WsStatsResponse; ready(): boolean }): void {
  gauge({
    name: 'af_ws_connections',
    help: 'Open WebSocket connections on this replica, by channel',
    labelNames: ['channel'] as const,
    collect() {
      this.reset();
      for (const [channel, n] of Object.entries(source.stats().connections_by_channel)) this.set({ channel }, n);
    },
  });
  gauge({
    name: 'af_ws_subscribed_sessions',
    help: 'Distinct sessions with at least one subscriber on this replica',
    collect() {
      this.set(source.stats().active_sessions);
    },
  });
  gauge({
    name: 'af_realtime_ready',
    help: '1 when the replica hears the event channel (subscription live, canary answered), else 0',
    collect() {
      this.set(source.ready() ? 1 : 0);
    },
  });
}
