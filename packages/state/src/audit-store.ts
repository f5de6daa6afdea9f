import { counter } from '@agent-forge/runtime';
import type { Redis } from 'ioredis';
import { Keys } from './keys';
import { ALL_TENANTS, isValidTenant, type TenantScope } from './tenant';

export type AuditOutcome = 'success' | 'failure' | 'denied';

const auditWrites = () => counter({ name: 'af_audit_writes_total', help: 'Audit log writes by result (written, failed)', labelNames: ['result'] as const });

/** One audit entry: who did what to which target, with what outcome. */
export interface AuditEntry {
  /** Stream id (`<ms>-<seq>`): the entry's id and its paging cursor. */
  id: string;
  time: string;
  /** Who: the subject of the token or `apikey:<id>`; '' when unauthenticated. */
  actor: string;
  /** The actor's tenant ('' when unauthenticated). */
  tenant: string;
  /** What, e.g. `pipeline.start`, `auth.api_key.revoke`, `auth.failure`. */
  action: string;
  /** The object acted on (a session, checkpoint, preset or key id; or the request path). */
  target: string;
  outcome: AuditOutcome;
  /** HTTP status of the answer (0 when not an HTTP request). */
  status: number;
  request_id: string;
  ip: string;
  /** Why it was refused or failed (an error code), '' on success. */
  reason: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'time'> & { time?: Date };

export interface AuditQuery {
  tenant?: string;
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  /** Inclusive bounds (ms since epoch). */
  sinceMs?: number;
  untilMs?: number;
  /** Return entries older than this id (the previous page's `next_cursor`). */
  cursor?: string;
  limit: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null when the scan reached the end. */
  next_cursor: string | null;
}

export interface AuditOptions {
  /** Entries older than this are trimmed (approximately, on the next append). */
  retentionMs: number;
  /** And never more than this many per stream. */
  maxEntries: number;
}

const FIELDS = ['time', 'actor', 'tenant', 'action', 'target', 'outcome', 'status', 'request_id', 'ip', 'reason'] as const;
/** Stream entries read per page while filtering, and pages per query: a query's cost is bounded. */
const SCAN_PAGE = 500;
const MAX_SCAN_PAGES = 20;

/**
 * The audit log: a Redis Stream of every tenant's entries plus one stream per tenant (the same
 * entry in both, one round trip), capped by retention time and length. Queries for one tenant read
 * only that tenant's stream; the other filters are applied to a bounded scan, newest first.
 */
export class AuditStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly options: AuditOptions,
  ) {}

  /**
   * Append one entry to the global and the tenant's stream. Every outcome is counted in
   * `af_audit_writes_total{result}` (on /metrics of whichever service wrote it), so a failing
   * audit log shows on dashboards and alerts, not only in the logs.
   */
  async append(entry: NewAuditEntry): Promise<void> {
    try {
      await this.write(entry);
      auditWrites().inc({ result: 'written' });
    } catch (err) {
      auditWrites().inc({ result: 'failed' });
      throw err;
    }
  }

  private async write(entry: NewAuditEntry): Promise<void> {
    const at = entry.time ?? new Date();
    const fields: string[] = [];
    const values: Record<(typeof FIELDS)[number], string> = {
      time: at.toISOString(),
      actor: entry.actor,
      tenant: entry.tenant,
      action: entry.action,
      target: entry.target,
      outcome: entry.outcome,
      status: String(entry.status),
      request_id: entry.request_id,
      ip: entry.ip,
      reason: entry.reason,
    };
    for (const f of FIELDS) fields.push(f, values[f]);
    const minId = String(Math.max(0, at.getTime() - this.options.retentionMs));
    const streams = [this.keys.audit()];
    if (isValidTenant(entry.tenant)) streams.push(this.keys.tenantAudit(entry.tenant));
    // One pipeline per stream: the global and the tenant's streams live in different Cluster slots.
    await Promise.all(
      streams.map(async (key) => {
        const results = (await this.redis.pipeline().xadd(key, 'MAXLEN', '~', this.options.maxEntries, '*', ...fields).xtrim(key, 'MINID', '~', minId).exec()) ?? [];
        for (const [err] of results) if (err) throw err;
      }),
    );
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    const key = q.tenant && q.tenant !== ALL_TENANTS ? this.keys.tenantAudit(q.tenant) : this.keys.audit();
    let end = q.untilMs !== undefined ? String(q.untilMs) : '+';
    if (q.cursor) end = `(${q.cursor}`;
    const start = q.sinceMs !== undefined ? String(q.sinceMs) : '-';
    const out: AuditEntry[] = [];
    let lastId: string | null = null;
    for (let page = 0; page < MAX_SCAN_PAGES; page++) {
      const rows = await this.redis.xrevrange(key, end, start, 'COUNT', SCAN_PAGE);
      for (const [id, flat] of rows) {
        lastId = id;
        const entry = toEntry(id, flat);
        if (matches(entry, q)) {
          out.push(entry);
          if (out.length >= q.limit) return { entries: out, next_cursor: id };
        }
      }
      if (rows.length < SCAN_PAGE) return { entries: out, next_cursor: null };
      end = `(${lastId}`;
    }
    // Scanned the bound without filling the page: hand back where we stopped.
    return { entries: out, next_cursor: lastId };
  }
}

function toEntry(id: string, flat: string[]): AuditEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  return {
    id,
    time: f.time ?? '',
    actor: f.actor ?? '',
    tenant: f.tenant ?? '',
    action: f.action ?? '',
    target: f.target ?? '',
    outcome: (f.outcome ?? 'success') as AuditOutcome,
    status: Number(f.status ?? 0) || 0,
    request_id: f.request_id ?? '',
    ip: f.ip ?? '',
    reason: f.reason ?? '',
  };
}

function matches(e: AuditEntry, q: AuditQuery): boolean {
  if (q.actor !== undefined && e.actor !== q.actor) return false;
  if (q.action !== undefined && e.action !== q.action) return false;
  if (q.outcome !== undefined && e.outcome !== q.outcome) return false;
  return true;
}
