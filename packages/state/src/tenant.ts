/**
 * Tenants. Every session, checkpoint, saved preset, audit entry and API key belongs to one; reads
 * are scoped by a `TenantScope`: one tenant's name, or ALL_TENANTS for an admin. A record of
 * another tenant reads exactly like a missing one (callers answer 404, never 403: no existence leak).
 */
export type TenantScope = string;

/** The scope of an admin: every tenant. Not a valid tenant name, so it can never be one. */
export const ALL_TENANTS: TenantScope = '*';

/** The tenant of sessions written before tenants existed (their hash has no `tenant` field). */
export const DEFAULT_TENANT = 'default';

/** Tenant names: safe inside Redis keys (no ':' or braces) and in logs. */
export const TENANT_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export function isValidTenant(tenant: unknown): tenant is string {
  return typeof tenant === 'string' && TENANT_PATTERN.test(tenant);
}

export function assertTenant(tenant: string): void {
  if (!isValidTenant(tenant)) throw new Error(`invalid tenant name ${JSON.stringify(tenant).slice(0, 80)}`);
}

/** May `scope` see a record owned by `owner` (null/'' = a record from before tenants: DEFAULT_TENANT)? */
export function inScope(scope: TenantScope, owner: string | null | undefined): boolean {
  return scope === ALL_TENANTS || scope === (owner || DEFAULT_TENANT);
}
