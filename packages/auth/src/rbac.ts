/**
 * Roles and permissions. Each route declares one permission (see the gateway's route table); a
 * role is a set of permissions, each role including the one below it.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  /** status, swarm, history, checkpoints list, presets, whoami, WebSocket channels */
  'pipeline:read',
  /** start, control */
  'pipeline:write',
  /** checkpoint save and load */
  'checkpoints:write',
  /** preset save */
  'presets:write',
  /** run quality gates */
  'quality_gates:run',
  /** create, list and revoke API keys */
  'api_keys:manage',
  /** read the audit log */
  'audit:read',
  /** read and steer every tenant's sessions */
  'tenants:all',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const VIEWER: readonly Permission[] = ['pipeline:read'];
const OPERATOR: readonly Permission[] = [...VIEWER, 'pipeline:write', 'checkpoints:write', 'presets:write', 'quality_gates:run'];
const ADMIN: readonly Permission[] = [...OPERATOR, 'api_keys:manage', 'audit:read', 'tenants:all'];

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  viewer: new Set(VIEWER),
  operator: new Set(OPERATOR),
  admin: new Set(ADMIN),
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The union of the roles' permissions. */
export function permissionsOf(roles: readonly Role[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const role of roles) for (const p of ROLE_PERMISSIONS[role]) out.add(p);
  return out;
}

/** The least role that holds a permission (for messages and docs). */
export function leastRoleFor(permission: Permission): Role {
  return ROLES.find((r) => ROLE_PERMISSIONS[r].has(permission)) ?? 'admin';
}
