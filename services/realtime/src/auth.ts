import type http from 'node:http';
import { AUTH_OFF_PRINCIPAL, can, credentialFrom, type Authenticator, type Principal } from '@agent-forge/auth';
import { inScope } from '@agent-forge/state';
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
