import type http from 'node:http';
import { AUTH_OFF_PRINCIPAL, can, credentialFrom, type Authenticator, type Principal } from '@agent-forge/auth';
import type { Logger } from '@agent-forge/runtime';
import { inScope, type AuditStore } from '@agent-forge/state';
import { splitUrl } from './upgrade';

/** Close codes of refused upgrades (sent right after the handshake, so browsers can read them). */
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;

export type UpgradeVerdict =
  | { ok: true; principal: Principal }
  | { ok: false; code: typeof CLOSE_UNAUTHENTICATED | typeof CLOSE_FORBIDDEN; reason: string; message: string; principal?: Principal };

/** What the server asks about an upgrade: who is it, and may they watch this (session)? */
export type UpgradeAuthenticator = (req: http.IncomingMessage, target: { sessionId: string | null }) => Promise<UpgradeVerdict>;

/** Explicit AUTH_MODE=off (development, and tests about something else): everyone sees everything. */
export const authOff: UpgradeAuthenticator = async () => ({ ok: true, principal: AUTH_OFF_PRINCIPAL });

/**
 * WebSocket auth with the very code the gateway uses: the credential (Authorization header,
 * X-Api-Key, or `?token=` for browsers, which cannot set headers on a WebSocket) is verified by the
 * shared Authenticator; watching needs the `pipeline:read` permission (viewer and up); a
 * `?session_id=` of another tenant is refused with 4403. An unknown session id is allowed (a
 * dashboard may open before the run starts); its events reach the socket only if the session turns
 * out to be of the socket's tenant.
 */
export function createUpgradeAuthenticator(auth: Authenticator, tenantOf: (sessionId: string) => Promise<string | null>): UpgradeAuthenticator {
  return async (req, target) => {
    const token = splitUrl(req.url)?.query.get('token') ?? null;
    const result = await auth.authenticate(credentialFrom(req.headers, token));
    if (!result.ok) return { ok: false, code: CLOSE_UNAUTHENTICATED, reason: result.reason, message: 'unauthenticated' };
    const principal = result.principal;
    if (!can(principal, 'pipeline:read')) return { ok: false, code: CLOSE_FORBIDDEN, reason: 'missing_permission', message: 'forbidden', principal };
    if (target.sessionId !== null) {
      const owner = await tenantOf(target.sessionId);
      if (owner !== null && !inScope(principal.scope, owner)) return { ok: false, code: CLOSE_FORBIDDEN, reason: 'other_tenant', message: 'forbidden', principal };
    }
    return { ok: true, principal };
  };
}

export interface UpgradeFailure {
  code: number;
  reason: string;
  ip: string;
  sessionId: string | null;
  actor: string;
  tenant: string;
}

/**
 * Refused upgrades go to the audit log like refused REST calls. The write never delays anything
 * (the socket is already closed) and a failed one is logged and counted, never silent.
 */
export function upgradeAuditor(audit: AuditStore, logger: Logger): { onAuthFailure: (f: UpgradeFailure) => void; failures: () => number } {
  let failures = 0;
  return {
    failures: () => failures,
    onAuthFailure: (f) => {
      audit
        .append({
          actor: f.actor,
          tenant: f.tenant,
          action: f.code === CLOSE_UNAUTHENTICATED ? 'auth.failure' : 'ws.subscribe',
          target: f.sessionId ?? 'websocket',
          outcome: 'denied',
          status: f.code,
          request_id: '',
          ip: f.ip,
          reason: f.reason,
        })
        .catch((err: unknown) => {
          failures++;
          logger.error({ err: (err as Error).message, audit_write_failures: failures }, 'audit write failed');
        });
    },
  };
}
