import { EVENT_CHANNELS, makeEnvelope, type EventData, type EventType } from '@agent-forge/contracts';
import type { Logger } from '@agent-forge/runtime';
import { inScope, parseEventMessage, stampEvent, toStatusResponse, type EventReader, type SessionSnapshot, type TenantScope } from '@agent-forge/state';
import { CLOSE_TRY_AGAIN_LATER, type Connection } from './connection';
import { compareStreamIds, formatStreamId, parseStreamId, type StreamId } from './stream-id';

/** Entries per replay read: one MULTI round trip each. */
export const REPLAY_PAGE = 500;
/**
 * A replay that needs more pages than this is treated as a history gap (snapshot instead): a
 * stream is capped at ~10,000 entries, so this is only reached when publishing outruns the replay.
 */
export const MAX_REPLAY_PAGES = 64;
/** The position before any event (`last_event_id=0-0`: the whole retained history). */
export const START: StreamId = [0, 0];

export interface SessionSyncDeps {
  reader: Pick<EventReader, 'page'>;
  /** The session's state for a snapshot, within the socket's tenants (null: unknown there). */
  snapshot(sessionId: string, scope: TenantScope): Promise<SessionSnapshot | null>;
  logger: Logger;
  /** Entries per replay read (default REPLAY_PAGE). */
  pageSize?: number;
}

/** Where a client says it stands. */
export interface ResumePoint {
  lastEventId: StreamId;
  /** The epoch of the envelopes the client saw (null: not given, not checked). */
  epoch: string | null;
}

type ReplayOutcome = { kind: 'done'; lastId: StreamId } | { kind: 'gap'; reason: string } | { kind: 'stale' };

/**
 * Brings one session-filtered socket up to date before it goes live: either a `snapshot` (new
 * subscriber, or after a history gap) or a replay of the events after the client's
 * `last_event_id`. See Connection for how live events arriving meanwhile are held and deduplicated.
 * Nothing here is per replica: any replica can serve any resume (no sticky sessions).
 */
export class SessionSync {
  /** What each socket's running sync started from (null: a snapshot), to restart it if needed. */
  private readonly running = new WeakMap<Connection, ResumePoint | null>();

  constructor(private readonly deps: SessionSyncDeps) {}

  /**
   * Bring a socket up to date again after this replica's subscription was interrupted (live
   * events of that time never reached it): replay from what it last got, or restart the sync it
   * was in (its held live events may have missed the interruption too).
   */
  resync(connection: Connection): Promise<void> {
    if (connection.isSyncing && this.running.has(connection)) return this.run(connection, this.running.get(connection) ?? null);
    return this.run(connection, connection.lastId === null ? null : { lastEventId: connection.lastId, epoch: null });
  }

  /** Snapshot first, then live events above it. */
  subscribe(connection: Connection): Promise<void> {
    return this.run(connection, null);
  }

  /** The events after `from`, then live ones; a lost history → HISTORY_GAP error + snapshot. */
  resume(connection: Connection, from: ResumePoint): Promise<void> {
    return this.run(connection, from);
  }

  private async run(connection: Connection, from: ResumePoint | null): Promise<void> {
    const sessionId = connection.sessionId;
    if (sessionId === null) return;
    // Synchronously, before any read is sent to Redis: from now on live events of the session are held.
    const gen = connection.beginSync();
    this.running.set(connection, from);
    try {
      if (from) {
        const outcome = await this.replay(connection, gen, sessionId, from);
        if (outcome.kind === 'stale') return;
        if (outcome.kind === 'done') {
          connection.endSync(gen, outcome.lastId);
          return;
        }
        const error = errorFrame(sessionId, 'HISTORY_GAP', `${outcome.reason}; a snapshot of the current state follows`);
        if (!(await connection.sendInOrder(error)) || !connection.isCurrent(gen)) return;
      }
      await this.sendSnapshot(connection, gen, sessionId);
    } catch (err) {
      if (!connection.isCurrent(gen)) return;
      // No silent gap: tell the client and let it reconnect (and resume) once Redis answers again.
      this.deps.logger.warn({ err: (err as Error).message, session_id: sessionId }, 'could not read session history');
      await connection.sendInOrder(errorFrame(sessionId, 'UNAVAILABLE', 'session history could not be read; reconnect with last_event_id'));
      connection.drop(CLOSE_TRY_AGAIN_LATER, 'try again later');
    } finally {
      if (!connection.isSyncing) this.running.delete(connection);
    }
  }

