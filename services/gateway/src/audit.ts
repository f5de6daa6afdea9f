import type { Logger, Redis } from '@agent-forge/runtime';
import { AuditStore, type Keys, type NewAuditEntry } from '@agent-forge/state';
import type { GatewayConfig } from './config';

/**
 * Audit writes happen after the answer is sent and are never awaited by the request: a failed
 * write cannot fail or slow a request. It is not silent either: it is logged and counted
 * (`audit_write_failures` in GET /health).
 */
export class Auditor {
  readonly store: AuditStore;
  private failed = 0;
  private written = 0;

  constructor(
    redis: Redis,
    keys: Keys,
    config: Pick<GatewayConfig, 'AUDIT_RETENTION_DAYS' | 'AUDIT_MAX_ENTRIES'>,
    private readonly logger: Logger,
  ) {
    this.store = new AuditStore(redis, keys, { retentionMs: config.AUDIT_RETENTION_DAYS * 86_400_000, maxEntries: config.AUDIT_MAX_ENTRIES });
  }

  record(entry: NewAuditEntry): void {
    this.store.append(entry).then(
      () => {
        this.written++;
      },
      (err: unknown) => {
        this.failed++;
        this.logger.error({ err: (err as Error).message, action: entry.action, request_id: entry.request_id, audit_write_failures: this.failed }, 'audit write failed');
      },
    );
  }

  get counters(): { audit_writes: number; audit_write_failures: number } {
    return { audit_writes: this.written, audit_write_failures: this.failed };
  }
}
