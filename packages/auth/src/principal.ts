import { ALL_TENANTS, type TenantScope } from '@agent-forge/state';
import { permissionsOf, type Permission, type Role } from './rbac';

/** Who is calling: from a verified JWT, an API key, or (AUTH_MODE=off) nobody in particular. */
export interface Principal {
  /** The token's `sub`, or `apikey:<id>`. */
  sub: string;
  tenant: string;
  roles: Role[];
  via: 'jwt' | 'api_key' | 'none';
  /** Set for API keys: the rate-limit and audit identity. */
  keyId?: string;
  permissions: ReadonlySet<Permission>;
  /** The tenants this principal reads and steers: its own, or every tenant for an admin. */
  scope: TenantScope;
  /** The identity rate limits and audit entries are keyed by (see actorOf). */
  actor: string;
}

export function makePrincipal(p: { sub: string; tenant: string; roles: Role[]; via: Principal['via']; keyId?: string }): Principal {
  const permissions = permissionsOf(p.roles);
  return {
    sub: p.sub,
    tenant: p.tenant,
    roles: p.roles,
    via: p.via,
    ...(p.keyId ? { keyId: p.keyId } : {}),
    permissions,
    scope: permissions.has('tenants:all') ? ALL_TENANTS : p.tenant,
    actor: p.keyId ? `apikey:${p.keyId}` : p.sub,
  };
}

export function can(principal: Principal, permission: Permission): boolean {
  return principal.permissions.has(permission);
}

/** The identity rate limits and audit entries are keyed by. */
export function actorOf(principal: Principal): string {
  return principal.actor;
}