  private async replay(connection: Connection, gen: number, sessionId: string, from: ResumePoint): Promise<ReplayOutcome> {
    const pageSize = this.deps.pageSize ?? REPLAY_PAGE;
    let after = from.lastEventId;
    let epoch: string | null = from.epoch;
    for (let pages = 0; pages < MAX_REPLAY_PAGES; pages++) {
      const page = await this.deps.reader.page(sessionId, formatStreamId(after), pageSize);
      if (!connection.isCurrent(gen)) return { kind: 'stale' };
      if (epoch !== null && page.epoch !== epoch) {
        return { kind: 'gap', reason: `the session's event history was reset (epoch ${epoch || '""'} is now ${page.epoch || '""'})` };
      }
      epoch = page.epoch;
      // The read was atomic with `oldestId`: if nothing at or below `after` is left and entries
      // were ever trimmed, entries just above `after` may be among them (conservative: a gap is
      // never missed). `0-0` (before everything) has no gap while nothing was ever trimmed.
      const oldest = page.oldestId === null ? null : parseStreamId(page.oldestId);
      const beforeEverything = compareStreamIds(after, START) === 0;
      if (oldest === null ? !beforeEverything : compareStreamIds(oldest, after) > 0 && page.trimmed) {
        const retained = page.oldestId === null ? 'no events are retained' : `the oldest retained event is ${page.oldestId}`;
        return { kind: 'gap', reason: `events after ${formatStreamId(after)} are no longer retained (${retained})` };
      }
      // A session of another tenant (created after this socket subscribed to its id) replays nothing.
      const visible = inScope(connection.scope, page.tenant);
      for (const [id, payload] of page.entries) {
        const streamId = parseStreamId(id);
        if (streamId === null) continue;
        after = streamId;
        const envelope = parseEventMessage(payload);
        if (!envelope || !Object.hasOwn(EVENT_CHANNELS, envelope.event_type)) continue;
        if (!visible || !EVENT_CHANNELS[envelope.event_type as EventType].includes(connection.channel)) continue;
        if (!(await connection.sendInOrder(stampEvent(id, page.epoch, payload, page.tenant))) || !connection.isCurrent(gen)) {
          return { kind: 'stale' };
        }
      }
      if (page.entries.length < pageSize) return { kind: 'done', lastId: after };
    }
    return { kind: 'gap', reason: `more than ${MAX_REPLAY_PAGES * pageSize} events behind` };
  }

  private async sendSnapshot(connection: Connection, gen: number, sessionId: string): Promise<void> {
    // Position first, state second: the state then reflects at least every event up to `latestId`
    // (an event's state change and its stream entry are one script), so live events above it are
    // never missing from the client's view. One applied twice is harmless: events carry absolute values.
    const position = await this.deps.reader.page(sessionId, null, 0);
    const snapshot = await this.deps.snapshot(sessionId, connection.scope);
    if (!connection.isCurrent(gen)) return;
    const frame = JSON.stringify({
      ...makeEnvelope('snapshot', sessionId, snapshotData(sessionId, snapshot)),
      event_id: position.latestId,
      epoch: position.epoch,
    });
    if (!(await connection.sendInOrder(frame))) return;
    // An empty stream: the socket is "before everything", so a resync replays from the start.
    connection.endSync(gen, position.latestId === null ? START : parseStreamId(position.latestId));
  }
}

export function snapshotData(sessionId: string, snapshot: SessionSnapshot | null): EventData<'snapshot'> {
  return snapshot ? toStatusResponse(snapshot) : { session_id: sessionId, status: null };
}

/** An `error` event about this socket's session (not recorded in the stream: no event_id). */
export function errorFrame(sessionId: string | null, code: string, message: string): string {
  return JSON.stringify(makeEnvelope('error', sessionId, { error_code: code, error_message: message, phase: null, recoverable: true }));
}
