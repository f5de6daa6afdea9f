import type { Redis } from 'ioredis';
import { Keys } from './keys';
import { defineScripts, runScript } from './scripts';
import { ALL_TENANTS, assertTenant, inScope, type TenantScope } from './tenant';

/** What is stored about an API key. The key itself never is: only its SHA-256. */
export interface ApiKeyRecord {
  key_id: string;
  name: string;
  tenant: string;
  roles: string[];
  created_at: string;
  created_by: string;
  last_used_at: string | null;
  expires_at: string | null;
}

export interface NewApiKey {
  keyId: string;
  /** sha256 (hex) of the full key string. */
  hash: string;
  name: string;
  tenant: string;
  roles: string[];
  createdBy: string;
  expiresAt: Date | null;
}

const RECORD_FIELDS = ['key_id', 'name', 'tenant', 'roles', 'created_at', 'created_by', 'last_used_at', 'expires_at'] as const;

function toRecord(fields: Record<string, string>): ApiKeyRecord {
  let roles: string[] = [];
  try {
    const parsed = JSON.parse(fields.roles ?? '[]') as unknown;
    if (Array.isArray(parsed)) roles = parsed.filter((r): r is string => typeof r === 'string');
  } catch {
    roles = [];
  }
  return {
    key_id: fields.key_id ?? '',
    name: fields.name ?? '',
    tenant: fields.tenant ?? '',
    roles,
    created_at: fields.created_at ?? '',
    created_by: fields.created_by ?? '',
    last_used_at: fields.last_used_at || null,
    expires_at: fields.expires_at || null,
  };
}

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

/**
 * API keys in Redis: one hash per key (`<prefix>:{apikeys}:key:<id>`) holding the SHA-256 of the key, its
 * tenant, roles and timestamps, plus creation-time indexes (all keys, and per tenant). Nothing is
 * cached in any process, so a revocation (the hash deleted) holds on the next request everywhere.
 */
export class ApiKeyStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    // Scripts are defined up front: with auto-pipelining, a command defined after the current
    // tick's pipeline was made would be missing from it.
    defineScripts(this.redis);
  }

  async create(input: NewApiKey): Promise<ApiKeyRecord> {
    assertTenant(input.tenant);
    const at = new Date();
    const fields: Record<string, string> = {
      key_id: input.keyId,
      hash: input.hash,
      name: input.name,
      tenant: input.tenant,
      roles: JSON.stringify(input.roles),
      created_at: at.toISOString(),
      created_by: input.createdBy,
      last_used_at: '',
      expires_at: input.expiresAt ? input.expiresAt.toISOString() : '',
      expires_ms: input.expiresAt ? String(input.expiresAt.getTime()) : '',
    };
    await this.redis
      .multi()
      .hset(this.keys.apiKey(input.keyId), fields)
      .zadd(this.keys.apiKeys(), at.getTime(), input.keyId)
      .zadd(this.keys.tenantApiKeys(input.tenant), at.getTime(), input.keyId)
      .exec();
    return toRecord(fields);
  }

  /** The record when `hash` is the hash of this live key (and its last use recorded); else null. */
  async authenticate(keyId: string, hash: string): Promise<ApiKeyRecord | null> {
    const at = new Date();
    const flat = await runScript<string[]>(this.redis, 'apiKeyUse', [this.keys.apiKey(keyId)], [hash, at.toISOString(), at.getTime()]);
    return flat.length === 0 ? null : toRecord(pairs(flat));
  }

  async get(keyId: string, scope: TenantScope): Promise<ApiKeyRecord | null> {
    const values = await this.redis.hmget(this.keys.apiKey(keyId), ...RECORD_FIELDS);
    if (!values[0]) return null;
    const record = toRecord(Object.fromEntries(RECORD_FIELDS.map((f, i) => [f, values[i] ?? ''])));
    return inScope(scope, record.tenant) ? record : null;
  }

  /** Keys of `scope`, newest first (at most `limit`). */
  async list(scope: TenantScope, limit = 1_000): Promise<ApiKeyRecord[]> {
    const index = scope === ALL_TENANTS ? this.keys.apiKeys() : this.keys.tenantApiKeys(scope);
    const ids = await this.redis.zrevrange(index, 0, limit - 1);
    if (ids.length === 0) return [];
    // Each key record is in its own Cluster slot: separate reads, not one pipeline.
    const rows = await Promise.all(ids.map((id) => this.redis.hmget(this.keys.apiKey(id), ...RECORD_FIELDS)));
    const out: ApiKeyRecord[] = [];
    for (const values of rows) {
      const v = values as (string | null)[];
      if (!v[0]) continue; // revoked between the two reads
      const record = toRecord(Object.fromEntries(RECORD_FIELDS.map((f, i) => [f, v[i] ?? ''])));
      if (inScope(scope, record.tenant)) out.push(record);
    }
    return out;
  }

  /** Revoke (delete) a key of `scope`; false when there is no such key there. */
  async revoke(keyId: string, scope: TenantScope): Promise<boolean> {
    const record = await this.get(keyId, scope);
    if (!record) return false;
    const [[, deleted] = [null, 0]] = ((await this.redis
      .multi()
      .del(this.keys.apiKey(keyId))
      .zrem(this.keys.apiKeys(), keyId)
      .zrem(this.keys.tenantApiKeys(record.tenant), keyId)
      .exec()) ?? []) as [Error | null, unknown][];
    return deleted === 1;
  }
}
