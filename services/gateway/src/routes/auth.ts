import { can, generateApiKey, type Principal } from '@agent-forge/auth';
import { ApiKeyCreateRequest, AuditQuery, TenantName, type ApiKeyCreated, type ApiKeyInfo, type AuditPage, type RoleName, type WhoAmIResponse } from '@agent-forge/contracts';
import { ALL_TENANTS, type ApiKeyRecord } from '@agent-forge/state';
import { z } from 'zod';
import type { GatewayContext } from '../context';
import { HttpError, NotFoundError } from '../errors';
import { parseBody, parseWith } from '../validate';
import { principalOf } from './pipeline';
import type { Handlers } from './types';

function info(r: ApiKeyRecord): ApiKeyInfo {
  return { ...r, roles: r.roles as RoleName[] };
}

/** An admin acts on any tenant; anyone else only on their own (not reachable today: the routes are admin-only). */
function targetTenant(principal: Principal, requested: string | undefined): string {
  const tenant = requested ?? principal.tenant;
  if (tenant !== principal.tenant && !can(principal, 'tenants:all')) throw new HttpError('FORBIDDEN', 'you can only act on your own tenant');
  return tenant;
}

const ListQuery = z.object({ tenant: TenantName.optional() });

/** Identity and machine credentials: whoami, API keys, the audit log. */
export function authHandlers(ctx: GatewayContext): Handlers {
  return {
    'auth.whoami': (req, res) => {
      const p = principalOf(req);
      const body: WhoAmIResponse = { sub: p.sub, tenant: p.tenant, roles: p.roles, via: p.via, permissions: [...p.permissions].sort(), scope: p.scope };
      res.json(body);
    },
    'auth.api_key.create': async (req, res) => {
      const body = parseBody(ApiKeyCreateRequest, req.body);
      const principal = principalOf(req);
      const tenant = targetTenant(principal, body.tenant);
      const expiresAt = body.expires_at ? new Date(body.expires_at) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) throw new HttpError('VALIDATION_ERROR', 'expires_at is in the past', { expires_at: 'must be in the future' });
      const generated = generateApiKey();
      const record = await ctx.apiKeys.create({
        keyId: generated.keyId,
        hash: generated.hash,
        name: body.name,
        tenant,
        roles: body.roles,
        createdBy: principal.keyId ? `apikey:${principal.keyId}` : principal.sub,
        expiresAt,
      });
      res.locals.auditTarget = record.key_id;
      const created: ApiKeyCreated = { ...info(record), key: generated.key };
      res.status(201).set('Cache-Control', 'no-store').json(created);
    },
    'auth.api_key.list': async (req, res) => {
      const query = parseWith(ListQuery, req.query);
      const principal = principalOf(req);
      const scope = query.tenant ? targetTenant(principal, query.tenant) : principal.scope;
      res.json((await ctx.apiKeys.list(scope)).map(info));
    },
    'auth.api_key.revoke': async (req, res) => {
      const keyId = req.params.key_id as string;
      if (!(await ctx.apiKeys.revoke(keyId, principalOf(req).scope))) {
        throw new NotFoundError('NOT_FOUND', `API key ${keyId} does not exist`, { key_id: keyId });
      }
      res.json({ key_id: keyId, revoked: true });
    },
    'audit.list': async (req, res) => {
      const q = parseWith(AuditQuery, req.query);
      const principal = principalOf(req);
      const tenant = principal.scope === ALL_TENANTS ? q.tenant : principal.tenant;
      const page: AuditPage = await ctx.auditor.store.query({
        ...(tenant !== undefined ? { tenant } : {}),
        ...(q.actor !== undefined ? { actor: q.actor } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(q.since !== undefined ? { sinceMs: Date.parse(q.since) } : {}),
        ...(q.until !== undefined ? { untilMs: Date.parse(q.until) } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        limit: q.limit,
      });
      res.json(page);
    },
  };
}
