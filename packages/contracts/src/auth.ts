import { z } from 'zod';

/** Roles, least to most: viewer (read), operator (viewer + start/steer/checkpoint/presets/gates), admin (operator + API keys, audit log, every tenant). */
export const ROLE_NAMES = ['viewer', 'operator', 'admin'] as const;
export const RoleName = z.enum(ROLE_NAMES);
export type RoleName = z.infer<typeof RoleName>;

/** Tenant names: letters, digits, `_ . -` (they appear inside Redis keys). */
export const TenantName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 letters, digits, _ . - only');

export const ApiKeyCreateRequest = z.object({
  name: z.string().min(1).max(128).describe('What the key is for (shown in listings and the audit log).'),
  roles: z
    .array(RoleName)
    .min(1, 'at least one role is required')
    .refine((rs) => new Set(rs).size === rs.length, 'roles must not repeat'),
  tenant: TenantName.optional().describe("The tenant the key acts for; default: the caller's."),
  expires_at: z.iso.datetime().optional().describe('When the key stops working (ISO-8601); default: never.'),
});
export type ApiKeyCreateRequest = z.infer<typeof ApiKeyCreateRequest>;

export const ApiKeyInfo = z.object({
  key_id: z.string(),
  name: z.string(),
  tenant: z.string(),
  roles: z.array(RoleName),
  created_at: z.string(),
  created_by: z.string(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;

export const ApiKeyCreated = ApiKeyInfo.extend({
  key: z.string().describe('The API key. Shown only in this answer: only its SHA-256 is stored.'),
});
export type ApiKeyCreated = z.infer<typeof ApiKeyCreated>;

export const ApiKeyRevoked = z.object({ key_id: z.string(), revoked: z.literal(true) });
export type ApiKeyRevoked = z.infer<typeof ApiKeyRevoked>;

export const WhoAmIResponse = z.object({
  sub: z.string(),
  tenant: z.string(),
  roles: z.array(RoleName),
  via: z.enum(['jwt', 'api_key', 'none']),
  permissions: z.array(z.string()),
  /** The tenants this caller reads and steers: its own, or `*` (admin: every tenant). */
  scope: z.string(),
});
export type WhoAmIResponse = z.infer<typeof WhoAmIResponse>;

export const AuditOutcome = z.enum(['success', 'failure', 'denied']);

export const AuditQuery = z.object({
  tenant: TenantName.optional(),
  actor: z.string().min(1).max(300).optional(),
  action: z.string().min(1).max(128).optional(),
  outcome: AuditOutcome.optional(),
  since: z.iso.datetime().optional().describe('Entries at or after this time (ISO-8601).'),
  until: z.iso.datetime().optional().describe('Entries at or before this time (ISO-8601).'),
  cursor: z
    .string()
    .regex(/^\d{1,20}-\d{1,20}$/, "expected a previous page's next_cursor")
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditEntry = z.object({
  id: z.string(),
  time: z.string(),
  actor: z.string(),
  tenant: z.string(),
  action: z.string(),
  target: z.string(),
  outcome: AuditOutcome,
  status: z.int(),
  request_id: z.string(),
  ip: z.string(),
  reason: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditPage = z.object({
  entries: z.array(AuditEntry),
  next_cursor: z.string().nullable().describe('Pass as `cursor` for the next (older) page; null at the end.'),
});
export type AuditPage = z.infer<typeof AuditPage>;
