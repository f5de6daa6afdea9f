import { WS_CHANNELS, type WsChannel, type WsStatsResponse } from '@agent-forge/contracts';
import type { Logger } from '@agent-forge/runtime';
import { PLAIN_FRAME, type Connection, type FrameMeta } from './connection';

export type { Connection } from './connection';

/** One channel's sockets, split by filter so a publish touches only the sockets that match. */
interface ChannelIndex {
  unfiltered: Set<Connection>;
  bySession: Map<string, Set<Connection>>;
}

/**
 * The registry of open sockets, indexed by channel and by session filter: delivering an event costs
 * O(matching sockets), not O(all sockets). Every socket is in exactly one channel, so a frame sent to
 * several channels still reaches each socket once.
 */
export class ConnectionHub {
  private readonly index = new Map<WsChannel, ChannelIndex>(
    WS_CHANNELS.map((channel) => [channel, { unfiltered: new Set(), bySession: new Map() }]),
  );
  private readonly all = new Set<Connection>();
  /** How many sockets filter on each session, across channels (for `active_sessions`). */
  private readonly sessionRefs = new Map<string, number>();
  private framesSent = 0;

  constructor(private readonly logger: Logger) {}

  add(connection: Connection): Connection {
    const { channel, sessionId } = connection;
    this.all.add(connection);
    const idx = this.channelIndex(channel);
    if (sessionId === null) {
      idx.unfiltered.add(connection);
    } else {
      let set = idx.bySession.get(sessionId);
      if (!set) idx.bySession.set(sessionId, (set = new Set()));
      set.add(connection);
      this.sessionRefs.set(sessionId, (this.sessionRefs.get(sessionId) ?? 0) + 1);
    }
    return connection;
  }

  remove(connection: Connection): void {
    if (!this.all.delete(connection)) return;
    const idx = this.channelIndex(connection.channel);
    const { sessionId } = connection;
    if (sessionId === null) {
      idx.unfiltered.delete(connection);
      return;
    }
    const set = idx.bySession.get(sessionId);
    set?.delete(connection);
    if (set?.size === 0) idx.bySession.delete(sessionId);
    const refs = (this.sessionRefs.get(sessionId) ?? 1) - 1;
    if (refs > 0) this.sessionRefs.set(sessionId, refs);
    else this.sessionRefs.delete(sessionId);
  }

  connections(): ReadonlySet<Connection> {
    return this.all;
  }

  get size(): number {
    return this.all.size;
  }

  /**
   * An event of `sessionId` (null: no session): unfiltered sockets plus that session's sockets.
   * `frame` is serialized once by the caller; every socket gets the very same string.
   */
  fanOut(channels: readonly WsChannel[], sessionId: string | null, frame: string, meta: FrameMeta = PLAIN_FRAME): number {
    let sent = this.sendUnfiltered(channels, frame, meta);
    if (sessionId !== null) sent += this.sendToSession(channels, sessionId, frame, meta);
    return sent;
  }

  sendUnfiltered(channels: readonly WsChannel[], frame: string, meta: FrameMeta = PLAIN_FRAME): number {
    let sent = 0;
    for (const channel of channels) {
      for (const connection of this.channelIndex(channel).unfiltered) if (this.send(connection, frame, meta)) sent++;
    }
    return sent;
  }

  sendToSession(channels: readonly WsChannel[], sessionId: string, frame: string, meta: FrameMeta = PLAIN_FRAME): number {
    let sent = 0;
    for (const channel of channels) {
      const set = this.channelIndex(channel).bySession.get(sessionId);
      if (set) for (const connection of set) if (this.send(connection, frame, meta)) sent++;
    }
    return sent;
  }

  /** Every socket filtered on a session (for a resync after the subscription was interrupted). */
  *filteredConnections(): Iterable<Connection> {
    for (const idx of this.index.values()) for (const set of idx.bySession.values()) yield* set;
  }

  /** Every unfiltered socket. */
  *unfilteredConnections(): Iterable<Connection> {
    for (const idx of this.index.values()) yield* idx.unfiltered;
  }

  hasUnfiltered(channels: readonly WsChannel[]): boolean {
    return channels.some((channel) => this.channelIndex(channel).unfiltered.size > 0);
  }

  /** Distinct session filters with at least one socket on any of `channels`. */
  filteredSessions(channels: readonly WsChannel[]): Set<string> {
    const sessions = new Set<string>();
    for (const channel of channels) for (const id of this.channelIndex(channel).bySession.keys()) sessions.add(id);
    return sessions;
  }

  /** Frames written to sockets since the previous call. */
  takeFramesSent(): number {
    const n = this.framesSent;
    this.framesSent = 0;
    return n;
  }

  stats(): WsStatsResponse {
    const channels: Record<string, number> = {};
    for (const [channel, idx] of this.index) {
      let count = idx.unfiltered.size;
      for (const set of idx.bySession.values()) count += set.size;
      channels[channel] = count;
    }
    return {
      total_connections: this.all.size,
      active_sessions: this.sessionRefs.size,
      channels,
      connections_by_channel: { ...channels },
    };
  }

  /** The connection applies its own bounds (slow consumers are closed with 4408 there). */
  private send(connection: Connection, frame: string, meta: FrameMeta): boolean {
    if (!connection.deliver(frame, meta)) return false;
    this.framesSent++;
    return true;
  }

  private channelIndex(channel: WsChannel): ChannelIndex {
    const idx = this.index.get(channel);
    if (!idx) throw new Error(`unknown channel ${channel}`);
    return idx;
  }
}
