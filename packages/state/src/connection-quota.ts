import type { Redis } from 'ioredis';
import type { Keys } from './keys';
import { runScript } from './scripts';

const RENEW_BATCH = 1_000;

export interface ConnectionLease {
  tenant: string;
  /** `<replica>/<connection>`: unique across replicas. */
  member: string;
}

export interface Admission {
  admitted: boolean;
  /** The tenant's open connections across all replicas after this call. */
  open: number;
  lease: ConnectionLease;
}

/**
 * Per-tenant WebSocket connection quota shared by every realtime replica. Each open connection
 * holds a lease in its tenant's sorted set; replicas renew their leases well within the lease
 * time, so a replica that dies stops counting once its leases lapse, without anyone cleaning up.
 */
export class ConnectionQuota {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly replicaId: string,
    readonly leaseMs: number,
  ) {}

  async admit(tenant: string, connectionId: string, limit: number): Promise<Admission> {
    const lease = { tenant, member: `${this.replicaId}/${connectionId}` };
    const [admitted, open] = await runScript<[number, number]>(this.redis, 'connectionAdmit', [this.keys.tenantConnections(tenant)], [lease.member, this.leaseMs, limit]);
    return { admitted: admitted === 1, open, lease };
  }

  async release(lease: ConnectionLease): Promise<void> {
    await this.redis.zrem(this.keys.tenantConnections(lease.tenant), lease.member);
  }

  /** Renew every lease this replica holds: one script call per tenant and batch of members. */
  async renew(leases: Iterable<ConnectionLease>): Promise<void> {
    const byTenant = new Map<string, string[]>();
    for (const l of leases) {
      const members = byTenant.get(l.tenant);
      if (members) members.push(l.member);
      else byTenant.set(l.tenant, [l.member]);
    }
    const calls: Promise<unknown>[] = [];
    for (const [tenant, members] of byTenant) {
      for (let i = 0; i < members.length; i += RENEW_BATCH) {
        calls.push(runScript(this.redis, 'connectionRenew', [this.keys.tenantConnections(tenant)], [this.leaseMs, ...members.slice(i, i + RENEW_BATCH)]));
      }
    }
    await Promise.all(calls);
  }
}
