import type { EventEnvelope, EventType, EventData, TypedEnvelope } from '@agent-forge/contracts';
import { makeEnvelope } from '@agent-forge/contracts';
import type { Redis } from 'ioredis';
import { Keys } from './keys';
import { runScript } from './scripts';

/** Stream length kept per session (approximate, XADD MAXLEN ~). */
export const DEFAULT_STREAM_MAXLEN = 10_000;

/**
 * The event path: an event is published once; it is appended to its session's capped stream
 * (the record, whose entry id becomes `event_id`) and announced on pub/sub (the doorbell) in one
 * atomic script. Events without a session go to pub/sub only.
 */
export class EventPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly maxLen = DEFAULT_STREAM_MAXLEN,
  ) {}

  async publish<T extends EventType>(eventType: T, sessionId: string | null, data: EventData<T>): Promise<string | null> {
    return this.publishEnvelope(makeEnvelope(eventType, sessionId, data));
  }

  async publishEnvelope(envelope: EventEnvelope | TypedEnvelope<EventType>): Promise<string | null> {
    const payload = JSON.stringify(envelope);
    if (envelope.session_id === null) {
      await this.redis.publish(this.keys.eventsChannel(), payload);
      return null;
    }
    return runScript<string>(this.redis, 'emit', [this.keys.session(envelope.session_id), this.keys.events(envelope.session_id)], [
      this.keys.eventsChannel(),
      payload,
      this.maxLen,
    ]);
  }
}

/** Parse a pub/sub message or stream entry back into an envelope (null if it is not one of ours). */
export function parseEventMessage(message: string): EventEnvelope | null {
  try {
    const value = JSON.parse(message) as EventEnvelope;
    return typeof value === 'object' && value !== null && typeof value.event_type === 'string' ? value : null;
  } catch {
    return null;
  }
}

/**
 * The frame a client receives for a stored event: the envelope JSON with `event_id`, `epoch` and
 * (when known) `tenant` first, exactly as the emit script publishes it (so replayed and live
 * copies look alike).
 */
export function stampEvent(id: string, epoch: string, payload: string, tenant?: string): string {
  const body = payload.slice(payload.indexOf('{') + 1).trimStart();
  const head = `{"event_id":${JSON.stringify(id)},"epoch":${JSON.stringify(epoch)}${tenant === undefined ? '' : `,"tenant":${JSON.stringify(tenant)}`}`;
  return body.startsWith('}') ? head + body : `${head},${body}`;
}

/** One page of a session's stream, read atomically with where the stream stands (for resume). */
export interface StreamPage {
  /** `[stream id, stored envelope JSON]`, oldest first, strictly after the requested id. */
  entries: Array<[id: string, payload: string]>;
  /** The oldest retained id (null: the stream is empty or gone). */
  oldestId: string | null;
  /** The newest id (null: the stream is empty or gone). */
  latestId: string | null;
  /** The stream's epoch ("" while the session hash has none). */
  epoch: string;
  /** The owning tenant (absent for a session from before tenants, or one that is gone). */
  tenant?: string;
  /**
   * Whether entries were ever removed from the stream (trimmed by MAXLEN): `entries-added` is
   * more than the length. False for a missing stream. With nothing removed, a reader before the
   * oldest entry has missed nothing.
   */
  trimmed: boolean;
}

/** Reads a session's recorded events back, in order (the realtime issue builds resume on this). */
export class EventReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Events after `afterId` (exclusive; "0" for all), oldest first, stamped with the stream's epoch. */
  async readAfter(sessionId: string, afterId = '0', count = 1_000): Promise<EventEnvelope[]> {
    const [rows, epoch] = await Promise.all([
      this.redis.xrange(this.keys.events(sessionId), afterId === '0' ? '-' : `(${afterId}`, '+', 'COUNT', count),
      this.epoch(sessionId),
    ]);
    const out: EventEnvelope[] = [];
    for (const [id, fields] of rows) {
      const idx = fields.indexOf('e');
      const env = idx >= 0 ? parseEventMessage(fields[idx + 1] ?? '') : null;
      if (env) out.push({ ...env, event_id: id, epoch: epoch ?? '' });
    }
    return out;
  }

  /** The epoch of a session's stream: it changes when the history was lost. */
  async epoch(sessionId: string): Promise<string | null> {
    return this.redis.hget(this.keys.session(sessionId), 'events_epoch');
  }

  /**
   * Up to `count` entries after `afterId` (exclusive; null or count 0: none) together with the
   * stream's oldest and newest ids and its epoch, in one MULTI on the session's slot: a reader can
   * tell "nothing was trimmed past my position when I read" (oldestId <= afterId) without a race.
   */
  async page(sessionId: string, afterId: string | null, count: number): Promise<StreamPage> {
    const key = this.keys.events(sessionId);
    const tx = this.redis.multi();
    const wantEntries = afterId !== null && count > 0;
    if (wantEntries) tx.xrange(key, `(${afterId}`, '+', 'COUNT', count);
    tx.xrange(key, '-', '+', 'COUNT', 1);
    tx.xrevrange(key, '+', '-', 'COUNT', 1);
    tx.hget(this.keys.session(sessionId), 'events_epoch');
    tx.hget(this.keys.session(sessionId), 'tenant');
    tx.xinfo('STREAM', key);
    const results = (await tx.exec()) ?? [];
    const info = results.pop();
    const values = results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    type Rows = Array<[string, string[]]>;
    const rows = (wantEntries ? values.shift() : []) as Rows;
    const [oldest, latest, epoch, tenant] = values as [Rows, Rows, string | null, string | null];
    const entries: StreamPage['entries'] = [];
    for (const [id, fields] of rows) {
      const idx = fields.indexOf('e');
      if (idx >= 0) entries.push([id, fields[idx + 1] ?? '']);
    }
    // XINFO fails on a missing stream (nothing added, nothing removed). Before Redis 7 it has no
    // `entries-added`: then assume entries were removed (the caller stays conservative).
    const fields = info && !info[0] && Array.isArray(info[1]) ? (info[1] as unknown[]) : null;
    const field = (name: string): number | null => {
      const at = fields ? fields.indexOf(name) : -1;
      return at >= 0 ? Number(fields?.[at + 1]) : null;
    };
    const added = field('entries-added');
    const trimmed = fields !== null && (added === null || added > (field('length') ?? 0));
    return { entries, oldestId: oldest[0]?.[0] ?? null, latestId: latest[0]?.[0] ?? null, epoch: epoch ?? '', ...(tenant ? { tenant } : {}), trimmed };
  }

  /** The oldest retained event id (null when the stream is empty or gone). */
  async oldestId(sessionId: string): Promise<string | null> {
    const rows = await this.redis.xrange(this.keys.events(sessionId), '-', '+', 'COUNT', 1);
    return rows[0]?.[0] ?? null;
  }
}
