import { WS_CHANNELS, type WsChannel, type WsStatsResponse } from '@agent-forge/contracts';
import type { Logger } from '@agent-forge/runtime';
import { ALL_TENANTS, type TenantScope } from '@agent-forge/state';
import { PLAIN_FRAME, type Connection, type Frame, type FrameMeta } from './connection';

export type { Connection } from './connection';

/**
 * One channel's sockets, split by filter so a publish touches only the sockets that match:
 * unfiltered sockets by tenant scope (one tenant's, or ALL_TENANTS), session sockets by session.
 */
interface ChannelIndex {
  unfiltered: Map<TenantScope, Set<Connection>>;
  bySession: Map<string, Set<Connection>>;
}

/**
 * The registry of open sockets, indexed by channel and by session filter: delivering an event costs
 * O(matching sockets), not O(all sockets). Every socket is in exactly one channel, so a frame sent to
 * several channels still reaches each socket once.
 */
export class ConnectionHub {
  private readonly index = new Map<WsChannel, ChannelIndex>(
    WS_CHANNELS.map((channel) => [channel, { unfiltered: new Map(), bySession: new Map() }]),
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
      let set = idx.unfiltered.get(connection.scope);
      if (!set) idx.unfiltered.set(connection.scope, (set = new Set()));
      set.add(connection);
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
      const set = idx.unfiltered.get(connection.scope);
      set?.delete(connection);
      if (set?.size === 0) idx.unfiltered.delete(connection.scope);
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
   * An event of `sessionId` (null: no session) owned by `tenant` (null: unknown — then only sockets
   * that see every tenant get it): that tenant's and the all-tenant unfiltered sockets, plus that
   * session's sockets of a matching scope. `frame` is serialized once by the caller and encoded
   * once here; every socket gets the very same bytes. Cost: O(matching sockets).
   */
  fanOut(channels: readonly WsChannel[], sessionId: string | null, text: string, meta: FrameMeta = PLAIN_FRAME, tenant: string | null = null): number {
    const frame = Buffer.from(text);
    let sent = this.sendUnfilteredScope(channels, ALL_TENANTS, frame, meta);
    if (tenant !== null && tenant !== ALL_TENANTS) sent += this.sendUnfilteredScope(channels, tenant, frame, meta);
    if (sessionId !== null) sent += this.sendToSession(channels, sessionId, frame, meta, tenant);
    return sent;
  }

  /** Every unfiltered socket, whatever its tenant (host-wide frames only: they carry no tenant's data). */
  sendUnfiltered(channels: readonly WsChannel[], text: Frame, meta: FrameMeta = PLAIN_FRAME): number {
    const frame = encoded(text);
    let sent = 0;
    for (const channel of channels) {
      for (const set of this.channelIndex(channel).unfiltered.values()) for (const connection of set) if (this.send(connection, frame, meta)) sent++;
    }
    return sent;
  }

  /** The unfiltered sockets of exactly this scope (one tenant, or ALL_TENANTS). */
  sendUnfilteredScope(channels: readonly WsChannel[], scope: TenantScope, text: Frame, meta: FrameMeta = PLAIN_FRAME): number {
    const frame = encoded(text);
    let sent = 0;
    for (const channel of channels) {
      const set = this.channelIndex(channel).unfiltered.get(scope);
      if (set) for (const connection of set) if (this.send(connection, frame, meta)) sent++;
    }
    return sent;
  }

  /**
   * A session's sockets. With `tenant` given (events), a socket gets the frame only if its scope
   * covers that tenant: the upgrade already refused other tenants' sessions, and this also holds
   * for a socket that subscribed to an id before another tenant created that session.
   */
  sendToSession(channels: readonly WsChannel[], sessionId: string, text: Frame, meta: FrameMeta = PLAIN_FRAME, tenant?: string | null): number {
    const frame = encoded(text);
    let sent = 0;
    for (const channel of channels) {
      const set = this.channelIndex(channel).bySession.get(sessionId);
      if (!set) continue;
      for (const connection of set) {
        if (tenant !== undefined && connection.scope !== ALL_TENANTS && connection.scope !== tenant) continue;
        if (this.send(connection, frame, meta)) sent++;
      }
    }
    return sent;
  }

  /** Scopes (tenants, or ALL_TENANTS) that have unfiltered sockets on any of `channels`. */
  unfilteredScopes(channels: readonly WsChannel[]): Set<TenantScope> {
    const scopes = new Set<TenantScope>();
    for (const channel of channels) for (const [scope, set] of this.channelIndex(channel).unfiltered) if (set.size > 0) scopes.add(scope);
    return scopes;
  }

  /** Every socket filtered on a session (for a resync after the subscription was interrupted). */
  *filteredConnections(): Iterable<Connection> {
    for (const idx of this.index.values()) for (const set of idx.bySession.values()) yield* set;
  }

  /** Every unfiltered socket. */
  *unfilteredConnections(): Iterable<Connection> {
    for (const idx of this.index.values()) for (const set of idx.unfiltered.values()) yield* set;
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
      let count = 0;
      for (const set of idx.unfiltered.values()) count += set.size;
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
  private send(connection: Connection, frame: Buffer, meta: FrameMeta): boolean {
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

/** UTF-8 once for all the sockets a frame goes to (ws would encode a string again for each). */
function encoded(frame: Frame): Buffer {
  return typeof frame === 'string' ? Buffer.from(frame) : frame;
}
